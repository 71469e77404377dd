"""The threads a module's checks run on, for the tests that run checks on several."""

from __future__ import annotations

import threading
from types import ModuleType

import pytest


def checks_seen(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> set[int]:
    """Patch `module.verify` to note the thread each check runs on; the set it fills."""
    seen: set[int] = set()
    check = module.verify

    def counted(a: object, b: object) -> object:
        seen.add(threading.get_ident())
        return check(a, b)

    monkeypatch.setattr(module, "verify", counted)
    return seen
