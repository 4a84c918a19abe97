"""Process settings: the environment variables of PRODUCT.md "Configuration".

Only the variables PRODUCT.md names are needed to deploy. The ``DEVEX_*``
ones are tunables with production defaults that tests shorten (write pacing,
polling and scheduler intervals).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///devex-bot.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    github_app_id: Optional[str] = Field(default=None, alias="GITHUB_APP_ID")
    github_private_key: Optional[str] = Field(default=None, alias="GITHUB_PRIVATE_KEY", repr=False)
    github_private_key_path: Optional[Path] = Field(default=None, alias="GITHUB_PRIVATE_KEY_PATH")
    github_webhook_secret: Optional[str] = Field(default=None, alias="GITHUB_WEBHOOK_SECRET", repr=False)
    github_api_url: str = Field(default="https://api.github.com", alias="GITHUB_API_URL")
    database_url: str = Field(default=DEFAULT_DATABASE_URL, alias="DATABASE_URL")
    host: str = Field(default="0.0.0.0", alias="HOST")
    port: int = Field(default=3000, alias="PORT")
    # Where the board is reached from outside, for absolute links in feeds and JSON.
    public_url: Optional[str] = Field(default=None, alias="DEVEX_PUBLIC_URL")
    # The bidder's desk: the App's user authorization (OAuth web flow); off without them
    # (and without DEVEX_SECRET_KEY, which signs its sessions and cross-site tokens).
    github_client_id: Optional[str] = Field(default=None, alias="GITHUB_CLIENT_ID")
    github_client_secret: Optional[str] = Field(default=None, alias="GITHUB_CLIENT_SECRET", repr=False)
    github_web_url: str = Field(default="https://github.com", alias="GITHUB_WEB_URL")

    # At least a second between writes to one installation (GitHub's secondary limits).
    write_interval: float = Field(default=1.0, alias="DEVEX_WRITE_INTERVAL")
    # How long a create sent to GitHub blocks its queue before a crash is assumed
    # (longer than a GitHub call can take: the client's timeout is 15 s).
    create_lease: float = Field(default=60.0, alias="DEVEX_CREATE_LEASE")
    # How often an idle worker looks for deliveries and the sender for writes.
    poll_interval: float = Field(default=0.5, alias="DEVEX_POLL_INTERVAL")
    # How often the scheduler looks for deadlines passed and payments overdue.
    scheduler_interval: float = Field(default=30.0, alias="DEVEX_SCHEDULER_INTERVAL")
    # Backoff after a failed GitHub write or delivery: base * 2**attempt, capped.
    retry_base: float = Field(default=2.0, alias="DEVEX_RETRY_BASE")
    retry_cap: float = Field(default=900.0, alias="DEVEX_RETRY_CAP")
    # A delivery that fails this many times is parked as failed (kept, never lost);
    # GitHub being down or rate limiting does not count: such deliveries wait for it.
    max_delivery_attempts: int = Field(default=8, alias="DEVEX_MAX_DELIVERY_ATTEMPTS")
    # How long a cached `.github/devex.yml` is trusted when no push told us otherwise.
    config_ttl: float = Field(default=300.0, alias="DEVEX_CONFIG_TTL")
    # How often missed deliveries are looked for and asked again of GitHub (0: never).
    recovery_interval: float = Field(default=300.0, alias="DEVEX_RECOVERY_INTERVAL")
    # How long a client may take to send a request's line and headers (and an idle
    # connection may stay open), and its body: `devex-bot serve` closes it after.
    http_header_timeout: float = Field(default=10.0, alias="DEVEX_HTTP_HEADER_TIMEOUT")
    http_body_timeout: float = Field(default=30.0, alias="DEVEX_HTTP_BODY_TIMEOUT")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    # How long a desk form waits for the worker to record it before showing "being recorded".
    desk_wait: float = Field(default=5.0, alias="DEVEX_DESK_WAIT")
    # Desk forms one person may send a minute (bids, withdrawals, registrations).
    desk_rate: int = Field(default=10, alias="DEVEX_DESK_RATE")

    # Alerts (PRODUCT.md "Alerts"): off without SMTP_URL.
    public_url: Optional[str] = Field(default=None, alias="DEVEX_PUBLIC_URL")
    secret_key: Optional[str] = Field(default=None, alias="DEVEX_SECRET_KEY", repr=False)
    smtp_url: Optional[str] = Field(default=None, alias="SMTP_URL", repr=False)
    mail_from: Optional[str] = Field(default=None, alias="DEVEX_MAIL_FROM")
    # How often the mailer looks for messages due, how long a message it is sending
    # stays its own (longer than an SMTP exchange can take), and the backoff after an
    # SMTP failure: base * 2**attempt, capped.
    mail_interval: float = Field(default=5.0, alias="DEVEX_MAIL_INTERVAL")
    mail_lease: float = Field(default=300.0, alias="DEVEX_MAIL_LEASE")
    mail_retry_base: float = Field(default=30.0, alias="DEVEX_MAIL_RETRY_BASE")
    mail_retry_cap: float = Field(default=3600.0, alias="DEVEX_MAIL_RETRY_CAP")

    @model_validator(mode="after")
    def _read_key_file(self) -> "Settings":
        if not self.github_private_key and self.github_private_key_path:
            self.github_private_key = Path(self.github_private_key_path).read_text()
        if self.smtp_url and len(self.secret_key or "") < 16:
            raise ValueError("DEVEX_SECRET_KEY (at least 16 characters) is required when SMTP_URL turns alerts on")
        return self

    @property
    def desk_enabled(self) -> bool:
        """The desk needs the App's client id and secret, and a key to sign sessions."""
        return bool(self.github_client_id and self.github_client_secret and self.secret_key)

    @property
    def desk_base(self) -> Optional[str]:
        """The board's public address when the desk is on, for links to it in messages."""
        return self.public_url.rstrip("/") if self.desk_enabled and self.public_url else None

    @property
    def alerts_on(self) -> bool:
        return bool(self.smtp_url and self.secret_key)

    @property
    def public_base(self) -> str:
        """Where the board is reached from outside, without a trailing slash."""
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")

    @property
    def webhook_secret_bytes(self) -> bytes:
        return (self.github_webhook_secret or "").encode()
