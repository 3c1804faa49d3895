"""`radassure serve` starts a real server that answers pages, JSON and health."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from radassure.config import Settings
from radassure.services import add_tool, init_store, open_store
from radassure.services.auth import system_actor


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_over_http(
    tmp_path: Path, auth_headers: Callable[..., dict[str, str]]
) -> None:
    home = tmp_path / "home"
    settings = Settings(home=home)
    init_store(settings)
    store = open_store(settings)
    add_tool(
        store,
        name="ChestAI",
        manufacturer="Acme",
        task="classification",
        actor=system_actor("test"),
    )
    store.dispose()
    headers = auth_headers(settings)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RADASSURE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "radassure", "--home", str(home), "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "server did not start in 30 s"
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["database"] == "ok"
        assert httpx.get(f"{base}/api/tools", timeout=5).status_code == 401
        page = httpx.get(f"{base}/tools", headers=headers, timeout=5)
        assert page.status_code == 200 and "ChestAI" in page.text
        tools = httpx.get(f"{base}/api/tools", headers=headers, timeout=5).json()
        assert [t["name"] for t in tools] == ["ChestAI"]
        assert "/api/ingest/{kind}" in httpx.get(f"{base}/openapi.json", timeout=5).json()["paths"]
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        if proc.stdout:
            proc.stdout.close()


def test_serve_refuses_an_uninitialised_home(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RADASSURE_")}
    out = subprocess.run(
        [sys.executable, "-m", "radassure", "--home", str(tmp_path / "none"), "serve"],
        check=False, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 1
    assert "Run `radassure init` first" in out.stderr
