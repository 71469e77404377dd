"""Per-file probes: pure functions of one file's bytes and its one decoded preview."""
