"""The Z3 backend: the same Spec as a symbolic transition relation."""
