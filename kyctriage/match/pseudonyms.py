"""Pseudonymised record ids: HMAC-SHA-256 under the exchange's key, mapped back only with it.

A record's name (where the picture lives: its root and path, which often hold a customer's
name) is stored as HMAC-SHA-256(key, name), so an index can be handed to an investigator or a
court expert without names or pixels. An HMAC cannot be inverted: whoever holds the key maps a
pseudonym back by computing the HMAC of the names it already has (its own archive's list) and
looking the pseudonym up. The manifest records a fingerprint of the key (an HMAC of a fixed
label, not the key), so the wrong key is refused instead of mapping nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from kyctriage.errors import UsageError
from kyctriage.match.entries import Entry
from kyctriage.serialise import check_hex
from kyctriage.untrusted import BadInput, loads_json, read_bounded

SCHEME = "hmac-sha256"
ROOT = "pseudonymised"  # the root every pseudonymised row carries: no folder name survives
MIN_KEY_BYTES = 32
MAX_KEY_BYTES = 4096
MAX_REPORT_BYTES = 4 * 1024**3


@dataclass(frozen=True)
class Key:
    secret: bytes

    def __repr__(self) -> str:  # never printed, logged or pickled into an error message
        return f"Key(fingerprint={self.fingerprint()})"

    def fingerprint(self) -> str:
        """Names the key in a manifest without revealing it (16 hex digits)."""
        return hmac.new(self.secret, b"kyctriage key fingerprint", hashlib.sha256).hexdigest()[:16]

    def pseudonym(self, name: str) -> str:
        """The stored id of a record named `name` (64 hex digits)."""
        return hmac.new(
            self.secret, name.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).hexdigest()


def name_of(root: str, path: str) -> str:
    """What a pseudonym stands for: the record's location as a scan names it (root/path)."""
    return os.path.join(root, path)


def hidden(entry: Entry, key: Key) -> Entry:
    """The entry with its name replaced by its pseudonym and no source (hashes and facts
    kept)."""
    name = name_of(entry.root, entry.path)
    return replace(entry, root=ROOT, path=key.pseudonym(name), source=None)


def load_key(path: str | Path) -> Key:
    """The key file's bytes (at least MIN_KEY_BYTES of them, e.g. `head -c 32 /dev/urandom`);
    a missing, unreadable or short file is one UsageError line that names the file."""
    try:
        secret = read_bounded(path, MAX_KEY_BYTES)
    except BadInput as exc:
        raise UsageError(f"key file {path}: {exc}") from None
    if len(secret) < MIN_KEY_BYTES:
        raise UsageError(
            f"key file {path} holds {len(secret)} bytes; a key needs at least {MIN_KEY_BYTES} "
            f"(make one with: head -c {MIN_KEY_BYTES} /dev/urandom > {Path(path).name})"
        )
    return Key(secret)


def manifest_entry(key: Key) -> dict[str, str]:
    return {"scheme": SCHEME, "key_fingerprint": key.fingerprint()}


def check_key(recorded: object, key: Key | None, index: str | Path) -> None:
    """The key given against what the manifest records: both absent, or the same key. A
    pseudonymised index never gets named rows added, nor a named index pseudonymised ones."""
    if recorded is None and key is None:
        return
    if recorded is None:
        raise UsageError(f"{index} stores names, not pseudonyms; --pseudonymize cannot add to it")
    if not isinstance(recorded, dict) or recorded.get("scheme") != SCHEME:
        raise UsageError(f"{index}: unknown pseudonym scheme in its manifest")
    if key is None:
        raise UsageError(f"{index} is pseudonymised; give its key with --pseudonymize KEYFILE")
    if recorded.get("key_fingerprint") != key.fingerprint():
        raise UsageError(
            f"the key does not match {index} (its key fingerprint is "
            f"{str(recorded.get('key_fingerprint'))[:16]}, this key's is {key.fingerprint()})"
        )


def reveal(key: Key, names: Iterable[str], wanted: Iterable[str]) -> dict[str, str]:
    """pseudonym -> name for the wanted pseudonyms found among the HMACs of `names`."""
    left = set(wanted)
    found = {}
    for name in names:
        if not left:
            break
        made = key.pseudonym(name)
        if made in left:
            found[made] = name
            left.discard(made)
    return found


def read_names(path: str | Path) -> Iterator[str]:
    """A list of names, one a line (UTF-8), read as it is hashed: the key holder's own archive
    listing, which may hold 10^8 names."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UsageError(f"cannot read the name list {path}: {exc.strerror}") from None
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UsageError(f"the name list {path} is not a regular file")
        for number, line in enumerate(f, 1):
            try:
                name = line.rstrip(b"\r\n").decode("utf-8")
            except UnicodeDecodeError:
                raise UsageError(f"the name list {path}: line {number} is not UTF-8") from None
            if name:
                yield name


def affected_of(report: str | Path) -> list[tuple[str, str, str, str]]:
    """(pseudonym, sha256, best match, leaked as) of each pseudonymised affected record of a
    compare report (`compare --json`); the report is read as untrusted."""
    try:
        data = loads_json(read_bounded(report, MAX_REPORT_BYTES))
        if not isinstance(data, dict) or data.get("meta", {}).get("kind") != "compare":
            raise BadInput("not a kyctriage compare report (compare --json)")
        out = []
        for a in data["affected"]:
            if a["root"] != ROOT:
                continue
            check_hex(a["path"], 64, 64)
            leaked = "; ".join(str(p) for p in a["leaked_as"])
            out.append((a["path"], str(a["sha256"]), str(a["best"]), leaked))
    except (BadInput, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"cannot read compare report {report}: {exc}") from None
    return out
