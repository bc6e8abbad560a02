"""Fair-cycle liveness checking on the explored state graph: the semantics and the check (``check.py``),
the graph algorithms (``graph.py``), the lasso counterexample (``lasso.py``)."""
