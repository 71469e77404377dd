"""End-to-end CLI: help for every command, exit codes, files written only on success."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from PIL import Image

from kyctriage.cli.main import main


def _commands(group: click.Group, prefix=()):
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_every_command_has_help():
    runner = CliRunner()
    for path, command in [((), main), *_commands(main)]:
        assert command.help, f"{' '.join(path)} has no help text"
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.output


def test_scan_writes_json_and_exits_zero(corpus, tmp_path, validate_report):
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["scan", str(corpus), "--json", str(out), "-q"])
    assert result.exit_code == 0, result.output
    data = validate_report(json.loads(out.read_text()))
    assert data["meta"]["roots"] == [str(corpus)]
    assert not list(tmp_path.glob(".report.json.*"))  # no temporary left behind


def test_broken_files_are_records_not_failures(tmp_path, validate_report):
    (tmp_path / "fake.jpg").write_text("hello, I am text")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "trunc.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    out = tmp_path.parent / f"{tmp_path.name}.json"
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "--json", str(out), "-q"])
    assert result.exit_code == 0
    records = {r["path"]: r for r in validate_report(json.loads(out.read_text()))["records"]}
    assert records["fake.jpg"]["error"] == "not an image: content is text (named .jpg)"
    assert records["empty.jpg"]["error"] == "not an image: content is empty (named .jpg)"
    assert records["trunc.jpg"]["status"] == "error"


@pytest.mark.parametrize(
    "args",
    [["scan"], ["scan", "/nonexistent/path"], ["scan", ".", "--workers", "-1"], ["nope"]],
)
def test_usage_errors_exit_two(args):
    assert CliRunner().invoke(main, args).exit_code == 2


def test_unwritable_report_is_fatal_exit_one(tmp_path):
    (tmp_path / "in").mkdir()
    target = tmp_path / "no" / "such" / "dir" / "r.json"
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "in"), "--json", str(target), "-q"])
    assert result.exit_code == 1
    assert "kyctriage: error" in result.output


def test_the_progress_bar_names_its_stage_and_shows_one_stage_at_a_time() -> None:
    """The description is plain text (the console prints without markup: a "[style]" in it
    showed as text), and a new stage hides the one before."""
    from rich.console import Console

    from kyctriage.cli.common import PROGRESS_MIN_FILES, ProgressBar

    bar = ProgressBar(quiet=False)
    with bar:
        bar.update(1, PROGRESS_MIN_FILES - 1)  # a handful of files: no bar
        assert bar.bar is None
        bar.staged("scanning the leak", 16, 100)
        bar.staged("checking candidates", 32, 64)
        assert bar.bar is not None
        shown = [t for t in bar.bar.tasks if t.visible]
        assert [(t.description, t.completed, t.total) for t in shown] == [
            ("checking candidates", 32, 64)
        ]
        console = Console(record=True, width=120, color_system=None)
        console.print(bar.bar.make_tasks_table(bar.bar.tasks))
        text = console.export_text()
    assert "checking candidates" in text and "32/64" in text
    assert "[" not in text and "scanning the leak" not in text


def test_index_build_and_add_say_nothing_with_quiet(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(folder / "a.jpg")
    runner = CliRunner()
    out = tmp_path / "ref.db"
    loud = runner.invoke(main, ["index", "build", str(folder), "-o", str(out), "--workers", "1"])
    assert loud.exit_code == 0 and "indexed 1 images" in loud.stderr
    done = runner.invoke(
        main, ["index", "add", str(folder), "-o", str(out), "-q", "--workers", "1"]
    )
    assert done.exit_code == 0 and done.stderr == ""
