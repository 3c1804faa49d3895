"""Every route needs the permission the declared table names, and only that one.

The table (``radassure.api.permissions.ROUTE_PERMISSIONS``) and the app's routes
must be the same set; then every role, and anonymous callers, ask every route of
a small seeded store. Runs on SQLite and on PostgreSQL (the ``store`` fixture).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from radassure import web
from radassure.api import create_app, deps
from radassure.api.handlers import is_api_path
from radassure.api.permissions import ROUTE_PERMISSIONS
from radassure.config import Settings
from radassure.services import Store, add_site, add_tool, add_version, auth, ingest_records
from radassure.services.auth import system_actor
from radassure.services.validation import run_validation

N = 30
#: The password tests/conftest.py gives the users of ``auth_headers``.
TEST_PASSWORD = "correct horse battery staple"


def _app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path template) the app answers: API, pages, docs and /static."""
    found: set[tuple[str, str]] = set()
    for path, operations in app.openapi()["paths"].items():
        found |= {(method.upper(), path) for method in operations}
    pages = web.build_router(
        store_dependency=deps.get_store, actor_dependency=deps.authorized_actor
    )
    monitoring_pages = web.build_monitoring_router(
        store_dependency=deps.get_store, actor_dependency=deps.authorized_actor,
        form_actor_dependency=deps.authorized_actor,
    )  # fmt: skip
    oversight_pages = web.build_oversight_router(
        store_dependency=deps.get_store, actor_dependency=deps.authorized_actor
    )
    admin_pages = web.build_admin_router(
        store_dependency=deps.get_store, actor_dependency=deps.authorized_actor
    )
    top_level = [r for r in app.routes if isinstance(r, Route | Mount)]
    for route in [
        *pages.routes, *monitoring_pages.routes, *oversight_pages.routes, *admin_pages.routes,
        *top_level,
    ]:  # fmt: skip
        if isinstance(route, Mount):
            found.add(("GET", f"{route.path}/{{path}}"))
        elif isinstance(route, APIRoute | Route):
            found |= {(m, route.path_format) for m in route.methods or () if m != "HEAD"}
    return found


def _seed(store: Store) -> int:
    """A site, ChestScan 2.0 with a little data, and one validation run; return its id."""
    add_site(store, "RXH01", "Royal Example", actor=system_actor("test"))
    add_tool(
        store,
        name="ChestScan",
        manufacturer="Acme",
        task="classification",
        actor=system_actor("test"),
    )
    add_version(store, "ChestScan", "2.0", operating_threshold=0.5, actor=system_actor("test"))
    when = "2026-01-10T09:30:00"
    ingest_records(store, "studies", [
        {"patient_id": f"P{i}", "study_id": f"S{i}", "site": "RXH01", "acquired_at": when,
         "modality": "DX", "sex": "FM"[i % 2], "age": 30 + i}
        for i in range(N)
    ], actor=system_actor("test"))  # fmt: skip
    ingest_records(store, "results", [
        {"tool": "ChestScan", "version": "2.0", "study_id": f"S{i}", "finding": "pneumothorax",
         "score": (i % 10) / 10}
        for i in range(N)
    ], actor=system_actor("test"))  # fmt: skip
    ingest_records(store, "references", [
        {"study_id": f"S{i}", "finding": "pneumothorax", "label": int(i % 10 >= 4),
         "source": "report"}
        for i in range(N)
    ], actor=system_actor("test"))  # fmt: skip
    return run_validation(store, "ChestScan", "2.0", actor=system_actor("test")).id


@pytest.fixture
def seeded(
    store: Store, settings: Settings, auth_headers: Callable[..., dict[str, str]]
) -> Iterator[tuple[TestClient, int, dict[str, dict[str, str]]]]:
    run_id = _seed(store)
    headers = {role: auth_headers(settings, role) for role in auth.ROLES}
    with TestClient(create_app(settings)) as client:
        yield client, run_id, headers


