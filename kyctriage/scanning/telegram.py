"""Telegram Desktop "Export chat history" folders: which message posted which picture, when."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kyctriage.model import TelegramMessage
from kyctriage.untrusted import BadInput, loads_json, read_bounded

EXPORT_FILE = "result.json"
MAX_EXPORT_BYTES = 256 * 1024 * 1024
MAX_TEXT_CHARS = 500
Limits = tuple[float, int | None]  # seconds, bytes of address space


@dataclass(frozen=True)
class Export:
    """One parsed export: messages keyed by the relative path of the file they carry."""

    folder: str  # relative to the scan root, "" for the root itself
    by_path: dict[str, TelegramMessage]
    messages: int
    not_exported: int  # photos or files the export left out ("File not included ...")
    problem: str | None = None


def _text(value: Any) -> str | None:
    """Message text is a string or a list of strings and {type, text} entities."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, list):
        text = "".join(v if isinstance(v, str) else str(v.get("text", "")) for v in value
                       if isinstance(v, (str, dict)))  # fmt: skip
    else:
        return None
    return text[:MAX_TEXT_CHARS] or None


def _chats(data: Any) -> Iterator[dict[str, Any]]:
    """A single-chat export has `messages` at the top; a full export nests chats."""
    if not isinstance(data, dict):
        return
    if isinstance(data.get("messages"), list):
        yield data
    chats = data.get("chats")
    if isinstance(chats, dict) and isinstance(chats.get("list"), list):
        for chat in chats["list"]:
            if isinstance(chat, dict) and isinstance(chat.get("messages"), list):
                yield chat


def _posted(message: dict[str, Any]) -> str | None:
    raw = message.get("date_unixtime")
    try:
        seconds = int(str(raw))
        return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _clean(value: Any) -> str | None:
    return None if value is None else str(value)[:MAX_TEXT_CHARS]


def parse_export(raw: bytes, folder: str) -> Export:
    try:
        data = loads_json(raw)
    except BadInput as exc:
        return Export(folder, {}, 0, 0, problem=f"result.json is not usable: {exc}")
    by_path: dict[str, TelegramMessage] = {}
    messages = not_exported = 0
    export_name = posixpath.join(folder, EXPORT_FILE) if folder else EXPORT_FILE
    for chat in _chats(data):
        chat_name = _clean(chat.get("name"))
        for message in chat["messages"]:
            if not isinstance(message, dict):
                continue
            messages += 1
            for kind in ("photo", "file"):
                ref = message.get(kind)
                if not isinstance(ref, str):
                    continue
                if ref.startswith("(") or "/" not in ref and "." not in ref:
                    not_exported += 1  # "(File not included. Change data exporting settings...)"
                    continue
                posted = _posted(message)
                if posted is None:
                    continue
                rel = posixpath.normpath(ref.replace("\\", "/"))
                if rel.startswith("../") or rel.startswith("/"):
                    continue  # an export never points outside itself
                date = message.get("date")
                by_path[rel] = TelegramMessage(
                    export=export_name,
                    chat=chat_name,
                    message_id=message.get("id") if isinstance(message.get("id"), int) else None,
                    posted=posted,
                    date_local=date if isinstance(date, str) else None,
                    sender=_clean(message.get("from")),
                    sender_id=_clean(message.get("from_id")),
                    forwarded_from=_clean(message.get("forwarded_from")),
                    kind=kind,
                    text=_text(message.get("text")),
                )
    return Export(folder, by_path, messages, not_exported)


def read_export(fs_path: str, folder: str, limits: Limits | None = None) -> Export:
    """Read and parse result.json; with limits (a scan's per-file time and memory limit), in
    a worker process under them: parsed, a JSON export takes up to ~30 times its size."""
    if limits is None:
        return _read_export((fs_path, folder))
    from kyctriage.scanning.workers import Failed, run_supervised

    time_limit, memory_limit = limits
    ((_, outcome),) = run_supervised(_read_export, [(fs_path, folder)], 1, time_limit, memory_limit)
    if isinstance(outcome, Failed):
        return Export(folder, {}, 0, 0, problem=f"result.json not joined: {outcome.reason}")
    return outcome


def _read_export(item: tuple[str, str]) -> Export:
    """Read result.json without following links or blocking; bounded in size."""
    fs_path, folder = item
    try:
        raw = read_bounded(fs_path, MAX_EXPORT_BYTES, follow_links=False)
    except BadInput as exc:
        return Export(folder, {}, 0, 0, problem=f"result.json not joined: {exc}")
    return parse_export(raw, folder)
