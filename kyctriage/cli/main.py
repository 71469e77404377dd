"""The command line: parse flags, call the library, pick renderers, set the exit code."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

import click

from kyctriage import __version__
from kyctriage.cli.common import EXIT_CODES_HELP, ProgressBar, run, stderr
from kyctriage.cli.outputs import JOURNAL_SUFFIX, check_outputs, write_atomic
from kyctriage.errors import UsageError
from kyctriage.model import Report
from kyctriage.render.text import visible
from kyctriage.scanning.options import (
    DEFAULT_FILE_TIME_LIMIT,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_PREVIEW_SIZE,
    DEFAULT_WORKER_MEMORY,
)


def output_options(command: Callable[..., None]) -> Callable[..., None]:
    """The report files every command that produces a report can write."""
    for option in reversed(
        [
            click.option(
                "--json", "json_path", type=click.Path(dir_okay=False),
                help="Write the full report as JSON (versioned, with a JSON Schema).",
            ),
            click.option(
                "--csv", "csv_path", type=click.Path(dir_okay=False),
                help="Write one row per file as CSV for spreadsheets (formula cells neutralised).",
            ),
            click.option(
                "--timeline", "timeline_path", type=click.Path(dir_okay=False),
                help="Write every time source as a Timesketch CSV "
                "(message, datetime, timestamp_desc).",
            ),
            click.option(
                "--html", "html_path", type=click.Path(dir_okay=False),
                help="Write a self-contained HTML report (no network requests; thumbnails as "
                "the scan made them).",
            ),
            click.option(
                "--manifest", "manifest_path", type=click.Path(dir_okay=False),
                help="Write a custody manifest last: SHA-256 of every input and of each report "
                "file written, tool version, command, profile and key fingerprints "
                "(check with sha256sum -c).",
            ),
        ]
    ):  # fmt: skip
        command = option(command)
    return command


class _Commands(click.Group):
    """The command group. compare, index and watermark are imported when named (or listed by
    --help), so that a scan does not load them before its workers start."""

    LAZY = {
        "compare": ("kyctriage.cli.compare", "compare"),
        "index": ("kyctriage.cli.compare", "index"),
        "watermark": ("kyctriage.cli.watermark", "watermark"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.LAZY and name not in self.commands:
            module, attribute = self.LAZY[name]
            self.add_command(getattr(importlib.import_module(module), attribute))
        return super().get_command(ctx, name)


@click.group(
    cls=_Commands, epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="kyctriage")
def main() -> None:
    """Forensic triage of leaked KYC photo sets.

    Inventories every file with hashes for chain of custody, extracts EXIF and every time
    source, fingerprints the JPEG encoder and computes perceptual hashes, so that a dump
    can be answered for: what is in it, when was each image made, and where it came from.
    Evidence is opened read-only and never modified.
    """


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Worker processes; 0 means one per core.",
)
@click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_PIXELS,
    show_default=True,
    help="Refuse to decode images declaring more pixels (decompression bombs).",
)
@click.option(
    "--max-file-size",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_FILE_BYTES,
    show_default=True,
    help="Files larger than this many bytes are recorded as errors, not read.",
)
@click.option(
    "--preview-size",
    type=click.IntRange(min=64, max=4096),
    default=DEFAULT_PREVIEW_SIZE,
    show_default=True,
    help="The reduced decode covers at least this many pixels per side.",
)
@click.option(
    "--profile",
    "profile_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Attribution profile (TOML): pipelines, their windows, watermark keys and fingerprints.",
)
@click.option(
    "--file-timeout",
    type=click.FloatRange(min=0.1),
    default=DEFAULT_FILE_TIME_LIMIT,
    show_default=True,
    help="Seconds one file may take; a worker past it is replaced and the file is an error.",
)
@click.option(
    "--max-worker-memory",
    type=click.IntRange(min=256),
    default=DEFAULT_WORKER_MEMORY // 1024**2,
    show_default=True,
    help="Address space per worker process, in MiB; a file needing more is an error.",
)
@click.option(
    "--thumbnails",
    type=click.Choice(["pixelated", "full", "none"]),
    default="pixelated",
    show_default=True,
    help="Thumbnails kept for reports: pixelated so no face or document number can be read, "
    "full (sharp, 160 px) or none.",
)
@click.option(
    "--no-crop-search",
    is_flag=True,
    help="Watermark keys: only the fast test (about 2 ms per image). By default an image where "
    "the fast test finds no mark is also searched for crops (up to 8% per side, or a fifth from "
    "one edge, of an original of any aspect ratio); without it, a marked picture cropped at its "
    "borders reads as absent.",
)
@click.option(
    "--journal",
    "journal_path",
    type=click.Path(dir_okay=False),
    help="Append each record to this journal as it is made (default with --json: JSON.journal, "
    "removed when the scan completes).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue an interrupted scan from its journal: files already recorded and unchanged "
    "(same size and mtime) are not read again.",
)
@output_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary on stderr.")
def scan(
    paths: tuple[str, ...],
    workers: int,
    max_pixels: int,
    max_file_size: int,
    preview_size: int,
    profile_path: str | None,
    thumbnails: str,
    file_timeout: float,
    max_worker_memory: int,
    no_crop_search: bool,
    journal_path: str | None,
    resume: bool,
    quiet: bool,
    **outputs: str | None,
) -> None:
    """Scan folders, zip archives or files and build the evidence inventory.

    Every file under PATHS gets a record: size, mtime, SHA-256 and MD5, the format read
    from the content, EXIF (named as exiftool names it), GPS, every time source with its
    trust and the best time, JPEG encoder facts, and perceptual hashes. Symbolic links are
    not followed; pipes, sockets and devices are listed as skipped, never opened.

    A zip named in PATHS is recorded itself (its hashes), then unpacked into a private
    temporary folder, within bounds (zip bombs stop it), and each member recorded with its
    name inside the archive; links and duplicate names are listed as skipped. Zips found
    inside a folder are recorded as files, not unpacked.

    The summary goes to stderr; the JSON report (--json) holds every record.
    """
    from kyctriage.api import scan as run_scan

    def action() -> None:
        implicit = journal_path is None and outputs.get("json_path") is not None
        journal = journal_path or (f"{outputs['json_path']}{JOURNAL_SUFFIX}" if implicit else None)
        check_outputs({**_options(outputs), "--journal": journal}, paths)
        if resume and (journal is None or not Path(journal).is_file()):
            raise UsageError("--resume needs the interrupted scan's journal (--journal or --json)")
        if not quiet:
            from kyctriage.scanning.archive import is_zip_root

            for path in filter(is_zip_root, paths):  # before the bar: unpacking takes a while
                line = f"unpacking {visible(path)} into a private temporary folder ..."
                stderr().print(line, markup=False, highlight=False, soft_wrap=True)
        with ProgressBar(quiet) as progress:
            report = run_scan(
                paths, profile_path, command=tuple(sys.argv), progress=progress,
                journal=journal, resume=resume, workers=workers, max_pixels=max_pixels,
                max_file_bytes=max_file_size, preview_size=preview_size, thumbnails=thumbnails,
                file_time_limit=file_timeout, worker_memory_limit=max_worker_memory * 1024**2,
                crop_search=not no_crop_search,
            )  # fmt: skip
        _deliver(report, quiet, outputs)
        if implicit and journal:
            Path(journal).unlink(missing_ok=True)

    run(action)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("saved", type=click.Path(exists=True, dir_okay=False))
@output_options
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
def report(saved: str, quiet: bool, **outputs: str | None) -> None:
    """Re-render a saved JSON report (from `scan --json`) without rescanning.

    Prints the summary and writes any of --json, --csv, --timeline, --html, --manifest again
    from SAVED.
    """
    from kyctriage.serialise import load_report

    def action() -> None:
        check_outputs(_options(outputs), [saved])
        loaded = load_report(saved)
        # The scan's roots too, where they are found from here: they are the evidence.
        roots = [root for root in loaded.meta.roots if os.path.lexists(root)]
        check_outputs(_options(outputs), [saved, *roots])
        _deliver(loaded, quiet, outputs, saved=saved)

    run(action)


def _options(outputs: dict[str, str | None]) -> dict[str, str | None]:
    """The report files by their options' names (json_path -> --json), for messages."""
    return {f"--{key.removesuffix('_path')}": path for key, path in outputs.items()}


