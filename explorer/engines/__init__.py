"""The engines that read a Spec: explicit-state search (Python and compiled), liveness, Z3."""
