"""The scan stage: walk the sources, read each file once, probe it in supervised workers."""
