"""Named Z3 queries that answer the RFC's questions."""
