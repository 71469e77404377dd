"""Set analyses across records: candidates by hash, clusters, compare, the reference index."""
