"""The `kyctriage watermark` commands: keygen, embed and detect over the library.

The watermark package (scipy.fft) is imported inside the commands: every other command,
`scan` without a profile above all, would pay ~0.3 s of start-up for it."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import NoReturn

import click

from kyctriage.aspect import DEFAULT_ASPECT_RATIOS, describe, parse_aspect_ratios
from kyctriage.cli.common import EXIT_FATAL, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE
from kyctriage.cli.outputs import check_outputs, write_atomic
from kyctriage.errors import KyctriageError, UsageError, one_line
from kyctriage.render.text import visible
from kyctriage.scanning.ingest import walk
from kyctriage.scanning.marks import DetectOptions, Limits, detect_files, embed_files
from kyctriage.scanning.options import (
    DEFAULT_FILE_TIME_LIMIT,
    DEFAULT_PREVIEW_SIZE,
    DEFAULT_WORKER_MEMORY,
)

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
    """A line on stderr; file names and notes come from the evidence: the one rule."""
    click.echo(visible(text), err=True)


def _shown(root: str, path: str) -> str:
    return f"{root.rstrip('/')}/{path}" if os.path.isdir(root) else path


def _check(
    outputs: dict[str, str | None], inputs: Sequence[str], folders: Sequence[str] = ()
) -> None:
    """The outputs checked before any work; a refusal is a usage error."""
    try:
        check_outputs(outputs, inputs, folders)
    except UsageError as exc:
        _say(f"kyctriage: error: {exc}")
        sys.exit(EXIT_USAGE)


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


def _limit_options(command: Callable[..., None]) -> Callable[..., None]:
    """The scan's per-file protection, for the watermark commands' workers."""
    for option in reversed([
        click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Worker processes; 0 means one per core."),
        click.option("--file-timeout", type=click.FloatRange(min=0.1),
                     default=DEFAULT_FILE_TIME_LIMIT, show_default=True,
                     help="Seconds one file may take; past it the file is an error."),
        click.option("--max-worker-memory", type=click.IntRange(min=256),
                     default=DEFAULT_WORKER_MEMORY // 1024**2, show_default=True,
                     help="Address space per worker process, in MiB; a file needing more "
                     "is an error."),
    ]):  # fmt: skip
        command = option(command)
    return command


def _limits(workers: int, file_timeout: float, max_worker_memory: int) -> Limits:
    return Limits(workers, file_timeout, max_worker_memory * 1024**2)


@watermark.command(epilog=EPILOG)
@click.option("--key", "keyfile", required=True, type=click.Path(dir_okay=False))
@click.argument("source", type=click.Path(exists=True))
@click.argument("output", type=click.Path(file_okay=False))
@_limit_options
def embed(
    keyfile: str, source: str, output: str, workers: int, file_timeout: float,
    max_worker_memory: int,
) -> None:  # fmt: skip
    """Mark SOURCE (an image or a folder of images) into the folder OUTPUT.

    Each picture is marked at full resolution and written as JPEG at its own estimated
    quality, keeping its EXIF, XMP, ICC and comments. Sources are only read; existing
    outputs are never overwritten. Files are marked in supervised workers, as a scan probes
    them: one that crashes, hangs or runs out of memory is an error line, the rest go on.
    """
    from kyctriage.watermark import fingerprint, load_key

    _check({"OUTPUT": output}, [source], folders=["OUTPUT"])
    try:
        key = load_key(keyfile)
        Path(output).mkdir(parents=True, exist_ok=True)
    except (KyctriageError, OSError) as exc:
        _fatal(exc)
    # Listed before writing (the output folder is not inside the source: checked above).
    jobs = [
        (item, str(Path(output) / PurePosixPath(item.path).with_suffix(".jpg")))
        for item in walk((source,))
        if item.openable
    ]  # fmt: skip
    failed = done = 0
    for outcome in embed_files(jobs, key, _limits(workers, file_timeout, max_worker_memory)):
        path = outcome.source.path
        if outcome.skipped:
            _say(f"{path}: skipped ({outcome.skipped})")
        elif outcome.error or outcome.result is None:
            failed += 1
            _say(f"{path}: error: {outcome.error}")
        else:
            done += 1
            made = outcome.result
            _say(f"{path} -> {made['target']} (quality {made['quality']}, "
                 f"PSNR {made['psnr']:.1f} dB)")  # fmt: skip
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
    help="Aspect ratios of the marked originals (portrait forms implied), which narrow the crop "
    'search (faster where no mark is found); "any" (the default) searches every crop.',
)  # fmt: skip
@_limit_options
def detect_cmd(
    keyfile: str, paths: tuple[str, ...], json_path: str | None, preview_size: int,
    no_crop_search: bool, aspect_ratios: str, workers: int, file_timeout: float,
    max_worker_memory: int,
) -> None:  # fmt: skip
    """Look for the keyed mark in every image under PATHS.

    Each file is read and decoded exactly as `scan` does, in the same supervised workers
    (per-file time and memory limits); the verdict is present, absent or inconclusive, with
    its score, threshold and false-positive bound.
    """
    from kyctriage.watermark import PRESENT, fingerprint, load_key

    _check({"--json": json_path}, paths)
    try:
        aspects = parse_aspect_ratios(aspect_ratios)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--aspect-ratios") from None
    try:
        key = load_key(keyfile)
    except KyctriageError as exc:
        _fatal(exc)
    options = DetectOptions(preview_size, not no_crop_search, aspects)
    limits = _limits(workers, file_timeout, max_worker_memory)
    rows: list[dict[str, object]] = []
    failed = present = 0
    for outcome in detect_files(list(walk(paths)), key, options, limits):
        item = outcome.source
        row: dict[str, object] = {"root": item.root, "path": item.path}
        rows.append(row)
        if outcome.skipped:
            row["skipped"] = outcome.skipped
            continue
        if outcome.error or outcome.result is None:
            failed += 1
            row["error"] = outcome.error
            _say(f"{item.path}: error: {row['error']}")
            continue
        row["result"] = result = outcome.result
        present += result["verdict"] == PRESENT
        score = "-" if result["score"] is None else f"{result['score']:.1f}"
        click.echo(
            visible(
                f"{result['verdict']:<12} z={score:<6} {_shown(item.root, item.path)}  "
                f"({result['note']})"
            )
        )
    _say(f"{len(rows)} file(s): {present} with the mark of key {fingerprint(key)}; "
         f"{failed} unreadable")  # fmt: skip
    if json_path:
        document = {
            "version": JSON_VERSION, "key_fingerprint": fingerprint(key), "files": rows,
            "crop_search": None if no_crop_search else {"aspect_ratios": describe(aspects)},
        }  # fmt: skip
        try:
            write_atomic(json_path, json.dumps(document, indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            _fatal(exc)
    sys.exit(EXIT_SOME_FAILED if failed else EXIT_OK)