def _form_token(client: TestClient) -> str:
    page = client.get("/signin")
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def _ask(
    client: TestClient, method: str, template: str, run_id: int, headers: dict[str, str]
) -> Any:
    values = {"name": "ChestScan", "version": "2.0", "run_id": str(run_id), "kind": "studies",
              "path": "radassure.css", "alert_id": "1",
              # oversight and administration: ids and names that do not exist (404, no change)
              "tool": "ChestScan", "review_id": "999999", "username": "nobody"}  # fmt: skip
    url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
    client.cookies.clear()
    if method == "GET":
        return client.get(url, headers=headers, follow_redirects=False)
    data: dict[str, Any] | None = None
    if template == "/signin":
        data = {"username": "nobody", "password": "wrong", "csrf_token": _form_token(client)}
    if template in ("/signin", "/signout"):
        return client.post(url, data=data, headers=headers, follow_redirects=False)
    return client.post(url, json={}, headers=headers, follow_redirects=False)


def _sent_to_signin(response: Any) -> bool:
    location = str(response.headers.get("location", ""))
    return bool(response.status_code == 303 and location.startswith("/signin?next="))


def test_every_route_is_in_the_table_and_no_other(settings: Settings) -> None:
    app = create_app(settings)
    routes = _app_routes(app)
    assert routes == set(ROUTE_PERMISSIONS), (
        f"missing from the table: {sorted(routes - set(ROUTE_PERMISSIONS))}; "
        f"in the table but not routes: {sorted(set(ROUTE_PERMISSIONS) - routes)}"
    )
    assert set(ROUTE_PERMISSIONS.values()) - {None} <= set(auth.PERMISSIONS)
    public = {key for key, permission in ROUTE_PERMISSIONS.items() if permission is None}
    assert {k for k in public if not k[1].startswith("/docs") and k[1] != "/redoc"} == {
        ("GET", "/health"), ("GET", "/signin"), ("POST", "/signin"), ("POST", "/signout"),
        ("GET", "/static/{path}"), ("GET", "/openapi.json"),
    }  # fmt: skip


def test_each_role_reaches_exactly_the_routes_its_permissions_allow(
    seeded: tuple[TestClient, int, dict[str, dict[str, str]]],
) -> None:
    client, run_id, headers = seeded
    wrong: list[str] = []
    for (method, template), permission in sorted(ROUTE_PERMISSIONS.items()):
        for role in auth.ROLES:
            response = _ask(client, method, template, run_id, headers[role])
            allowed = permission is None or role in auth.PERMISSIONS[permission]
            if allowed:
                ok = response.status_code not in (401, 403) and not _sent_to_signin(response)
            else:
                ok = response.status_code == 403
            if not ok:
                wrong.append(f"{role} {method} {template}: {response.status_code} {response.text}")
    assert not wrong, "\n".join(wrong)


def test_anonymous_callers_get_401_from_the_api_and_the_signin_page_elsewhere(
    seeded: tuple[TestClient, int, dict[str, dict[str, str]]],
) -> None:
    client, run_id, _ = seeded
    for (method, template), permission in sorted(ROUTE_PERMISSIONS.items()):
        response = _ask(client, method, template, run_id, {})
        where = f"{method} {template}: {response.status_code} {response.text[:200]}"
        if permission is None:
            assert response.status_code < 400, where
            assert not _sent_to_signin(response), where
        elif is_api_path(template):
            assert response.status_code == 401, where
            assert response.json()["error"] == "AuthenticationError", where
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert _sent_to_signin(response), where


def test_bad_tokens_and_schemes_are_refused(
    seeded: tuple[TestClient, int, dict[str, dict[str, str]]],
) -> None:
    client, _, headers = seeded
    for value in ("Bearer nonsense", "Basic YWRtaW46eA==", "Bearer "):
        response = client.get("/api/tools", headers={"Authorization": value})
        assert response.status_code == 401, value
    assert client.get("/api/tools", headers=headers["viewer"]).status_code == 200


