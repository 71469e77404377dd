"""Sources named by fsspec URLs (s3://, gs://, file://...): listed here, read by the workers."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlparse

from kyctriage.errors import FileProblem, KyctriageError, UsageError, one_line
from kyctriage.scanning.ingest import Source, printable_name
from kyctriage.scanning.read import FileBytes

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# An object store that does not answer is an error within seconds, not after botocore's
# default minute per attempt.
_S3_OPTIONS = {"config_kwargs": {"connect_timeout": 10, "retries": {"max_attempts": 3}}}


def is_url(name: str) -> bool:
    return bool(_URL.match(name))


def local_path(name: str) -> str:
    """A file:// URL as the local path it names (read as any folder is); anything else as is."""
    if name.lower().startswith("file://"):
        return unquote(urlparse(name).path) or "/"
    return name


def _filesystem(url: str) -> tuple[Any, str]:
    import fsspec

    options = _S3_OPTIONS if url.lower().startswith(("s3://", "s3a://")) else {}
    try:
        return fsspec.core.url_to_fs(url, **options)  # type: ignore[no-any-return]
    except (ValueError, ImportError) as exc:  # an unknown protocol, or its package missing
        raise UsageError(f"{url}: {one_line(exc)}") from None


def _why(exc: BaseException) -> str:
    if "Credentials" in type(exc).__name__:  # botocore's NoCredentialsError and its kin
        return (
            f"{one_line(exc)} (give the object store's credentials to this machine and to "
            "every worker: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile or a role)"
        )
    return one_line(exc)


def list_sources(url: str) -> list[Source]:
    """Every object under the URL (a prefix, or one object), sorted by key; an unknown
    protocol or a missing bucket or prefix is a usage error, an unreachable or refusing store
    a fatal one."""
    fs, path = _filesystem(url)
    try:
        found = fs.find(path, detail=True)
    except FileNotFoundError:
        found = {}
    except PermissionError as exc:
        raise KyctriageError(f"cannot list {url}: access denied ({one_line(exc)})") from None
    except Exception as exc:  # botocore and aiohttp errors are not OSErrors
        raise KyctriageError(f"cannot list {url}: {_why(exc)}") from None
    files = sorted(name for name, info in found.items() if info.get("type") != "directory")
    if not files:
        raise UsageError(f"{url}: no such bucket, object or prefix (or it holds no objects)")
    root, base = url, path.rstrip("/")
    if files == [base]:  # the URL names one object: its folder is the root
        root, base = url.rsplit("/", 1)[0], base.rsplit("/", 1)[0]
    out = []
    for name in files:
        shown, raw_hex = printable_name(name[len(base) :].lstrip("/"))
        out.append(Source(root, shown, fs.unstrip_protocol(name), raw_hex))
    return out


def read_object(url: str, max_bytes: int) -> FileBytes:
    """One object read whole (the object store's counterpart of read.read_file): one line of
    FileProblem when it is missing, too large or cannot be read."""
    fs, path = _filesystem(url)
    try:
        info = fs.info(path)
        size = int(info.get("size") or 0)
        if size > max_bytes:
            raise FileProblem(f"object of {size} bytes exceeds the limit of {max_bytes} bytes")
        data = fs.cat_file(path, start=0, end=max_bytes + 1)
    except FileProblem:
        raise
    except FileNotFoundError:
        raise FileProblem("no such object (removed since it was listed?)") from None
    except Exception as exc:
        raise FileProblem(f"cannot read: {_why(exc)}") from None
    if len(data) > max_bytes:
        raise FileProblem(f"object grew past the limit of {max_bytes} bytes while read")
    modified = info.get("LastModified") or info.get("mtime") or info.get("updated")
    mtime_ns = 0
    if hasattr(modified, "timestamp"):
        mtime_ns = int(modified.timestamp() * 1e9)
    elif isinstance(modified, int | float):
        mtime_ns = int(modified * 1e9)
    return FileBytes(data=data, size=len(data), mtime_ns=mtime_ns)
