"""``radassure user``, ``token`` and ``audit``: accounts, API tokens, the audit trail.

These commands run on the server by whoever administers it, so they act as the
system (with every permission), recorded in the audit trail as
``cli:<login name>``. ``cli/main.py`` registers the three sub-applications.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from radassure.cli.main import JsonOpt, _print_json, _store, handled, out
from radassure.services.audit import EXPORT_FORMATS, export, verify
from radassure.services.auth import (
    ROLES,
    Actor,
    add_user,
    create_token,
    disable_user,
    enable_user,
    list_tokens,
    list_users,
    revoke_token,
    set_password,
    system_actor,
)

__all__ = ["audit_app", "token_app", "user_app"]

user_app = typer.Typer(help="Manage the people who sign in to the web app.", no_args_is_help=True)
token_app = typer.Typer(
    help="Manage API tokens for scripts and other systems.", no_args_is_help=True
)
audit_app = typer.Typer(
    help="Check and export the tamper-evident audit trail.", no_args_is_help=True
)

_ADDRESS = "cli"
RoleOpt = Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")]
StdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input (for scripts).",
    ),
]


def _actor() -> Actor:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # containers may run as a uid without a passwd entry
        login = "unknown"
    return system_actor(f"cli:{login}")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@user_app.command("add")
@handled
def user_add(
    username: Annotated[str, typer.Argument(help="Login name (stored in lower case).")],
    role: RoleOpt,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Add a user; the password is asked for twice, hidden (or read from stdin)."""
    password = _password(password_stdin)
    st = _store()
    try:
        user = add_user(st, _actor(), username, password, role, display_name=name, address=_ADDRESS)
    finally:
        st.dispose()
    out.print(f"Added {user.username} ({user.display_name}) as {user.role}.")


@user_app.command("list")
@handled
def user_list(json_out: JsonOpt = False) -> None:
    """List users, their roles and whether they can sign in."""
    st = _store()
    try:
        users = list_users(st, _actor())
    finally:
        st.dispose()
    if json_out:
        _print_json([u.to_dict() for u in users])
        return
    table = Table("username", "name", "role", "active", "locked until", "failed sign-ins")
    for u in users:
        locked = f"{u.locked_until:%Y-%m-%d %H:%M} UTC" if u.locked_until else ""
        table.add_row(
            u.username,
            u.display_name,
            u.role,
            "yes" if u.active else "no",
            locked,
            str(u.failed_attempts),
        )
    out.print(table)


@user_app.command("disable")
@handled
def user_disable(username: str) -> None:
    """Stop a user signing in, end their sessions and stop their tokens."""
    st = _store()
    try:
        user = disable_user(st, _actor(), username, address=_ADDRESS)
    finally:
        st.dispose()
    out.print(f"Disabled {user.username}; their sessions were ended.")


@user_app.command("enable")
@handled
def user_enable(username: str) -> None:
    """Let a disabled user sign in again (also clears a sign-in lock)."""
    st = _store()
    try:
        user = enable_user(st, _actor(), username, address=_ADDRESS)
    finally:
        st.dispose()
    out.print(f"Enabled {user.username}.")


@user_app.command("password")
@handled
def user_password(username: str, password_stdin: StdinOpt = False) -> None:
    """Set a user's password (clears a sign-in lock and ends their sessions)."""
    password = _password(password_stdin)
    st = _store()
    try:
        user = set_password(st, _actor(), username, password, address=_ADDRESS)
    finally:
        st.dispose()
    out.print(f"Set the password of {user.username}; their sessions were ended.")


@token_app.command("create")
@handled
def token_create(
    name: Annotated[str, typer.Argument(help="A name for the token, e.g. pacs-bridge.")],
    user: Annotated[str, typer.Option("--user", help="The user the token acts for.")],
    role: Annotated[
        str | None, typer.Option("--role", help="A narrower role (default: the user's).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an API token and print it once: it cannot be shown again."""
    st = _store()
    try:
        new = create_token(st, _actor(), name, user, role=role, address=_ADDRESS)
    finally:
        st.dispose()
    if json_out:
        _print_json({"name": new.name, "user": new.username, "role": new.role, "token": new.token})
        return
    out.print(f"Created token {new.name} for {new.username} ({new.role}):")
    print(new.token)  # plain print: no wrapping or markup around a secret to copy
    out.print("Store it now in a secret store; radassure keeps only its hash.")


@token_app.command("revoke")
@handled
def token_revoke(name: str) -> None:
    """Revoke a token for good."""
    st = _store()
    try:
        info = revoke_token(st, _actor(), name, address=_ADDRESS)
    finally:
        st.dispose()
    out.print(f"Revoked token {info.name} ({info.prefix}...).")


@token_app.command("list")
@handled
def token_list(json_out: JsonOpt = False) -> None:
    """List tokens (names and prefixes only; tokens are never shown again)."""
    st = _store()
    try:
        tokens = list_tokens(st, _actor())
    finally:
        st.dispose()
    if json_out:
        _print_json([t.to_dict() for t in tokens])
        return
    table = Table("name", "user", "role", "prefix", "created", "last used", "state")
    for t in tokens:
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        state = "active" if t.active else f"revoked {t.revoked_at:%Y-%m-%d}"
        table.add_row(
            t.name, t.username, t.role, t.prefix + "...", f"{t.created_at:%Y-%m-%d}", used, state
        )
    out.print(table)


@audit_app.command("verify")
@handled
def audit_verify(json_out: JsonOpt = False) -> None:
    """Recompute the hash chain; exit 1 naming the first broken event."""
    st = _store()
    try:
        report = verify(st)
    finally:
        st.dispose()
    if json_out:
        _print_json(report.to_dict())
    else:
        out.print(report.message, highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("export")
@handled
def audit_export(
    fmt: Annotated[
        str, typer.Option("--format", help=f"One of: {', '.join(EXPORT_FORMATS)}.")
    ] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", help="File to write (default: standard output).")
    ] = None,
) -> None:
    """Export every event with its hashes, so the chain can be checked elsewhere."""
    st = _store()
    try:
        lines = export(st, _actor(), fmt, address=_ADDRESS)
        if output is None:
            sys.stdout.writelines(lines)
            return
        # Owner-only: the trail names people and their addresses.
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.writelines(lines)
    finally:
        st.dispose()
    out.print(f"Wrote the audit trail to {output}.", highlight=False)
