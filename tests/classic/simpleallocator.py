"""SimpleAllocator, from tlaplus/Examples specifications/allocator/SimpleAllocator.tla (Stephan Merz):
clients request sets of resources, get them allocated in parts and return them. Written with
spec/values.py's sets, line for line (the TLA+ is quoted above each definition).

``\\E c \\in Clients, S \\in SUBSET Resources`` is an action parameter over the Enum ``powerset(Resource)``
(the subset with bitmask k is value k), so the steps, and TLC's "states generated", are one per client,
subset and true disjunct. The fairness of the spec is TLA+'s, per client: ``WF_vars(Return(c,
alloc[c]))`` (the Return steps whose S is the client's whole allocation) and ``SF_vars(\\E S \\in SUBSET
Resources : Allocate(c, S))`` (one condition for all the client's Allocate steps). The properties are
families over clients (and resources): ``\\A c \\in Clients : unsat[c] = {} ~> alloc[c] = {}`` is one
leads-to per client. The manifest's model (SimpleAllocator.cfg, 3 clients, 2 resources, TLC): 400
distinct states, 1,633 generated, depth 6; the module's THEOREMs say which properties hold under
SimpleAllocator and which fail under the weaker SimpleAllocator2.
"""

from __future__ import annotations

from typing import Any

from spec.lang import Enum, Fn, Set, Spec, and_, const_fn, eq, not_, put, when
from spec.values import difference, intersect, powerset, subset, union

PARAMS = {
    "clients": (int, 3, 1, 3),
    "resources": (int, 2, 1, 3),
    # "SimpleAllocator" (both fairness conditions as stated) or "SimpleAllocator2" (a client need return
    # its resources only once its whole request is satisfied)
    "fairness": (str, "SimpleAllocator", ("SimpleAllocator", "SimpleAllocator2")),
}


def make_spec(clients: int = 3, resources: int = 2, fairness: str = "SimpleAllocator") -> Spec:
    spec = Spec(
        "SimpleAllocator", constants={"clients": clients, "resources": resources, "fairness": fairness}
    )
    Client = Enum("Client", [f"c{k}" for k in range(1, clients + 1)])  # CONSTANTS Clients, Resources
    Resource = Enum("Resource", [f"r{k}" for k in range(1, resources + 1)])
    Subset = powerset(Resource)  # SUBSET Resources
    empty = const_fn(Resource, False)

    # VARIABLES unsat, alloc    TypeInvariant: unsat, alloc \in [Clients -> SUBSET Resources]
    # Init == unsat = [c \in Clients |-> {}] /\ alloc = [c \in Clients |-> {}]
    spec.var("unsat", Fn(Client, Set(Resource)), const_fn(Client, empty), "outstanding requests per client")
    spec.var(
        "alloc", Fn(Client, Set(Resource)), const_fn(Client, empty), "resources allocated to each client"
    )

    def available(s: Any) -> tuple:
        """available == Resources \\ (UNION {alloc[c] : c \\in Clients})"""
        held = empty
        for c in Client:
            held = union(held, s.alloc[c])
        return difference(const_fn(Resource, True), held)

    def is_empty(a: tuple) -> Any:
        return and_(*(not_(x) for x in a))

    # Request(c,S) == unsat[c] = {} /\ alloc[c] = {} /\ S # {} /\ unsat' = [unsat EXCEPT ![c] = S]
    #                 /\ UNCHANGED alloc
    @spec.action(c=Client, S=Subset)
    def Request(s, c, S):
        ask = Subset.as_set(S)
        return when(and_(is_empty(s.unsat[c]), is_empty(s.alloc[c]), S != 0), unsat=put(s.unsat, c, ask))

    # Allocate(c,S) == S # {} /\ S \subseteq available \cap unsat[c]
    #                  /\ alloc' = [alloc EXCEPT ![c] = @ \cup S] /\ unsat' = [unsat EXCEPT ![c] = @ \ S]
    @spec.action(c=Client, S=Subset)
    def Allocate(s, c, S):
        give = Subset.as_set(S)
        return when(
            and_(S != 0, subset(give, intersect(available(s), s.unsat[c]))),
            alloc=put(s.alloc, c, union(s.alloc[c], give)),
            unsat=put(s.unsat, c, difference(s.unsat[c], give)),
        )

    # Return(c,S) == S # {} /\ S \subseteq alloc[c] /\ alloc' = [alloc EXCEPT ![c] = @ \ S]
    #                /\ UNCHANGED unsat
    @spec.action(c=Client, S=Subset)
    def Return(s, c, S):
        back = Subset.as_set(S)
        return when(
            and_(S != 0, subset(back, s.alloc[c])), alloc=put(s.alloc, c, difference(s.alloc[c], back))
        )

    # The where filters are written with the spec language's operators (eq, and_), as the predicates
    # are: a Python bool on a concrete state (what the liveness engine asks for), a Z3 term on the
    # symbolic one, which the TLA+ export prints (S = alloc[c]).
    def returns_all(s: Any, c: int, S: int) -> Any:
        """Return(c, alloc[c]): the Return step whose S is everything c holds"""
        return eq(Subset.as_set(S), s.alloc[c])

    def returns_all_satisfied(s: Any, c: int, S: int) -> Any:
        """unsat[c] = {} /\\ Return(c, alloc[c])"""
        return and_(is_empty(s.unsat[c]), returns_all(s, c, S))

    # SimpleAllocator == Init /\ [][Next]_vars /\ \A c \in Clients: WF_vars(Return(c, alloc[c]))
    #                    /\ \A c \in Clients: SF_vars(\E S \in SUBSET Resources: Allocate(c,S))
    # SimpleAllocator2: WF_vars(unsat[c] = {} /\ Return(c, alloc[c])) instead
    spec.wf(
        "Return", over=("S",), where=returns_all if fairness == "SimpleAllocator" else returns_all_satisfied
    )
    spec.sf("Allocate", over=("S",))

    # ResourceMutex == \A c1,c2 \in Clients : c1 # c2 => alloc[c1] \cap alloc[c2] = {}
    @spec.invariant
    def ResourceMutex(s):
        return and_(*(is_empty(intersect(s.alloc[a], s.alloc[b])) for a in Client for b in Client if a < b))

    # ClientsWillReturn == \A c \in Clients : unsat[c]={} ~> alloc[c]={}
    spec.leads_to(
        "ClientsWillReturn",
        lambda s, c: is_empty(s.unsat[c]),
        lambda s, c: is_empty(s.alloc[c]),
        over={"c": Client},
    )
    # ClientsWillObtain == \A c \in Clients, r \in Resources : r \in unsat[c] ~> r \in alloc[c]
    spec.leads_to(
        "ClientsWillObtain",
        lambda s, c, r: s.unsat[c][r],
        lambda s, c, r: s.alloc[c][r],
        over={"c": Client, "r": Resource},
    )
    # InfOftenSatisfied == \A c \in Clients : []<>(unsat[c] = {})
    spec.always_eventually("InfOftenSatisfied", lambda s, c: is_empty(s.unsat[c]), over={"c": Client})
    return spec
