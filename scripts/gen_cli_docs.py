"""Write docs/cli.md from the CLI itself (a test checks the file is current).

Usage: .venv/bin/python scripts/gen_cli_docs.py > docs/cli.md
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click
import typer

from radassure.cli.main import app


def walk(c: Any, path: list[str], ctx: click.Context) -> Iterator[tuple[list[str], Any]]:
    if hasattr(c, "list_commands"):
        for name in c.list_commands(ctx):
            sub = c.get_command(ctx, name)
            yield from walk(sub, [*path, name], click.Context(sub, parent=ctx, info_name=name))
    else:
        yield path, c


def render() -> str:
    """Return the markdown reference of every command."""
    root = typer.main.get_command(app)
    ctx = click.Context(root, info_name="radassure")
    out = [
        "# Command-line reference",
        "",
        "Every command answers `--help`. The global option `--home DIR` (before the command)",
        "chooses the installation folder; otherwise `RADASSURE_HOME` or `./radassure-data`.",
        "Exit status: 0 success, 1 a refused request (unknown tool, wrong state, not",
        "initialised), 2 bad input or arguments (a rejected file lists every problem).",
        "",
    ]
    for path, c in walk(root, ["radassure"], ctx):
        out.append(f"## `{' '.join(path)}`\n")
        out.append((c.help or "").strip().replace("\n\n", "\n\n") + "\n")
        rows = []
        for p in c.params:
            if p.name == "help":
                continue
            if p.param_type_name == "argument":
                rows.append(f"| `{p.name.upper()}` | argument | {getattr(p, 'help', '') or ''} |")
            else:
                rows.append(f"| `{', '.join(p.opts)}` | option | {p.help or ''} |")
        if rows:
            out.append("| name | kind | meaning |\n|---|---|---|")
            out.extend(rows)
            out.append("")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
