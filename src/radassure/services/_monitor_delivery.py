"""Delivering alerts: a JSON webhook and plain-text e-mail, retried until sent.

Each (alert, channel) pair has one ``alert_delivery`` row, created pending
with the alert. A run tries every delivery not yet sent a few times
(``monitor_delivery_tries``), recording attempts and the last error; what
still fails is tried by the next run. A delivery marked sent is never sent
again. Marking happens right after the server accepted the message, in its
own transaction; should the process die between the two, the next run sends
once more, so both channels carry the alert id (``X-Radassure-Alert`` header,
``alert_id`` field, e-mail ``Message-ID``) for receivers to drop a duplicate.

No patient identifier is ever in a message: alerts hold only tool, chart,
subgroup (site, scanner, age band ...), day and statistics.
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import select

from radassure.config import Settings
from radassure.db import session_scope
from radassure.db.models import utcnow
from radassure.db.monitoring import Alert, AlertDelivery
from radassure.services._monitor_types import AlertInfo
from radassure.services.store import Store

__all__ = ["DeliveryConfig", "DeliveryOutcome", "deliver_pending", "email_text", "webhook_body"]


@dataclass(frozen=True)
class DeliveryConfig:
    """Where alerts go, from :class:`~radassure.config.Settings`."""

    webhook_url: str | None = None
    webhook_timeout: float = 10.0
    tries: int = 3
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "radassure@localhost"
    recipients: tuple[str, ...] = ()
    public_url: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryConfig:
        """Read the delivery settings.

        Examples
        --------
        >>> from pathlib import Path
        >>> s = Settings(home=Path("/tmp/x"), smtp_host="mail", alert_recipients="a@x, b@x")
        >>> DeliveryConfig.from_settings(s).channels
        ('email',)

        """
        return cls(
            webhook_url=settings.monitor_webhook_url or None,
            webhook_timeout=settings.monitor_webhook_timeout,
            tries=settings.monitor_delivery_tries,
            smtp_host=settings.smtp_host or None,
            smtp_port=settings.smtp_port,
            smtp_starttls=settings.smtp_starttls,
            smtp_username=settings.smtp_username,
            smtp_password=settings.smtp_password,
            smtp_from=settings.smtp_from,
            recipients=tuple(r.strip() for r in settings.alert_recipients.split(",") if r.strip()),
            public_url=settings.public_url,
        )

    @property
    def channels(self) -> tuple[str, ...]:
        """The configured channels, ``webhook`` and/or ``email``."""
        out: list[str] = []
        if self.webhook_url:
            out.append("webhook")
        if self.smtp_host and self.recipients:
            out.append("email")
        return tuple(out)

    def link(self, alert: AlertInfo) -> str:
        """The alert's address in the web app (a path when no public URL is set)."""
        base = (self.public_url or "").rstrip("/")
        return f"{base}{alert.path}"


@dataclass(frozen=True)
class DeliveryOutcome:
    """Deliveries sent and failed by one call of :func:`deliver_pending`."""

    sent: int
    failed: int


def _who(alert: AlertInfo) -> str:
    if alert.attribute and alert.subgroup is not None:
        return f"{alert.attribute} {alert.subgroup}"
    return "all cases"


def webhook_body(alert: AlertInfo, link: str) -> dict[str, object]:
    """Return the JSON body posted for ``alert``.

    Examples
    --------
    >>> import datetime as dt
    >>> a = AlertInfo(7, 1, "T", "1.0", "ptx", "miss:site=A", "label-based", "miss", "site",
    ...               "A", dt.date(2025, 8, 9), 5.1, 4.2, dt.date(2025, 8, 1), "m", "open",
    ...               dt.datetime(2025, 8, 10))
    >>> webhook_body(a, "/tools/T/monitoring#alert-7")["subgroup"]
    'A'

    """
    return {
        "alert_id": alert.id,
        "text": f"radassure alert {alert.id}: {alert.message} {link}",
        "tool": alert.tool,
        "version": alert.version,
        "finding": alert.finding,
        "kind": alert.kind,
        "chart": alert.key,
        "attribute": alert.attribute,
        "subgroup": alert.subgroup,
        "day": alert.day.isoformat(),
        "statistic": alert.statistic,
        "threshold": alert.threshold,
        "change_day": alert.change_day.isoformat() if alert.change_day else None,
        "message": alert.message,
        "link": link,
    }


