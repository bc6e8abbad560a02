"""The compiled engine: the spec printed as C (codegen.py), compiled and searched (engine.py, search.c),
and the liveness pass's graph algorithms in C (graph_core.c). A sibling of explorer/engines/bfs.py."""
