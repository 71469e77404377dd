"""`python -m kyctriage`: the same process as the installed `kyctriage` command."""

from .entry import run

run()
