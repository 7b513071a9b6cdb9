"""Verification for people and programs: the worker pool, the registry, the system seal and the
result cache the report downloads are made from."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

from fastapi import Request
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from backend.auth.models import Role, User
from backend.core.config import get_settings
from backend.core.db import get_engine, utcnow
from backend.core.errors import JingpinError, NotFound, ValidationFailed
from backend.core.metrics import VERIFICATIONS
from backend.pki.service import trust_material
from backend.verification import registry
from backend.verification.report import render_sealed_report
from backend.verification.schemas import VerificationReportRead, VerificationResult
from backend.verification.worker import get_verification_pool
from signing.verify import VerificationReport, describe_zh


def verify_in_pool(data: bytes, at: dt.datetime | None = None) -> VerificationReport:
    """Blocking: verify in a worker process with our trust anchor and current CRL, at ``at``
    (default now)."""
    roots, crls = trust_material()
    report = get_verification_pool().verify(data, trust_roots=roots, crls=crls, at=at)
    VERIFICATIONS.labels(verdict=report.indication).inc()
    return report


def result_body(
    session: Session, report: VerificationReport, data: bytes, filename: str | None
) -> VerificationResult:
    """The JSON contract of `jingpin verify --json` plus the registry, a Chinese summary and a
    little context (file name, size, time of verification)."""
    return VerificationResult(
        **dict(VerificationReportRead.model_validate(report)),
        registry=registry.lookup_file(session, data, report.file_sha256),
        summary_zh=describe_zh(report),
        file_name=filename,
        file_size=len(data),
        verified_at=utcnow(),
    )


# --------------------------------------------------------------------------- result cache
# Results are kept per uploader: a result (file name, registry answer, sealed report) belongs to
# whoever verified the file. Knowing a file's hash is not enough to read someone else's result,
# and verifying the same bytes again replaces only one's own.
RESULT_READERS = (Role.auditor, Role.ministry_officer)


def _cache_dir() -> Path:
    return get_settings().data_dir / "verification-results"


def _check_hash(file_sha256: str) -> str:
    if len(file_sha256) != 64 or any(c not in "0123456789abcdef" for c in file_sha256):
        raise NotFound("未找到该验证结果", code="verification_result_not_found")
    return file_sha256


def _cache_path(user_id: int, file_sha256: str, suffix: str) -> Path:
    return _cache_dir() / f"u{user_id}" / f"{_check_hash(file_sha256)}{suffix}"


def _not_found() -> NotFound:
    return NotFound("未找到该文件的验证结果，请重新上传验证", code="verification_result_not_found")


def _readable_path(user: User, file_sha256: str) -> Path:
    """The user's own result for the file; auditors and the ministry may read the latest anyone
    has (404 for everyone else, the same as for no result at all)."""
    own = _cache_path(user.id or 0, file_sha256, ".json")
    if own.exists() or user.role not in RESULT_READERS:
        return own
    others = sorted(
        _cache_dir().glob(f"u*/{_check_hash(file_sha256)}.json"), key=lambda p: p.stat().st_mtime
    )
    return others[-1] if others else own


def remember(user: User, result: VerificationResult) -> None:
    """Keep the user's latest result for a file (a cache for the downloads, not a record)."""
    path = _cache_path(user.id or 0, result.file_sha256, ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
    tmp.replace(path)
    path.with_suffix(".pdf").unlink(missing_ok=True)


def _read(path: Path) -> VerificationResult:
    try:
        return VerificationResult.model_validate_json(path.read_bytes())
    except (FileNotFoundError, ValidationError):
        raise _not_found() from None


def recall(user: User, file_sha256: str) -> VerificationResult:
    """The result the user may read (404 when there is none, or only one in an older form)."""
    return _read(_readable_path(user, file_sha256))


def report_pdf(user: User, file_sha256: str) -> bytes:
    """The sealed PDF report for that result (rendered once, then kept beside it)."""
    source = _readable_path(user, file_sha256)
    result = _read(source)
    path = source.with_suffix(".pdf")
    if path.exists():
        return path.read_bytes()
    pdf = render_sealed_report(result.model_dump(mode="json"))
    tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
    tmp.write_bytes(pdf)
    tmp.replace(path)
    return pdf


# --------------------------------------------------------------------------- uploads
class PayloadTooLarge(JingpinError):
    status_code = 413
    code = "file_too_large"


async def form_upload(request: Request, field: str = "file") -> UploadFile:
    """The uploaded file of a multipart form. Called after authentication: the body is read
    only for a signed-in user, within the route's body limit, into a spooled temporary file."""
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get(field)
    if not isinstance(upload, UploadFile):
        raise ValidationFailed("请选择要上传的文件", fields={field: "请选择文件"})
    return upload


async def read_upload(upload: UploadFile) -> bytes:
    """The uploaded bytes, refusing more than ``upload_max_bytes`` (413) and empty files (422)."""
    limit = get_settings().upload_max_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(
            f"文件超过 {limit // (1024 * 1024)} MB 上限", extra={"limit_bytes": limit}
        )
    if not data:
        raise ValidationFailed("文件为空", fields={"file": "文件为空"})
    return data


async def verify_upload(
    session: Session,
    user: User,
    data: bytes,
    filename: str | None,
    at: dt.datetime | None = None,
) -> VerificationResult:
    """Verify in the worker pool without holding the request's database transaction (on SQLite
    a writing request holds the write lock), then look the file up in the registry."""
    session.commit()
    report = await run_in_threadpool(verify_in_pool, data, at)
    with Session(get_engine()) as reader:
        result = await run_in_threadpool(result_body, reader, report, data, filename)
    await run_in_threadpool(remember, user, result)
    return result
