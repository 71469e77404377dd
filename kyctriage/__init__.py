"""kyctriage: forensic triage of leaked KYC photo sets.

The front door for Python callers (see the README, "Library use"):

    import kyctriage
    report = kyctriage.scan(["leak/"], profile="profile.toml")
    comparison = kyctriage.compare("leak/", "archive.json")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from kyctriage.api import (
        compare,
        detect_watermark,
        learn_fingerprint,
        load_report,
        open_side,
        scan,
    )

__all__ = ["compare", "detect_watermark", "learn_fingerprint", "load_report", "open_side", "scan"]


def __getattr__(name: str) -> Any:
    # Loaded when first used: the CLI's and the workers' start-up must not pay for the
    # libraries behind the front door (numpy, Pillow, ...) before they need them.
    if name in __all__:
        from kyctriage import api

        return getattr(api, name)
    raise AttributeError(f"module 'kyctriage' has no attribute {name!r}")