def email_text(alert: AlertInfo, link: str) -> tuple[str, str]:
    """Return the subject and plain-text body of the e-mail for ``alert``."""
    subject = (
        f"[radassure] {alert.kind} alert: {alert.tool} {alert.version} {alert.finding}, "
        f"{_who(alert)}, {alert.day}"
    )
    stat = "—" if alert.statistic is None else f"{alert.statistic:.3g}"
    limit = "—" if alert.threshold is None else f"{alert.threshold:.3g}"
    lines = [
        f"Alert {alert.id} ({alert.kind}) from radassure monitoring.",
        "",
        f"Tool:       {alert.tool} version {alert.version}",
        f"Finding:    {alert.finding}",
        f"Chart:      {alert.key}",
        f"Subgroup:   {_who(alert)}",
        f"Day:        {alert.day}",
        f"Statistic:  {stat} (threshold {limit})",
        f"Change from: {alert.change_day or 'not estimated'}",
        "",
        alert.message,
        "",
        f"Acknowledge or resolve it at: {link}",
        "",
        "Label-based alerts are the safety signal; early warnings are context only.",
    ]
    return subject, "\n".join(lines) + "\n"


def _send_webhook(cfg: DeliveryConfig, alert: AlertInfo) -> None:
    assert cfg.webhook_url is not None
    data = json.dumps(webhook_body(alert, cfg.link(alert))).encode("utf-8")
    request = urllib.request.Request(
        cfg.webhook_url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "X-Radassure-Alert": str(alert.id)},
    )
    with urllib.request.urlopen(request, timeout=cfg.webhook_timeout) as response:
        if not 200 <= response.status < 300:
            raise OSError(f"the webhook answered HTTP {response.status}")


def _send_email(cfg: DeliveryConfig, alert: AlertInfo) -> None:
    assert cfg.smtp_host is not None
    subject, body = email_text(alert, cfg.link(alert))
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg.smtp_from
    msg["To"] = ", ".join(cfg.recipients)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(idstring=f"radassure-alert-{alert.id}")
    msg["X-Radassure-Alert"] = str(alert.id)
    msg.set_content(body)
    with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.webhook_timeout) as smtp:
        if cfg.smtp_starttls:
            smtp.starttls()
        if cfg.smtp_username:
            smtp.login(cfg.smtp_username, cfg.smtp_password or "")
        smtp.send_message(msg)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    return f"{type(exc).__name__}: {exc}"[:1000]


def deliver_pending(
    store: Store, cfg: DeliveryConfig, alerts: dict[int, AlertInfo]
) -> DeliveryOutcome:
    """Try every delivery not yet sent, whose channel is configured; record the outcome.

    ``alerts`` maps alert ids to their info (for the message text); deliveries
    of alerts not in it are left for a later run.
    """
    with session_scope(store.engine) as s:
        due = [
            (d.id, d.alert_id, d.channel)
            for d in s.scalars(
                select(AlertDelivery)
                .where(AlertDelivery.status != "sent")
                .order_by(AlertDelivery.id)
            )
            if d.channel in cfg.channels and d.alert_id in alerts
        ]
    sent = failed = 0
    for delivery_id, alert_id, channel in due:
        error: str | None = None
        tries = 0
        for _ in range(cfg.tries):
            tries += 1
            try:
                if channel == "webhook":
                    _send_webhook(cfg, alerts[alert_id])
                else:
                    _send_email(cfg, alerts[alert_id])
                error = None
                break
            except (TimeoutError, OSError, smtplib.SMTPException) as exc:
                error = _error_text(exc)
        _record(store, delivery_id, alert_id, error, tries)
        sent += error is None
        failed += error is not None
    return DeliveryOutcome(sent, failed)


def _record(store: Store, delivery_id: int, alert_id: int, error: str | None, tries: int) -> None:
    now = utcnow()
    with session_scope(store.engine) as s:
        d = s.get(AlertDelivery, delivery_id)
        if d is None or d.status == "sent":
            return
        d.attempts += tries
        d.last_attempt_at = now
        if error is None:
            d.status, d.delivered_at, d.last_error = "sent", now, None
        else:
            d.status, d.last_error = "failed", error
        s.flush()
        remaining = s.scalar(
            select(AlertDelivery.id)
            .where(AlertDelivery.alert_id == alert_id, AlertDelivery.status != "sent")
            .limit(1)
        )
        if remaining is None:
            alert = s.get(Alert, alert_id)
            if alert is not None and alert.delivered_at is None:
                alert.delivered_at = now
