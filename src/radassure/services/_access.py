"""Who may do what: roles, the declared permission table, and the acting principal.

Every service that changes something takes an :class:`Actor` and calls
:func:`require` itself, so no front (CLI, API, page) can forget a check.
"""

from __future__ import annotations

from dataclasses import dataclass

from radassure.db.security import ROLES
from radassure.errors import PermissionDeniedError

__all__ = [
    "PERMISSIONS",
    "PERMISSION_DESCRIPTIONS",
    "ROLES",
    "Actor",
    "AuthenticationError",
    "permissions_of",
    "require",
    "system_actor",
]

_ALL = frozenset(ROLES)

#: Permission name -> the roles allowed it. The single source of truth: pages
#: hide what a role may not do by asking :meth:`Actor.can`, services refuse it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "registry.read": _ALL,
    "registry.write": frozenset({"admin", "clinical_lead"}),
    "ingest": frozenset({"admin", "clinical_lead"}),
    "review.write": frozenset({"clinical_lead", "reporter"}),
    "adjudicate": frozenset({"clinical_lead"}),
    "audit.read": frozenset({"admin", "auditor"}),  # issue 6: the trail is for auditors and admins
    "users.manage": frozenset({"admin"}),
    "runs.read": _ALL,
    "runs.write": frozenset({"admin", "clinical_lead"}),
    "summary.read": _ALL,
    "monitoring.read": _ALL,
    "monitoring.write": frozenset({"admin", "clinical_lead"}),
}

#: What each permission lets one do, for messages and documentation.
PERMISSION_DESCRIPTIONS: dict[str, str] = {
    "registry.read": "read the registry of tools, versions and sites",
    "registry.write": "register or change tools, versions, claims and sites",
    "ingest": "load studies, AI results, references and reviews",
    "review.write": "record agreement with or override of AI results",
    "adjudicate": "adjudicate discrepancies and set consensus references",
    "audit.read": "read and export the audit trail",
    "users.manage": "add, disable and change users and API tokens",
    "runs.read": "read validation, equity and monitoring runs",
    "runs.write": "start validation, equity and monitoring runs",
    "summary.read": "read dashboards and summaries",
    "monitoring.read": "read monitoring rules, charts and alerts",
    "monitoring.write": "add monitoring rules, run monitoring and acknowledge or resolve alerts",
}


class AuthenticationError(PermissionDeniedError):
    """Sign-in failed, or a session or token is missing, expired or revoked.

    A subclass of :class:`~radassure.errors.PermissionDeniedError` so existing
    handlers treat it as a refusal, with HTTP status 401 (sign in again)
    rather than 403 (signed in, but not allowed).
    """

    http_status = 401


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, an API token, or the system itself.

    Attributes
    ----------
    name : str
        Username, token name, or a system label such as ``cli:alice``; this
        is what the audit trail records.
    kind : str
        ``user``, ``token`` or ``system``.
    role : str
        The role whose permissions apply (a token's own, narrower role).
    user_id : int or None
        The user behind a user or token actor; None for the system.
    permissions : frozenset of str
        Permissions granted (for a token: those of both its role and its user's).

    Examples
    --------
    >>> a = Actor("ann", "user", "viewer", 1, permissions_of("viewer"))
    >>> a.can("registry.read"), a.can("registry.write")
    (True, False)

    """

    name: str
    kind: str
    role: str
    user_id: int | None
    permissions: frozenset[str]

    def can(self, permission: str) -> bool:
        """Return True when this actor holds ``permission`` (unknown names raise)."""
        _known(permission)
        return permission in self.permissions


def _known(permission: str) -> None:
    if permission not in PERMISSIONS:
        raise ValueError(
            f"Unknown permission {permission!r}; the declared permissions are: "
            f"{', '.join(sorted(PERMISSIONS))}."
        )


def permissions_of(role: str) -> frozenset[str]:
    """Return the permissions of ``role``.

    Examples
    --------
    >>> sorted(permissions_of("auditor"))
    ['audit.read', 'monitoring.read', 'registry.read', 'runs.read', 'summary.read']

    """
    if role not in ROLES:
        raise ValueError(f"Role {role!r} is not one of: {', '.join(ROLES)}.")
    return frozenset(p for p, roles in PERMISSIONS.items() if role in roles)


def system_actor(name: str = "system") -> Actor:
    """Return the actor for local administration (the CLI run on the server).

    Whoever can run the CLI on the server can already read the database and
    the site secret, so the CLI acts with every permission; ``name`` (e.g.
    ``cli:alice``) still names them in the audit trail.

    Examples
    --------
    >>> system_actor("cli:alice").can("users.manage")
    True

    """
    return Actor(name, "system", "admin", None, frozenset(PERMISSIONS))


def require(actor: Actor, permission: str) -> None:
    """Raise :class:`~radassure.errors.PermissionDeniedError` unless ``actor`` may.

    Raises
    ------
    ValueError
        ``permission`` is not a declared permission (a programming error).
    PermissionDeniedError
        The actor's role does not hold it; the message names the actor, the
        permission and the roles that hold it.

    Examples
    --------
    >>> require(system_actor(), "audit.read")
    >>> viewer = Actor("vic", "user", "viewer", 2, permissions_of("viewer"))
    >>> require(viewer, "review.write")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    radassure.errors.PermissionDeniedError: vic (viewer) may not record agreement with ...

    """
    if actor.can(permission):
        return
    allowed = ", ".join(r for r in ROLES if r in PERMISSIONS[permission])
    via = "token " if actor.kind == "token" else ""
    raise PermissionDeniedError(
        f"{via}{actor.name} ({actor.role}) may not {PERMISSION_DESCRIPTIONS[permission]} "
        f"(permission {permission!r}); roles that may: {allowed}. Ask an administrator "
        "if your role should change."
    )
