"""What must hold of the bpf_delayed_work RFC model (``spec/delayed_work``): ``properties``,
``witnesses`` and ``lemmas`` (see ``invariants/__init__.py``)."""
