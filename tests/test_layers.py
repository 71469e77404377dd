"""The floor plan: every import inside kyctriage points down the stack, never up."""

from __future__ import annotations

import ast
from pathlib import Path

import kyctriage

PACKAGE = Path(kyctriage.__file__).parent

# From the bottom (records and errors) to the top (the command line). A module may import
# its own layer or a lower one.
LAYERS = (
    (
        "kyctriage.errors",
        "kyctriage.model",
        "kyctriage.aspect",
        "kyctriage.regions",
        "kyctriage.untrusted",
    ),
    ("kyctriage.serialise",),
    ("kyctriage.probes", "kyctriage.watermark"),
    ("kyctriage.attribution",),
    ("kyctriage.match",),
    ("kyctriage.scanning",),
    ("kyctriage.distributed",),
    ("kyctriage.render",),
    ("kyctriage.demo",),
    ("kyctriage.api",),
    ("kyctriage.cli", "kyctriage.__main__"),
)


def layer(module: str) -> int:
    for rank, names in enumerate(LAYERS):
        if any(module == name or module.startswith(name + ".") for name in names):
            return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST) -> set[str]:
    """Every kyctriage module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kyctriage"):
            assert node.level == 0, "imports inside the package are absolute"
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                sub = PACKAGE.parent / Path(*candidate.split("."))
                is_module = sub.with_suffix(".py").is_file() or sub.is_dir()
                found.add(candidate if is_module else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("kyctriage"))
    return found - {"kyctriage"}  # the package itself: its version, and the lazy front door


def test_every_import_points_down_the_stack() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if name == "kyctriage":
            continue
        found = imported(ast.parse(path.read_text(encoding="utf-8")))
        upward += [f"{name} -> {t}" for t in sorted(found) if layer(t) > layer(name)]
    assert upward == []


def test_every_module_is_in_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        if module_name(path) != "kyctriage":
            layer(module_name(path))


def test_renderers_are_imported_only_by_the_command_line() -> None:
    """Renderers format a finished Report: the library (the front door included) never needs
    one, so a caller gets records, not text."""
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if name.startswith(("kyctriage.render", "kyctriage.cli")) or name == "kyctriage":
            continue
        found = imported(ast.parse(path.read_text(encoding="utf-8")))
        assert not any(t.startswith("kyctriage.render") for t in found), name
