"""What runs many searches: the matrix and its expectations, queries, crosscheck, workers."""
