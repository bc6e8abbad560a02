"""The spec exported for other checkers: TLA+ (TLC, Apalache) and Promela (Spin)."""
