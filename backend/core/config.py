"""Settings (pydantic-settings, prefix JINGPIN_). Nothing needs configuring on one machine."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JINGPIN_", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None
    secret_key: str | None = None
    env: Literal["dev", "production", "test"] = "dev"
    base_url: str = "http://127.0.0.1:8000"
    # Throttling of failed logins (per account and per address) within the window.
    login_max_failures: int = 5
    login_window_seconds: int = 900
    session_hours: int = 12
    token_hours: int = 12
    upload_max_bytes: int = 20 * 1024 * 1024
    # Key-encryption key for private keys at rest; generated into the data dir on init if unset.
    kek: str | None = None
    ca_root_passphrase: str | None = None
    external_tsa_url: str | None = None
    converter_instances: int = Field(default=0, description="0 = one per core")
    converter_timeout_seconds: float = 30.0
    converter_max_queue: int = 32
    converter_restart_after: int = 200
    # Start the LibreOffice pool when the app starts (false: on the first conversion; tests).
    converter_warm_start: bool = True
    # Tagged PDF (a structure tree for screen readers). Off by default: pyHanko's difference
    # analysis walks the structure tree of every signed revision, which makes verifying a
    # three-signature agreement ~3x slower (BENCHMARKS.md); the text stays extractable anyway.
    pdf_tagged: bool = False
    # Verification worker pool (backend.verification.worker): processes (0 = one per core), seconds
    # per file before the worker is killed and replaced, address-space limit per worker.
    verify_workers: int = 0
    verify_timeout_seconds: float = 30.0
    verify_memory_mb: int = 1536
    # Blob store: `local` (<data_dir>/blobs) or `s3` (any S3-compatible bucket, shared by hosts;
    # credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, boto3's usual chain).
    store: Literal["local", "s3"] = "local"
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    # A local copy of the blobs this host wrote or read (<data_dir>/blob-cache): never stale,
    # since a blob never changes under its sha256; delete the folder to reclaim the space.
    s3_cache: bool = True
    # Several app hosts: the CA's files (certificates, index, CRL number, KEK-wrapped keys) are
    # kept in the database, each host's <data_dir>/ca is a copy (backend.pki.shared).
    ca_shared: bool = False
    # Jobs: `inline` (run in this process after the commit) or `postgres` (procrastinate on the
    # PostgreSQL database; `jingpin worker` processes run them).
    queue: Literal["inline", "postgres"] = "inline"
    # Logs: `text` (readable on a console) or `json` (one object per line with the request id,
    # for a log collector; `jingpin serve` and `jingpin worker`).
    log_format: Literal["text", "json"] = "text"
    # E-mail (SMTP). No host: nothing is sent (notifications stay on the site and in the outbox).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "noreply@jingpin.local"
    smtp_from_name: str = "微短剧精品创作传播计划"
    smtp_timeout_seconds: float = 30.0
    # Reminders (daily job): pending signatures older than this many days; 推进表 filings due
    # within this many days (and overdue ones); the hour (Beijing time) the job runs.
    remind_signature_after_days: int = 3
    remind_filing_days_before: int = 3
    remind_hour: int = 9
    # 推进表: a filing is late this many days after its half-month ended (home-page reminder).
    progress_filing_late_days: int = 3

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'jingpin.sqlite3').resolve()}"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def secret(self, name: str) -> str:
        """A secret from the environment or, failing that, the file under the data dir."""
        explicit = getattr(self, name, None)
        if explicit:
            return str(explicit)
        path = self.data_dir / "secrets" / name
        if path.exists():
            return path.read_text().strip()
        raise RuntimeError(f"secret {name} missing: run `jingpin init` first")

    def ensure_secrets(self) -> None:
        """Generate missing secrets into the data dir (0600), once."""
        folder = self.data_dir / "secrets"
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        for name in ("secret_key", "kek", "ca_root_passphrase"):
            path = folder / name
            if getattr(self, name, None) or path.exists():
                continue
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)


@lru_cache
def get_settings() -> Settings:
    return Settings()
