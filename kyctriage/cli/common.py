"""What every command shares: the one table of exit statuses, stderr, and the error barrier."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from kyctriage.errors import KyctriageError, UsageError
from kyctriage.render.text import visible

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

# The exit statuses of every command (README, "Exit codes").
EXIT_OK = 0  # the run finished; unreadable files are error records, not a failure
EXIT_FATAL = 1  # a fatal error stopped the run; no partial report is left
EXIT_USAGE = 2  # a bad option, a missing or unusable input
# watermark: some files could not be read or marked (each named); compare: some near
# candidates could not be verified (unverified-candidate, each with its reason)
EXIT_SOME_FAILED = 3
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
# Long work shows a progress bar; a handful of files does not need one.
PROGRESS_MIN_FILES = 50

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


class ProgressBar:
    """A rich progress bar on stderr for long work, fed by the library's callbacks: one
    line per stage (a scan's files; compare's two sides, then its checks)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        self.stage = ""

    def __enter__(self) -> Callable[[int, int], None]:
        return self.update

    def update(self, done: int, total: int, stage: str = "scanning") -> None:
        if self.quiet or total < PROGRESS_MIN_FILES:
            return
        if self.bar is None:
            from rich import progress as bars

            # (a TextColumn: the console prints without markup, so a "[style]" in the
            # description would show as text)
            self.bar = bars.Progress(
                bars.TextColumn("{task.description}", markup=False), bars.BarColumn(),
                bars.MofNCompleteColumn(), bars.TimeRemainingColumn(), console=stderr(),
                transient=True,
            )  # fmt: skip
            self.bar.start()
        if stage != self.stage or self.task is None:
            if self.task is not None:
                self.bar.update(self.task, visible=False)
            self.task, self.stage = self.bar.add_task(stage, total=total), stage
        if done % 16 == 0 or done == total:
            self.bar.update(self.task, completed=done)

    def staged(self, stage: str, done: int, total: int) -> None:
        """update() with the stage first: compare's callback."""
        self.update(done, total, stage)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