def _sign_in(client: TestClient, username: str, password: str, next_url: str) -> Any:
    token = _form_token(client)
    return client.post(
        "/signin",
        data={"username": username, "password": password, "csrf_token": token, "next": next_url},
        follow_redirects=False,
    )


def test_sign_in_session_csrf_and_sign_out(
    seeded: tuple[TestClient, int, dict[str, dict[str, str]]],
) -> None:
    client, _, _ = seeded  # the users exist: admin-user, clinical-lead-user, ...
    client.cookies.clear()
    away = client.get("/tools/ChestScan?tab=1", follow_redirects=False)
    assert away.headers["location"] == "/signin?next=%2Ftools%2FChestScan%3Ftab%3D1"
    # The form's token is bound to its pre-session cookie.
    _form_token(client)
    forged = client.post(
        "/signin", data={"username": "admin-user", "password": TEST_PASSWORD, "csrf_token": "x"}
    )
    assert forged.status_code == 403 and "expired" in forged.text, forged.text
    signed = _sign_in(client, "Admin-User", TEST_PASSWORD, "/tools/ChestScan?tab=1")
    assert signed.status_code == 303, signed.text
    assert signed.headers["location"] == "/tools/ChestScan?tab=1"
    cookie = next(c for c in signed.headers.get_list("set-cookie") if c.startswith("ra_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    page = client.get("/tools/ChestScan")
    assert page.status_code == 200 and "Signed in as <strong>admin-user</strong>" in page.text
    signout_form = r'action="/signout">\s*<input type="hidden" name="csrf_token" value="([^"]+)"'
    found = re.search(signout_form, page.text)
    assert found is not None
    csrf = found.group(1)
    # A cookie-signed change needs the session's CSRF token in a header.
    site = {"code": "RXH02", "name": "Second"}
    assert client.post("/api/sites", json=site).status_code == 403
    done = client.post("/api/sites", json=site, headers={deps.CSRF_HEADER: csrf})
    assert done.status_code == 201, done.text
    # Sign-out needs the token too; then the session is gone.
    assert client.post("/signout", data={"csrf_token": "wrong"}).status_code == 403
    out = client.post("/signout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert _sent_to_signin(client.get("/tools", follow_redirects=False))


def test_failed_sign_ins_and_lock_out_are_shown_plainly(
    seeded: tuple[TestClient, int, dict[str, dict[str, str]]],
) -> None:
    client, _, _ = seeded
    client.cookies.clear()
    bad = _sign_in(client, "viewer-user", "not the password", "/tools")
    assert bad.status_code == 200 and "The username or password is not correct." in bad.text
    assert "ra_session" not in client.cookies
    for _ in range(auth.MAX_FAILURES - 1):
        last = _sign_in(client, "viewer-user", "not the password", "/tools")
    assert "locked until" in last.text
    locked = _sign_in(client, "viewer-user", TEST_PASSWORD, "/tools")
    assert locked.status_code == 200 and "locked until" in locked.text
    # An open redirect is refused: next is always a path on this site.
    good = _sign_in(client, "admin-user", TEST_PASSWORD, "//evil.example/")
    assert good.status_code == 303 and good.headers["location"] == "/tools"


def test_cookies_are_secure_over_https_or_when_configured(
    store: Store, settings: Settings, auth_headers: Callable[..., dict[str, str]]
) -> None:
    auth_headers(settings, "viewer")  # adds viewer-user
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        signed = _sign_in(client, "viewer-user", TEST_PASSWORD, "/sites")
        assert signed.status_code == 303, signed.text
        cookie = next(c for c in signed.headers.get_list("set-cookie") if "ra_session=" in c)
        assert "Secure" in cookie and "HttpOnly" in cookie
    # Behind a proxy that ends TLS the app sees http: the setting marks cookies Secure.
    behind_proxy = settings.model_copy(update={"cookie_secure": True})
    with TestClient(create_app(behind_proxy)) as client:
        cookie = client.get("/signin").headers["set-cookie"]
        assert cookie.startswith(f"{web.CSRF_COOKIE}=") and "Secure" in cookie
