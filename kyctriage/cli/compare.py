"""The `kyctriage compare` command and the `kyctriage index` group over the library."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.text import Text

from kyctriage.cli.common import EXIT_OK, EXIT_SOME_FAILED, ProgressBar, run, stderr
from kyctriage.cli.outputs import check_outputs, write_atomic
from kyctriage.errors import UsageError
from kyctriage.match import index as reference_index
from kyctriage.match.compare import MAX_CHECKS
from kyctriage.match.entries import entries
from kyctriage.render.compare import (
    AFFECTED_COLUMNS,
    LEAK_COLUMNS,
    affected_rows,
    leak_rows,
    render_comparison,
    render_rows,
    summary,
)
from kyctriage.render.text import visible

EPILOG = """
\b
Exit codes:
  0  the comparison finished (unreadable leak files are listed as errors, not a failure)
     and every near match was verified on the two pictures
  1  a fatal error (unreadable saved scan or index, a damaged shard or a manifest that does
     not match its shards, unwritable output); `index verify`: the index is damaged
  2  usage error
  3  the comparison finished, but some leak images have only unverified candidates (their
     pictures could not be had, e.g. an index whose source files moved; too plain to tell
     from a look-alike; shown inside a screenshot too small to check; or beyond
     --max-checks): the summary says how many and why; they are not confirmed matches
