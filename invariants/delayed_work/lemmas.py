"""Auxiliary invariants that make the safety properties of ``rfc_repaired`` inductive.

The safety invariants of ``invariants/delayed_work/properties.py`` hold in every reachable state, but
they are not *inductive*: a state that satisfies them can still step into one that does not (for
example an item that is READY but linked twice, or a runner whose chain head is FREE).
``explorer.smt.prove`` with
``strengthen=`` the predicates below shows that the conjunction of the safety invariants and these is
inductive, hence holds for every reachable state of *any* size of the model, without enumerating
states (the result ``python -m explorer prove`` reports). Each predicate states one fact about the
posted code, and its docstring says why the kernel (as modelled) keeps it.

They describe the default shape of the model: the irq_work drain (not ``task_context``), no list lock
(not ``locked_list``), an array map, the prog reference taken per item and the free path of
``rfc_repaired``; on other
variants some are simply false, and ``aux_invariants`` still returns them (a failing proof then names
the one that breaks, which is often the design difference itself).

Use: ``aux_invariants(spec)`` returns ``{name: predicate}`` for a spec built by
``spec.delayed_work.make_spec``; it reads the model's vocabulary from ``spec.model``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spec.lang import Spec, all_, and_, any_, count, implies, ite, not_, or_

PENDING_BUSY, BUSY = 3, 2

# The strengthening that, with the safety invariants themselves, makes every safety property of rfc_repaired
# (array map) inductive. Order is the order of the explanation in the docstrings.
STRENGTHENING = [
    "IdleContextsCanonical",
    "ListsPacked",
    "ItemHeldOnce",
    "OwnersCounted",
    "FullListHasAllItems",
    "FlagsMatchHolder",
    "ItemRefMatchesHolder",
    "RunsMatchHolder",
    "RunnerShape",
    "IrqWorkFlagsShape",
    "ListWillBeDrained",
    "GraceReadersShape",
    "ProgPhaseShape",
]


def aux_invariants(spec: Spec) -> dict[str, Callable[[Any], Any]]:
    """The auxiliary invariants for a delayed_work spec, by name (see ``STRENGTHENING``)."""
    m = getattr(spec, "model", None)
    if m is None:
        raise ValueError(f"spec {spec.name} has no .model: aux invariants need a delayed_work spec")
    task_ctx = m.variant == "task_context"
    PC, RPhase, WFlags, Phase = m.PC, m.RPhase, m.WFlags, m.Phase
    NONE = m.NONE
    levels = m.levels()
    dl = m.drain_level
    ctxs = [(c, lv) for c in m.CPU for lv in levels]
    # the pcs at which a context owns its item: after the claim, before the item is linked
    holding_pcs = [PC.CLAIMED, PC.ENQUEUE] + ([PC.LOCKED] if hasattr(PC, "LOCKED") else [])
    linking_pcs = [PC.ENQUEUE] + ([PC.LOCKED] if hasattr(PC, "LOCKED") else [])
    after_cb = (RPhase.IN_CB, RPhase.CB_DONE, RPhase.PUT_DONE)

    def ctx_holds(s: Any, c: int, lv: int, w: int, pcs: list[int]) -> Any:
        return and_(or_(*[s.pc[c][lv] == x for x in pcs]), s.sub_item[c][lv] == w)

    def ctx_holders(s: Any, w: int, pcs: list[int]) -> Any:
        return count(ctx_holds(s, c, lv, w, pcs) for c, lv in ctxs)

    def is_cb_ctx(s: Any, c: int, lv: int) -> Any:
        return False if lv != dl else s.runner[c] != RPhase.IDLE

    def runner_on(s: Any, c: int, p: int) -> Any:
        return and_(s.runner[c] != RPhase.IDLE, s.runner_prog[c] == p)

    def lists(s: Any) -> list[tuple]:
        return m.lists(s)

    def packed(seq: tuple) -> Any:
        return all_(implies(seq[i] == NONE, seq[i + 1] == NONE) for i in range(len(seq) - 1))

    def on_list(s: Any, p: int, w: int) -> Any:
        return any_(x == w for x in s.plist[p])

    def in_chain(s: Any, c: int, w: int) -> Any:
        return any_(x == w for x in s.chain[c])

    def chain_head_after_cb(s: Any, c: int, w: int) -> Any:
        """w is the head of c's chain and its callback already ran (IN_CB, CB_DONE, PUT_DONE)."""
        return and_(s.chain[c][0] == w, or_(*[s.runner[c] == r for r in after_cb]))

    # ------------------------------------------------------------------ contexts and lists

    def IdleContextsCanonical(s: Any) -> Any:
        """A helper context has sub_item = sub_prog = none exactly when it is idle, a runner has
        runner_prog = none exactly when it is idle (and an idle runner has seen = 0).

        Why: every step that makes a context or runner idle resets these (set_ctx with defaults,
        IrqWorkDone), and every step that makes one active sets a real item and prog (the claim,
        IrqWorkRun); they are bookkeeping, not kernel state. Keeps the proof from considering junk
        in idle slots, or an active context that works on no item."""
        ok = []
        for c, lv in ctxs:
            idle = s.pc[c][lv] == PC.IDLE
            ok.append(idle == (s.sub_item[c][lv] == NONE))
            ok.append(idle == (s.sub_prog[c][lv] == m.NO_PROG))
        for c in m.CPU:
            idle = s.runner[c] == RPhase.IDLE
            if not task_ctx:  # a task's drain has no irq_work, hence no runner_prog and no seen
                ok.append(idle == (s.runner_prog[c] == m.NO_PROG))
                ok.append(implies(idle, s.seen[c] == 0))
        return all_(ok)

    def ListsPacked(s: Any) -> Any:
        """Every list and detached chain is NONE-terminated: no item after the first empty slot.

        Why: llist_add pushes at the head (push_front) and the drain pops the head (pop_front), so the
        abstract sequence stays a prefix; llist_reverse_order (reversed_prefix) is only right on such a
        prefix. A list with a hole would model a broken ->next pointer."""
        seqs = lists(s) + [s.chain[c] for c in m.CPU]
        return all_(packed(q) for q in seqs)

    def ItemHeldOnce(s: Any) -> Any:
        """Each item has at most one owner: a helper context between its claim and its llist_add, or
        one link on one list or chain.

        Why: the FREE->CLAIMED cmpxchg admits one claimer; that claimer links the node once and then
        forgets it; only the drain's xchg(FREE) makes it claimable again, after the node is off the
        chain. This is the inductive form of NoDoubleEnqueue (a second llist_add needs a second
        owner). Stated with pairwise exclusions, not counts: Z3 proves it an order of magnitude
        faster that way."""
        seqs = lists(s) + [s.chain[c] for c in m.CPU]
        ok = []
        for q in seqs:  # no item twice in one list
            n = len(q)
            ok += [implies(q[i] != NONE, q[i] != q[j]) for i in range(n) for j in range(i + 1, n)]
        for w in m.Item:
            on = [any_(x == w for x in q) for q in seqs]
            ok += [not_(and_(on[i], on[j])) for i in range(len(on)) for j in range(i + 1, len(on))]
            linked = any_(on)
            holds = [ctx_holds(s, c, lv, w, holding_pcs) for c, lv in ctxs]
            ok += [not_(and_(h, linked)) for h in holds]
            ok += [
                not_(and_(holds[i], holds[j])) for i in range(len(holds)) for j in range(i + 1, len(holds))
            ]
        return all_(ok)

    def OwnersCounted(s: Any) -> Any:
        """The linked slots (on every list and chain) plus the contexts holding an item number exactly
        the items that are not FREE.

        Why: every step that takes or gives up ownership changes both sides by one (claim: FREE->CLAIMED
        and a holder; llist_add: a holder becomes a slot; DrainRelease: a slot leaves and the item is
        FREE), and DrainTake moves slots from the list to the chain. It follows from ItemHeldOnce and
        FlagsMatchHolder, but as a count it is linear arithmetic: with it Z3 sees at once that a list
        with a pending llist_add is not full (fewer linked items than items), where from pairwise
        exclusions alone it would have to rediscover the pigeonhole principle, whose cost grows
        exponentially with the number of items."""
        seqs = lists(s) + [s.chain[c] for c in m.CPU]
        slots = [x != NONE for q in seqs for x in q]
        holders = [or_(*[s.pc[c][lv] == x for x in holding_pcs]) for c, lv in ctxs]
        return count(slots + holders) == count(s.flags[w] != WFlags.FREE for w in m.Item)

    def FullListHasAllItems(s: Any) -> Any:
        """A list or chain whose last slot is taken holds every item, so no context holds one.

        Why: it holds as many distinct items as there are (ItemHeldOnce), and OwnersCounted then
        leaves none for a holder. It is the consequence of the count that the proofs of llist_add
        need (the push drops no item) stated as a plain implication: Z3 takes minutes to find it
        from the count alone at 4 CPUs x 12 items, and milliseconds with it."""
        seqs = lists(s) + [s.chain[c] for c in m.CPU]
        holding = any_(or_(*[s.pc[c][lv] == x for x in holding_pcs]) for c, lv in ctxs)
        return all_(implies(q[-1] != NONE, not_(holding)) for q in seqs)

    def FlagsMatchHolder(s: Any) -> Any:
        """An item's flags say who owns it: FREE has no owner, CLAIMED is owned by a context at pc
        CLAIMED, READY is owned by a context about to link it or is linked on a list or chain.

        Why: flags change only together with ownership: claim (FREE->CLAIMED, context at CLAIMED),
        SubmitReady (CLAIMED->READY, context moves to ENQUEUE; or back to FREE when
        bpf_prog_inc_not_zero fails, the rfc_fixed repair), llist_add (the context lets go, the
        list holds it), DrainRelease (xchg FREE as the node leaves the chain). With ItemHeldOnce, the
        inductive form of NoStrandedItem."""
        seqs = lists(s) + [s.chain[c] for c in m.CPU]
        ok = []
        for w in m.Item:
            linked = any_(x == w for q in seqs for x in q)
            claiming = any_(ctx_holds(s, c, lv, w, [PC.CLAIMED]) for c, lv in ctxs)
            linking = any_(ctx_holds(s, c, lv, w, linking_pcs) for c, lv in ctxs)
            ok.append(implies(s.flags[w] == WFlags.FREE, not_(or_(claiming, linking, linked))))
            ok.append(implies(s.flags[w] == WFlags.CLAIMED, and_(claiming, not_(linking), not_(linked))))
            ok.append(implies(s.flags[w] == WFlags.READY, and_(or_(linking, linked), not_(claiming))))
        return all_(ok)

    def ItemRefMatchesHolder(s: Any) -> Any:
        """An item holds a reference to prog p (ref_of) exactly while it is on its way through p's
        irq_work: from SubmitReady's bpf_prog_inc_not_zero until the drain's bpf_prog_put.

        A context at ENQUEUE/LOCKED holds a ref to its own prog; an item on plist[p] a ref to p; an
        item on a chain a ref to the runner's prog, except the head after DrainPut (PUT_DONE), whose
        ref was just dropped; a FREE or CLAIMED item holds none. Why: the helper links the item onto
        the list of the prog that took the ref, and the drain runs exactly the list of its
        irq_work's prog. Claim (d) of the cover letter."""
        if not m.items_hold_prog_ref:
            return all_(s.ref_of[w] == m.NO_PROG for w in m.Item)
        ok = []
        for w in m.Item:
            ok.append(implies(s.flags[w] != WFlags.READY, s.ref_of[w] == m.NO_PROG))
            for c, lv in ctxs:
                ok.append(implies(ctx_holds(s, c, lv, w, linking_pcs), s.ref_of[w] == s.sub_prog[c][lv]))
            if not task_ctx:
                for p in m.Prog:
                    ok.append(implies(on_list(s, p, w), s.ref_of[w] == p))
            for c in m.CPU:
                put_done = and_(s.chain[c][0] == w, s.runner[c] == RPhase.PUT_DONE)
                ok.append(
                    implies(in_chain(s, c, w), s.ref_of[w] == ite(put_done, m.NO_PROG, s.runner_prog[c]))
                )
        return all_(ok)

    def RunsMatchHolder(s: Any) -> Any:
        """runs[w] is 0 from the claim until the callback runs, and 1 from then until the next claim.

        Why: the claim resets the ghost; only CallbackRun of the chain head increments it, and the
        head leaves the chain (DrainRelease) before anyone can claim it again. The inductive form of
        RunsAtMostOnce: an item whose callback already ran is never run again before a new claim."""
        ok = []
        for w in m.Item:
            after = any_(chain_head_after_cb(s, c, w) for c in m.CPU)
            before = or_(s.flags[w] == WFlags.CLAIMED, and_(s.flags[w] == WFlags.READY, not_(after)))
            ok.append(implies(before, s.runs[w] == 0))
            ok.append(implies(after, s.runs[w] == 1))
        return all_(ok)

    def RunnerShape(s: Any) -> Any:
        """The runner's phase matches its chain: IDLE or FUNC has an empty chain (the list is taken in
        FUNC->DRAIN), IN_CB/CB_DONE/PUT_DONE have the item being run at the head; only the runner's
        own callback submits at the drain level while the runner is active, and for its own prog.

        Why: DrainTake fills the chain only when leaving FUNC, DrainRelease pops the head only when
        going back to DRAIN, IrqWorkDone leaves only with an empty chain; a hard-irq prog run cannot
        start on a CPU whose hard-irq level is busy draining (level_idle)."""
        ok = []
        for c in m.CPU:
            empty = s.chain[c][0] == NONE
            ok.append(implies(or_(s.runner[c] == RPhase.IDLE, s.runner[c] == RPhase.FUNC), empty))
            ok.append(implies(or_(*[s.runner[c] == r for r in after_cb]), not_(empty)))
            cb_ctx = and_(s.pc[c][dl] != PC.IDLE, s.runner[c] != RPhase.IDLE)
            ok.append(
                implies(cb_ctx, and_(s.runner[c] == RPhase.IN_CB, s.sub_prog[c][dl] == s.runner_prog[c]))
            )
            if not task_ctx:
                ok.append(implies(s.runner[c] != RPhase.IDLE, s.seen[c] == BUSY))
        return all_(ok)

    # ------------------------------------------------------------------ the irq_work and the prog

    def IrqWorkFlagsShape(s: Any) -> Any:
        """irq_work flags are 0, BUSY or PENDING|BUSY; PENDING|BUSY exactly while the work is on a
        raised list; BUSY alone only while some runner of it is active.

        Why: irq_work_claim sets both bits and queues when PENDING was clear; irq_work_single clears
        PENDING as it takes the work off the list; the runner's final cmpxchg clears BUSY only if no
        claim came in between, and any runner finishing with flags == BUSY clears it. So
        irq_work_sync (waits while BUSY) is past only when no runner that took the work off the
        raised list before the sync is still running it (claim (a))."""
        if task_ctx:
            return True
        ok = []
        for p in m.Prog:
            f = s.iw_flags[p]
            ok.append(or_(f == 0, f == BUSY, f == PENDING_BUSY))
            ok.append((f == PENDING_BUSY) == (s.iw_cpu[p] != m.NO_CPU))
            ok.append(implies(f == BUSY, any_(runner_on(s, c, p) for c in m.CPU)))
        return all_(ok)

    def ListWillBeDrained(s: Any) -> Any:
        """A non-empty plist[p] will be drained: the irq_work is pending, or a submitter has linked an
        item and not yet called irq_work_queue, or a runner of p has not yet taken the list.

        Why: llist_add is followed by irq_work_queue, which either raises the work or finds it already
        PENDING (a run that will take the list is still to come); a runner clears PENDING before it
        takes the list (FUNC), so an item added after the take finds PENDING clear and raises it again.
        Not needed for safety; it is the invariant behind the cover letter's "the work will run"."""
        if task_ctx:
            return True
        ok = []
        for p in m.Prog:
            nonempty = s.plist[p][0] != NONE
            queuing = any_(and_(s.pc[c][lv] == PC.QUEUE, s.sub_prog[c][lv] == p) for c, lv in ctxs)
            taking = any_(and_(s.runner[c] == RPhase.FUNC, s.runner_prog[c] == p) for c in m.CPU)
            ok.append(implies(nonempty, or_(s.iw_cpu[p] != m.NO_CPU, queuing, taking)))
        return all_(ok)

    def GraceReadersShape(s: Any) -> Any:
        """A grace period's reader set is non-empty only while it is pending (RCU_WAIT, or SYNC_RCU in
        rfc_repaired), and names only contexts that are still inside their read-side section.

        Why: call_rcu (and synchronize_rcu) copies the set of contexts in a read-side section at that
        moment; a context leaves every set when its section ends (its level goes idle), and nothing
        starts a pending grace period's set again. So a set bit always names a running section."""
        ok = []
        for p in m.Prog:
            pending = or_(s.prog_phase[p] == Phase.RCU_WAIT, s.prog_phase[p] == Phase.SYNC_RCU)
            for c in m.CPU:
                for lv in m.Level:
                    bit = s.gp_readers[p][c][lv]
                    if lv not in levels:
                        ok.append(not_(bit))
                        continue
                    ok.append(implies(bit, and_(pending, m.level_busy(s, c, lv))))
        return all_(ok)

    def ProgPhaseShape(s: Any) -> Any:
        """The prog's free path in order. A prog run of p in flight keeps p before its grace period
        (LIVE, PUT_DEFERRED or RCU_WAIT) and, once call_rcu is issued, is one of the readers it waits
        for. In rfc_repaired, after irq_work_sync (SYNC_RCU) the irq_work is idle and not raised, and
        every runner of p still active is a reader synchronize_rcu waits for; a FREED prog has no
        runner and an idle irq_work.

        Why: a prog run starts only while attached (refcnt > 0, LIVE), and the grace period's reader
        set is copied at call_rcu, when every run of p still in flight is a reader of either flavour
        (a sleepable prog's run is an rcu_read_lock_trace section). After the grace period no prog
        run of p is left and no item holds a reference (refcnt 0), so nothing claims the irq_work
        again: irq_work_sync sees it idle and not raised and it stays so (a runner's final cmpxchg
        expects BUSY and finds 0). Runners still in the drain then are hard-irq sections in flight
        at synchronize_rcu. Claims (a) and (d), with the repair."""
        ok = []
        for p in m.Prog:
            ph = s.prog_phase[p]
            early = or_(ph == Phase.LIVE, ph == Phase.PUT_DEFERRED, ph == Phase.RCU_WAIT)
            for c, lv in ctxs:
                active = and_(s.pc[c][lv] != PC.IDLE, s.sub_prog[c][lv] == p, not_(is_cb_ctx(s, c, lv)))
                ok.append(implies(active, early))
                ok.append(implies(and_(active, ph == Phase.RCU_WAIT), s.gp_readers[p][c][lv]))
            runners = [runner_on(s, c, p) for c in m.CPU]
            ok.append(implies(ph == Phase.FREED, not_(any_(runners))))
            if not task_ctx:
                idle_work = and_(s.iw_cpu[p] == m.NO_CPU, s.iw_flags[p] == 0)
                ok.append(implies(ph == Phase.FREED, idle_work))
                ok.append(implies(ph == Phase.SYNC_RCU, idle_work))
                for c in m.CPU:
                    ok.append(implies(and_(ph == Phase.SYNC_RCU, runners[c]), s.gp_readers[p][c][dl]))
        return all_(ok)

    fns = [
        IdleContextsCanonical,
        ListsPacked,
        ItemHeldOnce,
        OwnersCounted,
        FullListHasAllItems,
        FlagsMatchHolder,
        ItemRefMatchesHolder,
        RunsMatchHolder,
        RunnerShape,
        IrqWorkFlagsShape,
        ListWillBeDrained,
        GraceReadersShape,
        ProgPhaseShape,
    ]
    return {f.__name__: f for f in fns}
