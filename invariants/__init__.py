"""What must hold of each model, and why: one package per model, named alike.

``invariants/<model>/properties.py``: the safety and liveness properties, the fairness they rest on and
the environment actions; ``witnesses.py``: the kernel behaviours the model must be able to show and
the preconditions that make a "holds" non-vacuous; ``lemmas.py``: the auxiliary invariants that make
the safety properties inductive (the Z3 proofs; named by ``spec.lemmas``). ``common.py``: the names
the models share.
"""