"""


@click.command(epilog=EPILOG)
@click.argument("leak", type=click.Path(exists=True))
@click.argument("reference", type=click.Path(exists=True))
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False), help="Write every match as JSON."
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False),
    help="Write the affected reference records as CSV (breach notification).",
)
@click.option(
    "--leak-csv",
    "leak_csv_path",
    type=click.Path(dir_okay=False),
    help="Write one row per leak file with its best match as CSV.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Worker processes scanning a folder side, and threads checking the candidates on "
    "the pictures; 0 means one per core.",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    help="Write a self-contained HTML page: leak and reference thumbnails side by side.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Search a sharded REFERENCE index on this Dask cluster (tcp://host:8786); the index "
    "must be at the same path on every worker.",
)
@click.option(
    "--max-checks",
    type=click.IntRange(min=1),
    default=MAX_CHECKS,
    show_default=True,
    help="Near candidates of the global hashes checked per leak image, closest first. The "
    "rest are counted; an image with nothing verified among those checked shows its closest "
    "unchecked ones as unverified candidates, never as unmatched.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary on stderr.")
def compare(
    leak: str,
    reference: str,
    json_path: str | None,
    csv_path: str | None,
    leak_csv_path: str | None,
    workers: int,
    html_path: str | None,
    scheduler: str | None,
    max_checks: int,
    quiet: bool,
) -> None:
    """Match the LEAK against a REFERENCE: our own records, or an earlier leak wave.

    Each side is a folder (scanned), a zip archive, or a saved scan (`scan --json`); the
    reference may also be
    an index (`index build`). Every leak file is exact (same bytes), same-pixels (same image
    data, other metadata), near (the same photograph transformed, verified on the two
    pictures, with what verified it and the likely transformation), unverified-candidate (the
    hashes propose a match the pictures could not check: a reference index whose source
    files are gone or changed) or unmatched. As waves: repeated, changed, unverified, new.
    """
    from kyctriage.render.html_compare import render_compare_html

    def action() -> None:
        from kyctriage.api import compare as run_compare

        named = {"--json": json_path, "--csv": csv_path, "--leak-csv": leak_csv_path}
        check_outputs({**named, "--html": html_path}, [leak, reference])
        bar = ProgressBar(quiet)
        with bar:
            result = run_compare(leak, reference, workers=workers, scheduler=scheduler,
                                 max_checks=max_checks, progress=bar.staged)  # fmt: skip
        leak_side, reference_side = result.leak, result.reference
        assert leak_side is not None and reference_side is not None
        outputs: list[tuple[str | None, Callable[[], str]]] = [
            (json_path, lambda: render_comparison(result, leak, reference)),
            (csv_path, lambda: render_rows(AFFECTED_COLUMNS, affected_rows(result))),
            (leak_csv_path, lambda: render_rows(LEAK_COLUMNS, leak_rows(result))),
            (html_path, lambda: render_compare_html(result, leak_side, reference_side)),
        ]
        for target, render in outputs:
            if target:
                write_atomic(target, render())
        if not quiet:
            stderr().print(summary(result), soft_wrap=True)
            for side in (leak_side, reference_side):
                for line in side.left_out + side.notes:
                    stderr().print(Text(visible(f"{side.source}: {line}")))
        unverified.append(result.totals()["unverified-candidate"])

    unverified: list[int] = []
    run(action)
    sys.exit(EXIT_SOME_FAILED if any(unverified) else EXIT_OK)


@click.group()
def index() -> None:
    """Reference index: hashes and record ids of a reference set, no pixels. A SQLite file,
    or with --sharded a directory of shards (memory-mapped hash arrays, ids in Parquet and a
    manifest) searched shard by shard: for archives of millions of images."""


def _fill(
    directory: str,
    output: str,
    create: bool,
    workers: int,
    sharded: bool,
    cluster: tuple[str | None, int],
    keyfile: str | None = None,
    quiet: bool = False,
) -> None:
    from kyctriage.api import scan
    from kyctriage.distributed.remote import is_url
    from kyctriage.match import pseudonyms, shards

    scheduler, task_files = cluster

    def action() -> None:
        remote = is_url(directory)
        key = pseudonyms.load_key(keyfile) if keyfile else None
        folders = ["-o"] if sharded or shards.is_index(output) else []
        check_outputs({"-o": output}, [] if remote else [directory], folders=folders)
        if create and Path(output).exists():
            raise UsageError(f"{output} exists; use `index add` to append to it")
        if not create and not (Path(output).is_file() or shards.is_index(output)):
            raise UsageError(f"{output} does not exist; use `index build` first")
        appending = not create and shards.is_index(output)
        if key is not None and not (sharded or appending):
            raise UsageError("--pseudonymize needs a sharded index (--sharded)")
        if appending:  # a bad manifest or the wrong key fails before the scan
            recorded = shards.read_manifest(output)[0].get("pseudonyms")
            pseudonyms.check_key(recorded, key, output)
        if scheduler is not None or remote:
            if not (sharded or appending):
                raise UsageError("--scheduler and URL sources write a sharded index: add --sharded")
            from kyctriage.distributed.build import fill

            with ProgressBar(quiet) as progress:
                written, files = fill(output, directory, create=create, scheduler=scheduler,
                                      workers=workers, task_files=task_files, key=key,
                                      progress=progress)  # fmt: skip
        else:
            with ProgressBar(quiet) as progress:
                records = scan(
                    directory, workers=workers, progress=progress, clusters=False
                ).records  # an index keeps rows, not clusters
            files = len(records)
            if sharded and create:
                written = shards.build(output, entries(records), key=key)
            elif appending:
                written = shards.append(output, entries(records), key=key)
            else:
                written = reference_index.add(output, entries(records), create=create)
        line = f"indexed {written} images ({files - written} files without hashes); {output}"
        if not quiet:
            stderr().print(visible(line))

    run(action)


def _source(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """DIRECTORY: a folder, or an fsspec URL (s3://bucket/prefix) the workers read."""
    from kyctriage.distributed.remote import is_url, local_path

    value = local_path(value)
    if is_url(value):
        return value
    return str(click.Path(exists=True, file_okay=False).convert(value, param, ctx))


def _index_arguments(output_help: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """DIRECTORY, -o, --workers and the cluster's options, the same for `index build` and
    `index add`."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        command = click.option(
            "--task-files", type=click.IntRange(min=1), default=256, show_default=True,
            help="With --scheduler or a URL: files per task (one task per chunk of the sorted "
            "source list).",
        )(command)  # fmt: skip
        command = click.option(
            "--scheduler", metavar="ADDRESS",
            help="Hash the files on this Dask cluster (tcp://host:8786); the workers read them "
            "(a shared folder or a URL). Writes a sharded index.",
        )(command)  # fmt: skip
        command = click.option(
            "--workers", type=click.IntRange(min=0), default=0, show_default=True,
            help="Worker processes; 0 means one per core.",
        )(command)  # fmt: skip
        command = click.option(
            "-q", "--quiet", is_flag=True, help="No progress bar and no summary on stderr."
        )(command)
        command = click.option(
            "-o", "--output", required=True, type=click.Path(), help=output_help
        )(command)
        return click.argument("directory", callback=_source)(command)

    return decorate


_PSEUDONYMIZE = click.option(
    "--pseudonymize", "keyfile", type=click.Path(dir_okay=False), metavar="KEYFILE",
    help="Store each record's name (root/path) as HMAC-SHA-256 under this key (32+ bytes, "
    "e.g. `head -c 32 /dev/urandom > key`): a sharded index without names. "
    "`index reveal` maps pseudonyms back with the key.",
)  # fmt: skip


@index.command("build", epilog=EPILOG)
@_index_arguments("The index to create: a SQLite file, or a directory with --sharded.")
@click.option("--sharded", is_flag=True, help="A sharded index (a directory), for archives.")
@_PSEUDONYMIZE
def index_build(
    directory: str,
    output: str,
    workers: int,
    scheduler: str | None,
    task_files: int,
    sharded: bool,
    keyfile: str | None,
    quiet: bool,
) -> None:
    """Scan DIRECTORY and store its images' hashes in a new index. DIRECTORY may be an fsspec
    URL (s3://bucket/prefix; s3fs reads AWS_ENDPOINT_URL and the usual AWS credentials)."""
    _fill(directory, output, True, workers, sharded, (scheduler, task_files), keyfile, quiet)


@index.command("add", epilog=EPILOG)
@_index_arguments("The existing index to append to.")
@_PSEUDONYMIZE
def index_add(
    directory: str,
    output: str,
    workers: int,
    scheduler: str | None,
    task_files: int,
    keyfile: str | None,
    quiet: bool,
) -> None:
    """Scan DIRECTORY and append its images to an existing index. SQLite: the same path is
    replaced; sharded: a new shard is appended and the old ones are never rewritten. A
    pseudonymised index takes rows only under its own key (--pseudonymize)."""
    _fill(directory, output, False, workers, False, (scheduler, task_files), keyfile, quiet)


@index.command("verify", epilog=EPILOG)
@click.argument("index_path", metavar="INDEX", type=click.Path(exists=True, file_okay=False))
def index_verify(index_path: str) -> None:
    """Check every shard of a sharded index against its manifest (SHA-256 of each file, row
    counts); each damaged shard is named. Exit 1 when any is damaged."""
    from kyctriage.errors import KyctriageError
    from kyctriage.match import shards

    def action() -> None:
        problems = shards.verify(index_path)
        for line in problems:
            stderr().print(f"kyctriage: damaged: {line}")
        if problems:
            raise KyctriageError(f"{index_path}: {len(problems)} problem(s); do not use it")
        count = len(shards.read_manifest(index_path)[1])
        stderr().print(f"{index_path}: {count} shards, all whole")

    run(action)


@index.command("upgrade", epilog=EPILOG)
@click.argument("sqlite_path", metavar="SQLITE", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(), help="The sharded index.")
def index_upgrade(sqlite_path: str, output: str) -> None:
    """Convert a SQLite index into a new sharded index (the SQLite file is left as it is)."""
    from kyctriage.match import shards

    def action() -> None:
        check_outputs({"-o": output}, [sqlite_path], folders=["-o"])
        if Path(output).exists():
            raise UsageError(f"{output} exists")
        written = shards.build(output, reference_index.load(sqlite_path))
        stderr().print(f"upgraded {written} rows; {output}")

    run(action)


@index.command("reveal", epilog=EPILOG)
@click.argument("index_path", metavar="INDEX", type=click.Path(exists=True, file_okay=False))
@click.argument("report", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "keyfile", required=True, type=click.Path(dir_okay=False),
              help="The key the index was pseudonymised with.")  # fmt: skip
@click.option("--names", required=True, type=click.Path(dir_okay=False),
              help="The key holder's list of record names, one a line, as the index was "
              "built (root/path: `find DIRECTORY -type f` for the DIRECTORY given to "
              "`index build`).")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the CSV here instead of stdout.")  # fmt: skip
def index_reveal(
    index_path: str, report: str, keyfile: str, names: str, output: str | None
) -> None:
    """Name the affected records of a compare REPORT (`compare --json`) made against a
    pseudonymised INDEX: for the key holder only. An HMAC cannot be inverted, so each name of
    the list is hashed under the key and looked up. CSV: pseudonym, name (empty when not in
    the list), sha256, best match, leaked as."""
    from kyctriage.match import pseudonyms, shards

    def action() -> None:
        if output:
            check_outputs({"-o": output}, [index_path, report, names])
        key = pseudonyms.load_key(keyfile)
        recorded = shards.read_manifest(index_path)[0].get("pseudonyms")
        if recorded is None:
            raise UsageError(f"{index_path} is not pseudonymised: its report names the records")
        pseudonyms.check_key(recorded, key, index_path)
        affected = pseudonyms.affected_of(report)
        named = pseudonyms.reveal(key, pseudonyms.read_names(names), [a[0] for a in affected])
        rows: list[list[object]] = [
            [p, named.get(p, ""), sha, best, leaked] for p, sha, best, leaked in affected
        ]
        text = render_rows(["pseudonym", "name", "sha256", "best_match", "leaked_as"], rows)
        if output:
            write_atomic(output, text)
        else:
            click.echo(text, nl=False)
        stderr().print(
            f"named {len(named)} of {len(affected)} affected records; "
            f"{len(affected) - len(named)} not in {visible(names)}"
        )

    run(action)
