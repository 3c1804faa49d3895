"""Browser tests: Playwright driving Debian's Chromium against the real app under uvicorn.

The app runs in a background thread on a free port over a fresh SQLite store
(users, a tool, a version, studies and AI results added through the services).
A missing Chromium fails the tests with how to install it: nothing is skipped.
On failure each test's screenshot and page HTML go to ``tests/browser/artifacts/``.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from browser._browser import LiveApp, seed
from radassure.api import create_app
from radassure.config import Settings
from radassure.services import _users, init_store, open_store

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveApp]:
    """The real app served by uvicorn in a thread, over a fresh seeded SQLite store."""
    monkeypatch.setattr(_users, "hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    settings = Settings(home=tmp_path / "home")
    init_store(settings)
    store = open_store(settings)
    seed(store)
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    try:
        yield LiveApp(f"http://127.0.0.1:{port}", store)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.dispose()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}; the browser tests need Debian's "
            "package: `apt-get update && apt-get install -y chromium` (.ci/run does this)."
        )
    launched = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--disable-features=IsolateSandboxedIframes", "--no-sandbox"],
    )
    yield launched
    launched.close()


def _save_artifacts(request: pytest.FixtureRequest, page: Page) -> None:
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed or page.is_closed():
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
    page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
    (ARTIFACTS / f"{stem}.html").write_text(page.content(), encoding="utf-8")


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """Return ``make(java_script_enabled=True)``: a page in a fresh context (own cookies).

    On failure every page made is saved (screenshot and HTML) under ``artifacts/``.
    """
    made: list[Page] = []

    def make(*, java_script_enabled: bool = True) -> Page:
        context = browser.new_context(java_script_enabled=java_script_enabled)
        page = context.new_page()
        page.set_default_timeout(15_000)
        made.append(page)
        return page

    yield make
    for page in made:
        _save_artifacts(request, page)
        page.context.close()
