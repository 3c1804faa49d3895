"""Documentation is checked against the code it describes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from radassure.config import Settings
from radassure.ingest import CONTRACTS

ROOT = Path(__file__).resolve().parents[1]


def _table_rows(markdown: str, heading: str) -> dict[str, str]:
    section = markdown.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+) \|", section, flags=re.M)
    return {name: flag.strip() for name, flag in rows}


@pytest.mark.parametrize("kind", sorted(CONTRACTS))
def test_ingest_contract_is_documented_exactly(kind: str) -> None:
    documented = _table_rows((ROOT / "docs" / "ingest.md").read_text(), f"## Columns: {kind}")
    documented.pop("acq_*", None)
    expected = {c.name: "yes" if c.required else "no" for c in CONTRACTS[kind]}
    assert documented == expected


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "settings.md").read_text()
    documented = set(re.findall(r"`RADASSURE_([A-Z_]+)`", text))
    assert documented == {name.upper() for name in Settings.model_fields}
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no description"


def test_readme_starts_with_what_and_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert text.index("make demo") < text.index("make test") < text.index("## Using it")
    assert "radassure is an open-source platform" in text.split("## Two commands")[0]


def test_cli_reference_is_current() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "gen_cli_docs.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    current = (ROOT / "docs" / "cli.md").read_text()
    assert current == gen.render(), (
        "docs/cli.md is out of date: run .venv/bin/python scripts/gen_cli_docs.py > docs/cli.md"
    )
