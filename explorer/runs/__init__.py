"""What runs many searches: the matrix and its expectations and saved results (``results.py``), the named
queries, the crosschecks (BFS against Z3, our engine against Spin) and the worker processes."""
