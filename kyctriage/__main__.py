"""`python -m kyctriage`: the same process as the installed `kyctriage` command."""

from kyctriage.cli.entry import run

run()
