"""Settings: the one place radassure reads its environment.

Every field is read from an environment variable with the prefix ``RADASSURE_``
(for example ``RADASSURE_DATABASE_URL``) or from a ``.env`` file in the working
directory. Library functions never read settings; the CLI, API and pages do and
pass values down as parameters.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """radassure's settings, one documented field each.

    Examples
    --------
    >>> s = Settings(home=Path("/tmp/ra-doc"))
    >>> s.resolved_database_url()
    'sqlite:////tmp/ra-doc/radassure.db'

    """

    model_config = SettingsConfigDict(env_prefix="RADASSURE_", env_file=".env", extra="ignore")

    home: Path = Field(
        default=Path("./radassure-data"),
        description="Folder holding the default SQLite database and the site secret file.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database. Default: a SQLite file 'radassure.db' in `home`. "
            "For PostgreSQL: postgresql+psycopg://user@host:5432/dbname."
        ),
    )
    secret_file: Path | None = Field(
        default=None,
        description=(
            "File holding the site secret used to pseudonymise patient and study identifiers "
            "(HMAC-SHA256). Default: `home`/site-secret.key, created with mode 0600 by "
            "`radassure init`. Keep it safe: the same identifiers give the same keys only "
            "with the same secret."
        ),
    )
    site_secret: str | None = Field(
        default=None,
        description=(
            "The site secret itself (hex), overriding `secret_file`; for containers that "
            "inject secrets through the environment."
        ),
        repr=False,
    )
    host: str = Field(default="127.0.0.1", description="Address `radassure serve` listens on.")
    port: int = Field(default=8000, description="Port `radassure serve` listens on.")
    ingest_batch_rows: int = Field(
        default=20_000,
        ge=100,
        description="Rows validated and written per batch during ingestion (bounds memory).",
    )
    ingest_max_problems: int = Field(
        default=50,
        ge=1,
        description="Most problems listed when a file is rejected.",
    )
    cookie_secure: bool = Field(
        default=False,
        description=(
            "Mark the sign-in cookies Secure (sent over HTTPS only) even when the request "
            "reaches radassure over plain HTTP, as behind a reverse proxy that ends TLS. "
            "Requests made over HTTPS always get Secure cookies."
        ),
    )

    # -- monitoring alerts: where `radassure monitor run` delivers new alerts
    monitor_webhook_url: str | None = Field(
        default=None,
        description=(
            "URL that receives each new monitoring alert as an HTTP POST of JSON (e.g. a "
            "Teams or Slack incoming webhook relay). Unset: no webhook delivery."
        ),
    )
    monitor_webhook_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds to wait for the webhook to answer before the attempt fails.",
    )
    monitor_delivery_tries: int = Field(
        default=3,
        ge=1,
        le=10,
        description=(
            "Attempts per alert and channel within one monitoring run; a delivery still "
            "failing is tried again by the next run, and never sent again once delivered."
        ),
    )
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server for alert e-mails. Unset: no e-mail delivery.",
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_starttls: bool = Field(
        default=False,
        description="Upgrade the SMTP connection with STARTTLS before sending (and logging in).",
    )
    smtp_username: str | None = Field(
        default=None, description="SMTP login name, when the server needs one."
    )
    smtp_password: str | None = Field(
        default=None, description="SMTP password for `smtp_username`.", repr=False
    )
    smtp_from: str = Field(
        default="radassure@localhost",
        description="Sender address of alert e-mails.",
    )
    alert_recipients: str = Field(
        default="",
        description=(
            "Comma-separated e-mail addresses that receive monitoring alerts, e.g. "
            "'ai-lead@trust.nhs.uk, pacs-team@trust.nhs.uk'. Empty: no e-mail delivery."
        ),
    )
    public_url: str | None = Field(
        default=None,
        description=(
            "Address people use to reach this radassure, e.g. https://radassure.trust.nhs.uk; "
            "alert messages link to the alert there. Unset: messages give the path only."
        ),
    )

    def resolved_database_url(self) -> str:
        """Return the database URL, defaulting to the SQLite file in ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'radassure.db').as_posix()}"

    def resolved_secret_file(self) -> Path:
        """Return the path of the site secret file."""
        return self.secret_file if self.secret_file is not None else self.home / "site-secret.key"


def get_settings() -> Settings:
    """Read settings from the environment (and ``.env``)."""
    return Settings()
