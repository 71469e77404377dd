"""The `kyctriage` command's process: set up before any library loads, leave without the
interpreter's teardown. The commands themselves are in cli.py (tests call them in-process)."""

from __future__ import annotations

import atexit
import os
import sys


def run() -> None:
    # Importing workers.py loads no numerical library; it must come before cli.py, which does.
    from kyctriage.scanning.workers import one_thread_for_libraries_loaded_later

    one_thread_for_libraries_loaded_later()
    from kyctriage.cli.main import main

    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    leave(code)


def leave(code: object) -> None:
    """Exit as `sys.exit(code)` would, minus the teardown: by then the reports are written and
    closed, and freeing every module and object one by one took ~60 ms (1-2% of a scan of
    a few hundred files) for memory the OS takes back anyway. The exit handlers still run."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)  # CPython's, not a public API
    if run_exit_handlers is None:
        sys.exit(status)  # elsewhere: the usual exit, teardown included
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (| head): as Python reports it
            status = status or 120
    os._exit(status)
