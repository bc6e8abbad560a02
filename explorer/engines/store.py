"""The seen-state store: every distinct state once, with the link to the state it was first reached from.

States are kept exactly (a state is a tuple of small ints, bools and tuples, and unchanged sub-tuples are
shared between a state and its successors), so there are no fingerprint collisions to reason about. The
ids are assigned in BFS order, which gives layers and parent links for free.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

NO_PARENT = -1


class StateStore:
    def __init__(self) -> None:
        self.index: dict[Any, int] = {}
        self.states: list[Any] = []
        self.parent = array("q")
        self.via = array("l")  # the action instance that first reached the state; -1 for an initial state

    def __len__(self) -> int:
        return len(self.states)

    def add(self, state: Any, parent: int, via: int) -> int:
        """Add state if new; return its id, or -1 - existing id if it was seen already."""
        sid = self.index.get(state)
        if sid is not None:
            return -1 - sid
        sid = len(self.states)
        self.index[state] = sid
        self.states.append(state)
        self.parent.append(parent)
        self.via.append(via)
        return sid

    def id_of(self, state: Any) -> int | None:
        return self.index.get(state)

    def path_to(self, sid: int) -> list[int]:
        """The ids from an initial state to sid along first-discovery links (a shortest path)."""
        return path_to(self.parent, sid)


def path_to(parent: Sequence[int], sid: int) -> list[int]:
    """The ids from an initial state to sid, following parent links (NO_PARENT at an initial state);
    shared by this store and the compiled engine's."""
    path = []
    while sid != NO_PARENT:
        path.append(sid)
        sid = parent[sid]
    path.reverse()
    return path
