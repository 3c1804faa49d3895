"""The radassure command line, as a user runs it (SQLite default and PostgreSQL URL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from radassure.cli.main import app

runner = CliRunner()


@pytest.fixture
def cli(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RADASSURE_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    home = str(tmp_path / "home")

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["--home", home, *args])
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_a_department_set_up_from_the_command_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert "Created the site secret" in cli("init")
    assert "Using the existing site secret" in cli("init")
    cli("site", "add", "S1", "--name", "Royal Example")
    cli(
        "tool",
        "add",
        "ChestAI",
        "--manufacturer",
        "Acme",
        "--task",
        "classification",
        "--modality",
        "DX",
        "--marking",
        "UKCA",
        "--device-class",
        "IIa",
    )
    cli("version", "add", "ChestAI", "2.1", "--threshold", "0.5", "--deployed", "2025-03-01")
    cli(
        "version",
        "claim",
        "ChestAI",
        "2.1",
        "sensitivity",
        "0.92",
        "--ci-low",
        "0.89",
        "--ci-high",
        "0.94",
        "--source",
        "IFU",
    )
    cli("tool", "status", "ChestAI", "evaluating", "--reason", "local validation", "--by", "me")
    (tmp_path / "s.csv").write_text(
        "patient_id,study_id,site,acquired_at,modality\n"
        "P1,A1,S1,2025-01-01,DX\nP2,A2,S1,2025-01-02,DX\n"
    )
    (tmp_path / "r.csv").write_text(
        "Algo,Ver,Acc,finding,score\nChestAI,2.1,A1,nodule,0.8\nChestAI,2.1,A2,nodule,0.1\n"
    )
    assert "2 new" in cli("ingest", "studies", "s.csv")
    out = cli(
        "ingest",
        "results",
        "r.csv",
        "--map",
        "Algo=tool",
        "--map",
        "Ver=version",
        "--map",
        "Acc=study_id",
        "--json",
    )
    assert json.loads(out)["inserted"] == 2
    assert "2 already stored" in cli(
        "ingest",
        "results",
        "r.csv",
        "--map",
        "Algo=tool",
        "--map",
        "Ver=version",
        "--map",
        "Acc=study_id",
    )
    shown = json.loads(cli("tool", "show", "ChestAI", "--json"))
    assert shown["status"] == "evaluating" and shown["counts"]["results"] == 2
    assert shown["versions"][0]["claims"][0]["ci_low"] == 0.89
    listed = json.loads(cli("tool", "list", "--json"))
    assert [t["name"] for t in listed] == ["ChestAI"]
    assert "Royal Example" in cli("site", "list")
    assert "ChestAI" in cli("tool", "show", "ChestAI")


def test_errors_are_sentences_not_tracebacks(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = cli("tool", "list", code=1)
    assert "Run `radassure init` first" in out and "Traceback" not in out
    cli("init")
    (tmp_path / "bad.csv").write_text(
        "patient_id,study_id,site,acquired_at,modality\nP1,A1,S9,2025-01-01,DX\n"
    )
    out = cli("ingest", "studies", "bad.csv", code=2)
    assert "bad.csv, row 2, column 'site': site 'S9' is not registered" in out
    result = runner.invoke(app, ["--home", "home", "ingest", "studies", "bad.csv", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["problems"][0]["row"] == 2
    assert "must be studies, results or references" in cli("ingest", "films", "bad.csv", code=2)
    assert "--map 'x' must look like" in cli("ingest", "studies", "bad.csv", "--map", "x", code=2)
    assert "No tool named 'Nope'" in cli("tool", "show", "Nope", code=1)
    assert "not a date" in cli("version", "add", "Nope", "1", "--deployed", "March", code=2)


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["site", "add"],
        ["tool", "add"],
        ["tool", "list"],
        ["tool", "show"],
        ["tool", "status"],
        ["version", "add"],
        ["version", "claim"],
        ["ingest"],
        ["demo"],
        ["serve"],
    ],
)
def test_every_command_explains_itself(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output and len(result.output) > 200
