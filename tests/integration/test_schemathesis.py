"""Fuzz every operation of the OpenAPI schema, signed in as an admin: no server error (5xx).

schemathesis (4.x) generates requests from the app's own ``/openapi.json`` and
sends them in-process over ASGI. Each operation is fuzzed with valid requests
whose parameters are all generated (mostly unknown tools and ids: the 404 and
422 paths), with valid requests whose path parameters are the seeded
registry's real names (bodies against a real tool, version, run and user), and
with invalid requests (negative mode: wrong types, out-of-range values). The
operations come from the schema at run time, so routes added later are
covered without changing this test.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error

from radassure.api import create_app
from radassure.config import Settings
from radassure.services import (
    Store,
    add_site,
    add_tool,
    add_version,
    ingest_records,
    init_store,
    open_store,
)
from radassure.services.auth import system_actor
from radassure.services.validation import run_validation

#: Examples per operation and mode: enough to reach each route's branches, few
#: enough that the whole schema takes well under a minute on a shared 2-core machine.
MAX_EXAMPLES = 25
N = 30


def _seed(store: Store) -> dict[str, str]:
    """A site, a tool with a version, studies, results, references and one run."""
    actor = system_actor("test")
    add_site(store, "RXH01", "Royal Example", actor=actor)
    add_tool(store, name="ChestScan", manufacturer="Acme", task="classification", actor=actor)
    add_version(store, "ChestScan", "2.0", operating_threshold=0.5, actor=actor)
    ingest_records(store, "studies", [
        {"patient_id": f"P{i}", "study_id": f"S{i}", "site": "RXH01",
         "acquired_at": "2026-01-10T09:30:00", "modality": "DX", "sex": "FM"[i % 2],
         "age": 30 + i}
        for i in range(N)
    ], actor=actor)  # fmt: skip
    ingest_records(store, "results", [
        {"tool": "ChestScan", "version": "2.0", "study_id": f"S{i}", "finding": "pneumothorax",
         "score": (i % 10) / 10}
        for i in range(N)
    ], actor=actor)  # fmt: skip
    ingest_records(store, "references", [
        {"study_id": f"S{i}", "finding": "pneumothorax", "label": int(i % 10 >= 4),
         "source": "report"}
        for i in range(N)
    ], actor=actor)  # fmt: skip
    run = run_validation(store, "ChestScan", "2.0", actor=actor)
    # Values for path parameters by name; parameters not named here are generated.
    return {
        "name": "ChestScan",
        "tool": "ChestScan",
        "version": "2.0",
        "run_id": str(run.id),
        "code": "RXH01",
        "kind": "studies",
        "username": "admin-user",
    }


@pytest.fixture
def fuzz_target(
    tmp_path: Path, auth_headers: Callable[..., dict[str, str]]
) -> Iterator[tuple[Any, dict[str, str], dict[str, str]]]:
    settings = Settings(home=tmp_path / "home")
    init_store(settings)
    store = open_store(settings)
    try:
        known = _seed(store)
    finally:
        store.dispose()
    headers = auth_headers(settings, role="admin")
    app = create_app(settings)
    yield app, headers, known


def _fuzz(
    operation: Any,
    headers: dict[str, str],
    path_parameters: dict[str, str],
    mode: schemathesis.GenerationMode,
) -> None:
    strategy = operation.as_strategy(mode, path_parameters=path_parameters or None)

    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,  # the same requests on every run: a failure reproduces
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error], headers=headers)

    run()


def test_no_operation_answers_a_server_error(
    fuzz_target: tuple[Any, dict[str, str], dict[str, str]],
) -> None:
    app, headers, known = fuzz_target
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    labels: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
        names = [p.name for p in operation.path_parameters]
        fixed = {n: known[n] for n in names if n in known}
        # Valid requests with generated and with real path parameters, then invalid
        # ones (wrong types, out-of-range values): each must be refused, never crash.
        runs = [(schemathesis.GenerationMode.POSITIVE, {})]
        if fixed:
            runs.append((schemathesis.GenerationMode.POSITIVE, fixed))
        runs.append((schemathesis.GenerationMode.NEGATIVE, fixed))
        for mode, path_parameters in runs:
            try:
                _fuzz(operation, headers, path_parameters, mode)
            except Unsatisfiable:
                # Negative mode on an operation with nothing to get wrong (no
                # parameters or body left to generate): there is no invalid request.
                assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
            except Exception as exc:  # collect every failing operation, then report all
                where = (
                    f"{operation.label} ({mode.value}) with "
                    f"{path_parameters or 'generated parameters'}"
                )
                detail = "".join(traceback.format_exception_only(exc)).strip()
                failures.append(f"{where}:\n{detail[:3000]}")
    # The schema holds the routes that exist now (registry, ingestion, runs at least).
    assert {"POST /api/tools", "POST /api/ingest/{kind}", "GET /api/runs/{run_id}"} <= set(
        labels
    ), labels
    assert not failures, "\n\n".join(failures)
