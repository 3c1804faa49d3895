"""Each package re-exports its public names with a sorted, accurate ``__all__``."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import radassure

PACKAGES = [
    *sorted(
        name
        for _, name, is_pkg in pkgutil.walk_packages(radassure.__path__, "radassure.")
        if is_pkg and ".migrations" not in name
    ),
    "radassure",
    "radassure.errors",
    "radassure.config",
]


def _isort_key(name: str) -> tuple[int, str]:
    # The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions.
    if name.isupper() or (name.upper() == name and "_" in name):
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert list(exported) == sorted(exported, key=_isort_key), f"{name}.__all__ is not sorted"
    assert len(set(exported)) == len(exported)
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names missing {attr}"


def test_core_imports_only_numpy_and_scipy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, radassure.core; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'sqlalchemy','pydantic','fastapi','pandas','sklearn','jinja2','typer'}); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
