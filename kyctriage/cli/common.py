"""What every command shares: the one table of exit statuses, stderr, and the error barrier."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from kyctriage.errors import KyctriageError, UsageError
from kyctriage.render.text import visible

if TYPE_CHECKING:
    from rich.console import Console

# The exit statuses of every command (README, "Exit codes").
EXIT_OK = 0  # the run finished; unreadable files are error records, not a failure
EXIT_FATAL = 1  # a fatal error stopped the run; no partial report is left
EXIT_USAGE = 2  # a bad option, a missing or unusable input
# watermark: some files could not be read or marked (each named); compare: some near
# candidates could not be verified (unverified-candidate, each with its reason)
EXIT_SOME_FAILED = 3
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT

EXIT_CODES_HELP = """
\b
Exit codes:
  0  the run finished (files that could not be read are error records, not a failure)
  1  a fatal error stopped the run (nothing was written)
  2  usage error (bad option, missing input)
"""


def stderr() -> Console:
    # rich (~40 ms with its progress bar and tables) loads when something is printed: for a
    # scan, after its workers have started, and never with -q.
    from rich.console import Console

    return Console(stderr=True, highlight=False, emoji=False, markup=False)


def run(action: Callable[[], None]) -> None:
    """Run a command's action; a library error becomes one line on stderr and its status
    (soft_wrap: rich would otherwise break it at the console's width, 80 when not a tty)."""
    try:
        action()
    except UsageError as exc:  # messages name files and quote inputs: the one rule
        stderr().print(f"kyctriage: error: {visible(exc)}", soft_wrap=True)
        sys.exit(EXIT_USAGE)
    except (KyctriageError, OSError) as exc:
        stderr().print(f"kyctriage: error: {visible(exc)}", soft_wrap=True)
        sys.exit(EXIT_FATAL)
    except KeyboardInterrupt:
        stderr().print("kyctriage: interrupted")
        sys.exit(EXIT_INTERRUPTED)
