"""What must hold of the bpf_timer / bpf_wq model and the 2026 rework (``spec/bpf_async``):
``properties``, ``witnesses`` and ``lemmas`` (see ``invariants/__init__.py``)."""
