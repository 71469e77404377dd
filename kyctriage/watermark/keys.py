"""Watermark keys: a secret 256-bit seed in a small versioned text file, and its fingerprint."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field

from kyctriage.errors import KyctriageError
from kyctriage.untrusted import BadInput, read_bounded

KEY_HEADER = "kyctriage-watermark-key v1"
MAX_KEY_FILE_BYTES = 4096
_SEED_LINE = re.compile(r"^seed ([0-9a-f]{64})$")


class WatermarkKeyError(KyctriageError):
    """A key file that is missing, unreadable or not in the expected format."""


@dataclass(frozen=True)
class WatermarkKey:
    seed: bytes = field(repr=False)  # never printed: the dataclass repr hides it

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise WatermarkKeyError("a watermark key is 32 bytes")

    def stream(self, purpose: str, nbytes: int) -> bytes:
        """Deterministic key-derived bytes for one purpose (stable across library versions)."""
        material = b"kyctriage-wm\x00" + purpose.encode() + b"\x00" + self.seed
        return hashlib.shake_256(material).digest(nbytes)


def fingerprint(key: WatermarkKey) -> str:
    """A short public name of the key: a one-way hash, safe to print in reports."""
    return hashlib.sha256(b"kyctriage-wm-fingerprint\x00" + key.seed).hexdigest()[:16]


def keygen(path: str) -> WatermarkKey:
    """Write a new random key to path (refusing to overwrite) with owner-only permissions."""
    key = WatermarkKey(secrets.token_bytes(32))
    text = f"{KEY_HEADER}\nseed {key.seed.hex()}\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise WatermarkKeyError(f"{path} exists; a key is never overwritten") from None
    except OSError as exc:
        raise WatermarkKeyError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text)
    return key


def load_key(path: str) -> WatermarkKey:
    """Read a key file; any deviation from the format is an error that never echoes the file."""
    try:  # without blocking: a FIFO named as the key is refused, not waited on
        raw = read_bounded(path, MAX_KEY_FILE_BYTES)
    except BadInput as exc:
        raise WatermarkKeyError(f"cannot read key file {path}: {exc}") from None
    try:
        lines = [line.strip() for line in raw.decode("ascii").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise WatermarkKeyError(f"{path} is not a watermark key (not ASCII text)") from None
    if not lines or lines[0] != KEY_HEADER:
        raise WatermarkKeyError(f"{path} is not a watermark key (first line is not {KEY_HEADER!r})")
    match = _SEED_LINE.match(lines[1]) if len(lines) == 2 else None
    if match is None:
        raise WatermarkKeyError(f"{path} is not a valid {KEY_HEADER} file (bad seed line)")
    return WatermarkKey(bytes.fromhex(match.group(1)))
