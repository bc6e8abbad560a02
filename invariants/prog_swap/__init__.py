"""The two-progs model's properties and witnesses (``spec/prog_swap``)."""
