"""The command modules of ``python -m explorer``."""
