"""Renderers: pure functions of a finished Report (and the loader of saved JSON reports)."""
