"""Alert delivery against a real local SMTP server (aiosmtpd) and HTTP server (http.server)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from _monitoring_data import ACTOR, BASELINE, FINDING, TOOL, VERSION, seed
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from radassure.services import Store, monitoring
from radassure.services.monitoring import DeliveryConfig


class _Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Any] = []

    def handle_message(self, message: Any) -> None:
        self.messages.append(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    fail: ClassVar[bool] = False

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).fail:
            self.send_response(503)
            self.end_headers()
            return
        type(self).received.append(
            {"json": json.loads(body), "alert": self.headers["X-Radassure-Alert"]}
        )
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": [], "fail": False})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    finally:
        server.shutdown()
        server.server_close()


def test_alerts_go_out_by_email_and_webhook_once_and_failures_are_retried(
    sqlite_store: Store,
    smtp: tuple[int, _Inbox],
    webhook: tuple[str, type[_Hook]],
) -> None:
    store = sqlite_store
    seed(store)
    monitoring.add_rule(
        store,
        ACTOR,
        TOOL,
        VERSION,
        FINDING,
        baseline_start=BASELINE[0],
        baseline_end=BASELINE[1],
        attributes=("site",),
    )
    port, inbox = smtp
    url, hook = webhook
    cfg = DeliveryConfig(
        webhook_url=url,
        webhook_timeout=5,
        tries=2,
        smtp_host="127.0.0.1",
        smtp_port=port,
        recipients=("ai-lead@example.org",),
        public_url="https://radassure.example.org",
    )
    hook.fail = True  # the webhook is down during the first run
    first = monitoring.run_monitor(store, ACTOR, delivery=cfg)
    n = len(first.new_alerts)
    assert n >= 1
    assert first.deliveries_sent == n and first.deliveries_failed == n
    assert len(inbox.messages) == n and hook.received == []
    label = next(a for a in first.new_alerts if a.kind == "label-based")
    mail = next(m for m in inbox.messages if m["X-Radassure-Alert"] == str(label.id))
    text = mail.get_payload(decode=True).decode("utf-8")
    for part in (
        TOOL,
        VERSION,
        label.key,
        str(label.day),
        f"{label.statistic:.3g}",
        f"https://radassure.example.org/tools/{TOOL}/monitoring#alert-{label.id}",
    ):
        assert part in text, part
    assert mail["To"] == "ai-lead@example.org"
    stored = monitoring.get_alert(store, ACTOR, label.id)
    web = next(d for d in stored.deliveries if d["channel"] == "webhook")
    assert web["status"] == "failed" and web["attempts"] == 2 and "503" in web["last_error"]
    assert stored.delivered_at is None
    # The webhook is back: the next run (with no new day) retries it; e-mail is not re-sent.
    hook.fail = False
    second = monitoring.run_monitor(store, ACTOR, delivery=cfg)
    assert second.new_alerts == () and second.deliveries_sent == n
    assert len(inbox.messages) == n
    assert sorted(int(r["alert"]) for r in hook.received) == sorted(a.id for a in first.new_alerts)
    body = next(r["json"] for r in hook.received if r["json"]["alert_id"] == label.id)
    assert body["tool"] == TOOL and body["chart"] == label.key and body["day"] == str(label.day)
    assert monitoring.get_alert(store, ACTOR, label.id).delivered_at is not None
    # Delivered everywhere: a third run sends nothing.
    third = monitoring.run_monitor(store, ACTOR, delivery=cfg)
    assert third.deliveries_sent == 0 and len(inbox.messages) == n and len(hook.received) == n


def test_unreachable_smtp_server_is_recorded_not_raised(sqlite_store: Store) -> None:
    seed(sqlite_store)
    monitoring.add_rule(
        sqlite_store,
        ACTOR,
        TOOL,
        VERSION,
        FINDING,
        baseline_start=BASELINE[0],
        baseline_end=BASELINE[1],
    )
    cfg = DeliveryConfig(
        smtp_host="127.0.0.1",
        smtp_port=_free_port(),
        tries=1,
        recipients=("x@example.org",),
        webhook_timeout=2,
    )
    summary = monitoring.run_monitor(sqlite_store, ACTOR, delivery=cfg)
    assert summary.deliveries_failed == len(summary.new_alerts) > 0
    alert = monitoring.get_alert(sqlite_store, ACTOR, summary.new_alerts[0].id)
    assert alert.deliveries[0]["status"] == "failed"
    assert "ConnectionRefusedError" in alert.deliveries[0]["last_error"]
