"""The connection to a Dask scheduler, and its failures as one line each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from kyctriage.errors import KyctriageError, UsageError, one_line

if TYPE_CHECKING:
    from distributed import Client, Future

CONNECT_TIMEOUT = 5.0  # seconds: an unreachable scheduler is an error, not a hang
WORKERS_TIMEOUT = 30.0  # a scheduler without workers would leave every task waiting


@contextmanager
def connected(address: str) -> Iterator[Client]:
    """A client of the scheduler at address (tcp://host:8786), with at least one worker."""
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError):
        raise KyctriageError(
            f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT:g} s"
        ) from None
    except (ValueError, TypeError) as exc:  # not an address
        raise UsageError(f"--scheduler {address!r}: {one_line(exc)}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
        except TimeoutError:
            raise KyctriageError(
                f"the Dask scheduler at {address} has no workers (waited {WORKERS_TIMEOUT:g} s)"
            ) from None
        yield client
    finally:
        client.close()


def outcome(future: Future[Any], what: str) -> Any:
    """A task's result; its failure (a task that raised, a worker that died more often than
    the scheduler allows, a scheduler that went away) as one line naming the task."""
    try:
        return future.result()
    except KyctriageError:
        raise
    except Exception as exc:
        raise KyctriageError(f"{what} failed on the cluster: {one_line(exc)}") from None
