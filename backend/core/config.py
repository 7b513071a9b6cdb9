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
    # A page session unused this long ends (besides the absolute session_hours).
    session_idle_minutes: int = 30
    token_hours: int = 12
    # Request bodies: JSON and forms (default), one uploaded PDF (verification, scans), review
    # attachments (several PDFs in one request). Enforced before the body is read.
    request_max_bytes: int = 1024 * 1024
    upload_max_bytes: int = 20 * 1024 * 1024
    review_upload_max_bytes: int = 64 * 1024 * 1024
    # Key-encryption key for private keys at rest and the root CA's passphrase: from the
    # environment, or a file outside the data dir readable by the owner only (0400/0600 …
    # JINGPIN_KEK_FILE), or — outside production only — generated into <data dir>/secrets on
    # init. In production the files in the data dir are refused (production_key_problems).
    kek: str | None = None
    kek_file: Path | None = None
    ca_root_passphrase: str | None = None
    ca_root_passphrase_file: Path | None = None
    # The issuing CA's key in a PKCS#11 token (signing/pkcs11_key.py), e.g. SoftHSM2's
    # /usr/lib/softhsm/libsofthsm2.so; unset: the key is in the CA's encrypted key store.
    pkcs11_lib: str | None = None
    pkcs11_token: str | None = None
    pkcs11_pin: str | None = None
    pkcs11_issuing_key_label: str = "jingpin-issuing-ca"
    external_tsa_url: str | None = None
    # Crypto profile (密码算法配置): intl = ECDSA P-256 / SHA-256, gm = SM2 / SM3 / SM4 (国密),
    # dual = both. Organisations may override it (organisations.crypto_profile).
    crypto_profile: Literal["intl", "gm", "dual"] = "intl"
    # The open RFC 3161 service at POST /tsa: a bearer token it requires (unset: open to all) and
    # how many requests one client address may make per minute.
    tsa_token: str | None = None
    tsa_rate_per_minute: int = 60
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
    # With JINGPIN_QUEUE=postgres: uploads of at least this many bytes are verified by a `verify`
    # worker and the page polls for the result (0 = every upload); smaller ones in the request.
    verify_queue_min_bytes: int = Field(default=2 * 1024 * 1024, ge=0)
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
    # Signed audit checkpoints (审计检查点): after this many new events or minutes, whichever
    # comes first (checked when a transaction that wrote events commits), and on every export.
    audit_checkpoint_events: int = Field(default=100, ge=1)
    audit_checkpoint_minutes: int = Field(default=60, ge=1)
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
        """A secret from the environment, its _file setting, or (not in production) the file
        under the data dir."""
        explicit = getattr(self, name, None)
        if explicit:
            return str(explicit)
        external = getattr(self, f"{name}_file", None)
        if external:
            return Path(external).read_text().strip()
        path = self.data_dir / "secrets" / name
        if path.exists() and not (self.is_production and name in KEY_SECRETS):
            return path.read_text().strip()
        raise RuntimeError(f"secret {name} missing: run `jingpin init` first")

    def ensure_secrets(self) -> None:
        """Generate missing secrets into the data dir (0600), once. In production the KEK and
        the root passphrase are never generated there: they must come from outside."""
        folder = self.data_dir / "secrets"
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        for name in ("secret_key", "kek", "ca_root_passphrase"):
            path = folder / name
            if getattr(self, name, None) or getattr(self, f"{name}_file", None) or path.exists():
                continue
            if self.is_production and name in KEY_SECRETS:
                continue
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)

    def production_key_problems(self) -> list[str]:
        """Why production must not start with these key sources (empty: fine). The KEK and the
        root passphrase must not sit in the data dir beside the keys they protect."""
        if not self.is_production:
            return []
        problems = []
        data = self.data_dir.resolve()
        for name, label in (("kek", "密钥加密密钥（KEK）"), ("ca_root_passphrase", "根证书口令")):
            env = f"JINGPIN_{name.upper()}"
            if (self.data_dir / "secrets" / name).exists():
                problems.append(
                    f"{label}保存在数据目录中（{self.data_dir / 'secrets' / name}）：生产环境拒绝"
                    f"启动。请移到数据目录之外，用 {env} 或 {env}_FILE（权限 0400）提供"
                )
            file = getattr(self, f"{name}_file", None)
            if file is not None:
                path = Path(file).resolve()
                if path.is_relative_to(data):
                    problems.append(f"{env}_FILE 指向数据目录内的文件：请放到数据目录之外")
                elif not path.is_file():
                    problems.append(f"{env}_FILE 指向的文件不存在")
                elif path.stat().st_mode & 0o077:
                    problems.append(f"{env}_FILE 的权限过宽：只允许属主读取（chmod 0400）")
            elif not getattr(self, name, None) and name == "kek":
                problems.append(f"缺少{label}：请用 {env}、{env}_FILE 提供")
        if self.pkcs11_lib and not (self.pkcs11_token and self.pkcs11_pin):
            problems.append(
                "已设置 JINGPIN_PKCS11_LIB，但缺少 JINGPIN_PKCS11_TOKEN 或 JINGPIN_PKCS11_PIN"
            )
        return problems


KEY_SECRETS = ("kek", "ca_root_passphrase")


@lru_cache
def get_settings() -> Settings:
    return Settings()
