"""What must hold of the bpf_task_work model (``spec/bpf_task_work``): ``properties``, ``witnesses``
and ``lemmas`` (see ``invariants/__init__.py``)."""