_RENDERERS = {
    "json_path": ("kyctriage.render.json", "iter_json"),
    "csv_path": ("kyctriage.render.csv", "render_csv"),
    "timeline_path": ("kyctriage.render.csv", "render_timeline"),
    "html_path": ("kyctriage.render.html", "render_html"),
}


def _deliver(
    report: Report,
    quiet: bool,
    outputs: dict[str, str | None],
    saved: str | None = None,
) -> None:
    """Write the requested report files (each complete or not at all), then the manifest of
    them all, then the summary."""
    from kyctriage.render.manifest import file_sha256, render_manifest

    written = []
    for key, (module, name) in _RENDERERS.items():
        target = outputs.get(key)
        if target:
            # Imported when asked for: the HTML renderer's Jinja2 alone is ~0.05 s of a scan.
            render = getattr(importlib.import_module(module), name)
            write_atomic(target, render(report))
            written.append(target)
    manifest = outputs.get("manifest_path")
    if manifest:
        # Last, so that it can hash every report file as it now is on disk.
        hashes = [(target, file_sha256(target)) for target in written]
        source = (saved, file_sha256(saved)) if saved else None
        write_atomic(manifest, render_manifest(report, hashes, tuple(sys.argv), source))
        written.append(manifest)
    if not quiet:
        from kyctriage.render.terminal import print_summary

        console = stderr()
        print_summary(report, console)
        for target in written:
            console.print(f"written: {visible(target)}", markup=False, soft_wrap=True)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("directory", type=click.Path(file_okay=False))
