"""DieHard, from tlaplus/Examples specifications/DieHard/DieHard.tla (jugs of 3 and 5 gallons)."""

from spec.lang import Int, Spec, ite, when

# The constants a config may set (spec.config): goal_invariant adds NotSolved, whose violation solves it.
PARAMS = {"goal_invariant": (bool, False)}


def make_spec(goal_invariant: bool = False) -> Spec:
    spec = Spec("DieHard")
    spec.var("big", Int(0, 5), init=0)
    spec.var("small", Int(0, 3), init=0)

    @spec.action()
    def FillSmallJug(s):
        return when(True, small=3)

    @spec.action()
    def FillBigJug(s):
        return when(True, big=5)

    @spec.action()
    def EmptySmallJug(s):
        return when(True, small=0)

    @spec.action()
    def EmptyBigJug(s):
        return when(True, big=0)

    @spec.action()
    def SmallToBig(s):
        room = 5 - s.big
        poured = ite(s.small < room, s.small, room)
        return when(True, big=s.big + poured, small=s.small - poured)

    @spec.action()
    def BigToSmall(s):
        room = 3 - s.small
        poured = ite(s.big < room, s.big, room)
        return when(True, big=s.big - poured, small=s.small + poured)

    @spec.invariant
    def TypeOK(s):
        "big \\in 0..5 /\\ small \\in 0..3 (enforced by the variable types; kept to mirror the .cfg)."
        return True

    if goal_invariant:

        @spec.invariant
        def NotSolved(s):
            "big /= 4: violated exactly when the puzzle is solved."
            return s.big != 4

    return spec
