"""The Z3 backend: the same Spec as a symbolic transition relation (``encoding.py``), read by bounded
model checking (``bmc.py``), layer counting (``layers.py``) and induction (``induction.py``, with the
lemmas of ``lemmas.py``)."""
