"""Shared fixtures: the real-camera corpus beside the checkout, and the committed samples."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "exif-samples"
SAMPLES = ROOT / "samples"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not beside the checkout ({CORPUS})")
    return CORPUS


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def validate_report():
    """Validate a report (JSON data) against the schema shipped in the package."""
    import json
    from importlib import resources

    import jsonschema

    schema_text = resources.files("kyctriage.render").joinpath("schema/report.schema.json")
    schema = json.loads(schema_text.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)

    def check(data: dict) -> dict:
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
        return data

    return check
