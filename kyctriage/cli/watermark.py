"""The `kyctriage watermark` commands: keygen, embed and detect over the library.

The watermark package (scipy.fft) is imported inside the commands: every other command,
`scan` without a profile above all, would pay ~0.3 s of start-up for it."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import NoReturn

import click

from kyctriage.aspect import DEFAULT_ASPECT_RATIOS, describe, parse_aspect_ratios
from kyctriage.cli.common import EXIT_FATAL, EXIT_OK, EXIT_SOME_FAILED
from kyctriage.errors import FileProblem, KyctriageError, one_line
from kyctriage.probes.decode import PILLOW_FORMATS, decode, sniff
from kyctriage.scanning.ingest import walk
from kyctriage.scanning.options import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_PREVIEW_SIZE,
)
from kyctriage.scanning.read import read_file

EPILOG = """
\b
Exit codes:
  0  every file was handled (detect: whatever the verdicts)
  1  a fatal error (unreadable key, unwritable output)
  2  usage error
  3  some files could not be read or marked (each named on stderr)
"""
JSON_VERSION = 1


def _say(text: str) -> None:
    click.echo(text, err=True)


def _shown(root: str, path: str) -> str:
    return f"{root.rstrip('/')}/{path}" if os.path.isdir(root) else path


def _fatal(exc: BaseException) -> NoReturn:
    _say(f"kyctriage: error: {one_line(exc)}")
    sys.exit(EXIT_FATAL)


@click.group(epilog=EPILOG)
def watermark() -> None:
    """The keyed in-house watermark: make a key, mark pictures, detect the mark.

    The key file is a secret; reports name it only by its fingerprint.
    """


@watermark.command("keygen", epilog=EPILOG)
@click.argument("keyfile", type=click.Path(dir_okay=False))
def keygen_cmd(keyfile: str) -> None:
    """Write a new random key to KEYFILE (never overwrites) and print its fingerprint."""
    from kyctriage.watermark import fingerprint, keygen

    try:
        key = keygen(keyfile)
    except KyctriageError as exc:
        _fatal(exc)
    _say(f"wrote a new watermark key to {keyfile}; keep it secret")
    click.echo(fingerprint(key))


@watermark.command(epilog=EPILOG)
@click.option("--key", "keyfile", required=True, type=click.Path(dir_okay=False))
@click.argument("source", type=click.Path(exists=True))
@click.argument("output", type=click.Path(file_okay=False))
def embed(keyfile: str, source: str, output: str) -> None:
    """Mark SOURCE (an image or a folder of images) into the folder OUTPUT.

    Each picture is marked at full resolution and written as JPEG at its own estimated
    quality, keeping its EXIF, XMP, ICC and comments. Sources are only read; existing
    outputs are never overwritten.
    """
    from kyctriage.watermark import fingerprint, load_key
    from kyctriage.watermark.files import NotAnImage, embed_file

    try:
        key = load_key(keyfile)
        Path(output).mkdir(parents=True, exist_ok=True)
    except (KyctriageError, OSError) as exc:
        _fatal(exc)
    failed = done = 0
    out_dir = Path(output).resolve()
    # Listed before writing, and the output folder left out, so nothing is marked twice.
    items = [item for item in walk((source,)) if item.openable]
    for item in items:
        if (
            out_dir == Path(item.fs_path).resolve().parent
            or out_dir in Path(item.fs_path).resolve().parents
        ):
            continue
        target = Path(output) / PurePosixPath(item.path).with_suffix(".jpg")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            result = embed_file(item.fs_path, str(target), key)
        except NotAnImage as exc:
            _say(f"{item.path}: skipped ({exc})")
            continue
        except (FileProblem, KyctriageError, OSError, ValueError) as exc:
            failed += 1
            _say(f"{item.path}: error: {one_line(exc)}")
            continue
        done += 1
        _say(f"{item.path} -> {target} (quality {result.quality}, PSNR {result.psnr:.1f} dB)")
    _say(f"marked {done} file(s) with key {fingerprint(key)}; {failed} failed")
    sys.exit(EXIT_SOME_FAILED if failed else EXIT_OK)


@watermark.command("detect", epilog=EPILOG)
@click.option("--key", "keyfile", required=True, type=click.Path(dir_okay=False))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write results here.")
@click.option(
    "--preview-size", type=click.IntRange(min=64, max=4096), default=DEFAULT_PREVIEW_SIZE,
    show_default=True, help="The reduced decode, as scan makes it.",
)  # fmt: skip
@click.option("--no-crop-search", is_flag=True, help="Only the fast test (no crop search).")
@click.option(
    "--aspect-ratios", default=describe(DEFAULT_ASPECT_RATIOS).replace(" ", ""), show_default=True,
    help="Aspect ratios of the marked originals (portrait forms implied), which bound the crop "
    'search; "any" searches every crop (about 2.5x slower where no mark is found).',
)  # fmt: skip
def detect_cmd(
    keyfile: str, paths: tuple[str, ...], json_path: str | None, preview_size: int,
    no_crop_search: bool, aspect_ratios: str,
) -> None:  # fmt: skip
    """Look for the keyed mark in every image under PATHS.

    Each file is read and decoded exactly as `scan` does; the verdict is present, absent
    or inconclusive, with its score, threshold and false-positive bound.
    """
    from kyctriage.scanning.workers import one_thread_per_process, reuse_freed_memory
    from kyctriage.watermark import PRESENT, detect, fingerprint, load_key

    one_thread_per_process()  # as a scan's worker does: same cost per file, no spinning threads
    reuse_freed_memory()
    try:
        aspects = parse_aspect_ratios(aspect_ratios)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--aspect-ratios") from None
    try:
        key = load_key(keyfile)
    except KyctriageError as exc:
        _fatal(exc)
    rows: list[dict[str, object]] = []
    failed = present = 0
    for item in walk(paths):
        row: dict[str, object] = {"root": item.root, "path": item.path}
        if not item.openable:
            row["skipped"] = item.skip_reason or item.error
            rows.append(row)
            continue
        try:
            data = read_file(item.fs_path, DEFAULT_MAX_FILE_BYTES).data
            fmt = sniff(data)
            if fmt not in PILLOW_FORMATS:
                row["skipped"] = f"{fmt}, not an image"
                rows.append(row)
                continue
            decoded = decode(data, fmt, DEFAULT_MAX_PIXELS, preview_size)
            result = detect(decoded.preview, key, decoded.upright_size, not no_crop_search, aspects)
        except (FileProblem, KyctriageError, OSError, ValueError, MemoryError) as exc:
            failed += 1
            row["error"] = one_line(exc)
            _say(f"{item.path}: error: {row['error']}")
            rows.append(row)
            continue
        row["result"] = asdict(result)
        rows.append(row)
        present += result.verdict == PRESENT
        score = "-" if result.score is None else f"{result.score:.1f}"
        click.echo(
            f"{result.verdict:<12} z={score:<6} {_shown(item.root, item.path)}  ({result.note})"
        )
    _say(f"{len(rows)} file(s): {present} with the mark of key {fingerprint(key)}; "
         f"{failed} unreadable")  # fmt: skip
    if json_path:
        document = {
            "version": JSON_VERSION, "key_fingerprint": fingerprint(key), "files": rows,
            "crop_search": None if no_crop_search else {"aspect_ratios": describe(aspects)},
        }  # fmt: skip
        try:
            from kyctriage.cli.main import write_atomic

            write_atomic(json_path, json.dumps(document, indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            _fatal(exc)
    sys.exit(EXIT_SOME_FAILED if failed else EXIT_OK)
