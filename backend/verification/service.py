"""Verification for people and programs: the worker pool, the registry, the system seal and the
result cache the report downloads are made from."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

from fastapi import UploadFile
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from backend.core.config import get_settings
from backend.core.db import get_engine, utcnow
from backend.core.errors import JingpinError, NotFound, ValidationFailed
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
    return get_verification_pool().verify(data, trust_roots=roots, crls=crls, at=at)


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
def _cache_dir() -> Path:
    return get_settings().data_dir / "verification-results"


def _cache_path(file_sha256: str, suffix: str) -> Path:
    if len(file_sha256) != 64 or any(c not in "0123456789abcdef" for c in file_sha256):
        raise NotFound("未找到该验证结果", code="verification_result_not_found")
    return _cache_dir() / f"{file_sha256}{suffix}"


def remember(result: VerificationResult, data: bytes | None = None) -> None:
    """Keep the latest result for a file (a cache for the downloads, not a record: content-
    addressed by the file's sha256, overwritten by the next verification of the same file)."""
    folder = _cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = _cache_path(result.file_sha256, ".json")
    tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
    tmp.replace(path)
    _cache_path(result.file_sha256, ".pdf").unlink(missing_ok=True)
    if data is not None and result.indication == "TOTAL_FAILED":
        # The failed file itself, for the report's visual diff (content-addressed like the rest).
        source = _cache_path(result.file_sha256, ".source")
        if not source.exists():
            tmp = source.with_suffix(f".{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(source)


def recall(file_sha256: str) -> VerificationResult:
    """The remembered result (404 when there is none, or only one in an older form)."""
    path = _cache_path(file_sha256, ".json")
    try:
        return VerificationResult.model_validate_json(path.read_bytes())
    except (FileNotFoundError, ValidationError):
        raise NotFound(
            "未找到该文件的验证结果，请重新上传验证", code="verification_result_not_found"
        ) from None


def report_pdf(file_sha256: str) -> bytes:
    """The sealed PDF report for a remembered result (rendered once, then cached)."""
    result = recall(file_sha256)
    path = _cache_path(file_sha256, ".pdf")
    if path.exists():
        return path.read_bytes()
    source = _cache_path(file_sha256, ".source")
    document = source.read_bytes() if source.exists() else None
    pdf = render_sealed_report(result.model_dump(mode="json"), document)
    tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
    tmp.write_bytes(pdf)
    tmp.replace(path)
    return pdf


# --------------------------------------------------------------------------- uploads
class PayloadTooLarge(JingpinError):
    status_code = 413
    code = "file_too_large"


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
    session: Session, data: bytes, filename: str | None, at: dt.datetime | None = None
) -> VerificationResult:
    """Verify in the worker pool without holding the request's database transaction (on SQLite
    a writing request holds the write lock), then look the file up in the registry."""
    session.commit()
    report = await run_in_threadpool(verify_in_pool, data, at)
    with Session(get_engine()) as reader:
        result = await run_in_threadpool(result_body, reader, report, data, filename)
    await run_in_threadpool(remember, result, data)
    return result
