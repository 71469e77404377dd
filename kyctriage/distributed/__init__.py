"""Past one machine: index builds and searches on a Dask cluster, sources as fsspec URLs."""