def samples(directory: str) -> None:
    """Write the synthetic demo set (the one committed in samples/) into DIRECTORY.

    Drawn scenes of a person holding a fake ID card: no real person, no real document.
    """
    from kyctriage.demo.samples import write_samples

    def action() -> None:
        written = write_samples(Path(directory))
        stderr().print(f"wrote {len(written)} files to {visible(directory)}")

    run(action)


@main.group()
def profile() -> None:
    """Learn and inspect pipeline fingerprints for attribution profiles."""


@profile.command("learn", epilog=EXIT_CODES_HELP)
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--name", required=True, help="The pipeline name the fingerprint is for.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="The fingerprint file to write (JSON).",
)
def profile_learn(directory: str, name: str, output: str) -> None:
    """Learn a pipeline's encoder fingerprint from DIRECTORY of files it made.

    Records quantisation tables and quality, subsampling, progressive, marker layout,
    dimensions and aspect ratios, and Software/Make/Model values. Point a profile's
    `fingerprint = "..."` at the output.
    """
    from kyctriage.api import learn_fingerprint
    from kyctriage.attribution import fingerprint

    def action() -> None:
        check_outputs({"-o": output}, [directory])
        learned = learn_fingerprint(directory, name)
        write_atomic(output, fingerprint.dumps(learned))
        shown = visible(f"learned {name} from {learned.samples} JPEG files; written: {output}")
        stderr().print(shown)

    run(action)


@profile.command("show", epilog=EXIT_CODES_HELP)
@click.argument("profile_file", type=click.Path(exists=True, dir_okay=False))
def profile_show(profile_file: str) -> None:
    """Check a profile and print its pipelines (stdout)."""
    from kyctriage.aspect import describe
    from kyctriage.attribution.profile import load_profile

    def action() -> None:
        loaded = load_profile(profile_file)
        # A profile may come from someone else: every text of it through the one rule.
        click.echo(f"profile {visible(loaded.path)} (sha256 {loaded.sha256[:16]})")
        for p in loaded.pipelines:
            window = f"{p.active_from or '...'} .. {p.active_to or '...'}"
            checks = {"watermark": p.watermark_key, "logo": p.logo_template, "marker": p.marker}
            checks["fingerprint"] = p.fingerprint
            marks = [name for name, value in checks.items() if value]
            if p.watermark_key:
                marks[0] = f"watermark (crops of {describe(p.watermark_aspects)} originals)"
            line = f"{p.name}: {p.label}; active {window}; {', '.join(marks) or 'dates only'}"
            click.echo(f"  {visible(line)}")

    run(action)


if __name__ == "__main__":  # pragma: no cover
    main()
