"""What every HTML page shares: the templates, inlined assets, thumbnails and the CSP."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from kyctriage.model import FileRecord

_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")

THUMBNAIL_NOTES = {
    "pixelated": "Thumbnails are pixelated (16 blocks on the long side) so that no face, name or "
    "document number can be read.",
    "full": "Thumbnails are sharp (160 px): this report shows customers' faces and identity "
    "documents. Handle and forward it as personal data.",
    "none": "Thumbnails are left out of this report.",
}


def thumbnail(record: FileRecord) -> str | None:
    # Only well-formed base64 reaches the page: a tampered saved report cannot smuggle text
    # into the data URI built from it.
    value = record.thumbnail
    return value if value and _BASE64.fullmatch(value) else None


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("kyctriage.render", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "separators": (",", ":")}
    return env


def asset(name: str) -> str:
    env = environment()
    assert env.loader is not None
    text: str = env.loader.get_source(env, name)[0]
    # Our own files, inlined verbatim; a closing tag inside would end the element early.
    if "</" in text:
        raise ValueError(f"{name} must not contain '</'")
    return text


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(css: str, js: str) -> str:
    """No network at all: nothing may load but our one hashed style and script, and images
    only from data: URIs. Trusted Types keep any string out of HTML sinks in our own script."""
    return "; ".join([
        "default-src 'none'", f"style-src {sha256_source(css)}",
        f"script-src {sha256_source(js)}", "img-src data:", "base-uri 'none'",
        "form-action 'none'", "require-trusted-types-for 'script'", "trusted-types 'none'",
    ])  # fmt: skip
