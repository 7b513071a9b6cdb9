"""Verification for people and programs: the worker pool, the registry, the system seal, the
results the report downloads are made from (database + object store), and the `verify` queue
for large uploads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from backend.auth.models import Role, User
from backend.core import jobs
from backend.core.config import get_settings
from backend.core.db import get_engine, session_scope, utcnow
from backend.core.errors import Conflict, JingpinError, NotFound, ValidationFailed
from backend.core.metrics import VERIFICATIONS
from backend.documents.store import get_store
from backend.pki.service import trust_material
from backend.verification import registry
from backend.verification.models import ResultState, VerificationResultRow
from backend.verification.report import render_sealed_report
from backend.verification.schemas import VerificationReportRead, VerificationResult
from backend.verification.worker import VerificationAborted, get_verification_pool
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


# --------------------------------------------------------------------------- results
# Results are kept per uploader: a result (file name, registry answer, sealed report) belongs to
# whoever verified the file. Knowing a file's hash is not enough to read someone else's result,
# and verifying the same bytes again replaces only one's own. They live in the database (and the
# uploaded file and sealed report in the object store), so every app host serves every result.
RESULT_READERS = (Role.auditor, Role.ministry_officer)


class VerificationPending(Conflict):
    code = "verification_pending"
    message = "该文件正在排队验证，请稍候再查看结果"


def _check_hash(file_sha256: str) -> str:
    if len(file_sha256) != 64 or any(c not in "0123456789abcdef" for c in file_sha256):
        raise _not_found()
    return file_sha256


def _not_found() -> NotFound:
    return NotFound("未找到该文件的验证结果，请重新上传验证", code="verification_result_not_found")


def own_result(session: Session, user_id: int, file_sha256: str) -> VerificationResultRow | None:
    return session.exec(
        select(VerificationResultRow).where(
            VerificationResultRow.user_id == user_id,
            VerificationResultRow.file_sha256 == _check_hash(file_sha256),
        )
    ).first()


def readable_result(session: Session, user: User, file_sha256: str) -> VerificationResultRow:
    """The user's own result for the file; auditors and the ministry may read the latest anyone
    has (404 for everyone else, the same as for no result at all)."""
    own = own_result(session, user.id or 0, file_sha256)
    if own is None and user.role in RESULT_READERS:
        own = session.exec(
            select(VerificationResultRow)
            .where(
                VerificationResultRow.file_sha256 == file_sha256,
                VerificationResultRow.state == ResultState.done.value,
            )
            .order_by(col(VerificationResultRow.updated_at).desc())
        ).first()
    if own is None:
        raise _not_found()
    return own


def _save(session: Session, user_id: int, file_sha256: str, **fields: Any) -> VerificationResultRow:
    """Insert or replace the user's row for the file (two uploads at once: the later wins)."""
    for _ in range(2):
        row = own_result(session, user_id, file_sha256) or VerificationResultRow(
            user_id=user_id, file_sha256=file_sha256
        )
        for name, value in {**fields, "updated_at": utcnow()}.items():
            setattr(row, name, value)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
            return row
        except IntegrityError:  # the same user's other upload inserted it meanwhile
            continue
    raise Conflict("该文件正在验证，请稍候", code="verification_pending")


def remember(
    session: Session, user_id: int, result: VerificationResult, data: bytes | None = None
) -> VerificationResultRow:
    """Keep the user's latest result for a file; a TOTAL_FAILED file itself is kept (object
    store) for the report's visual diff."""
    source = None
    if data is not None and result.indication == "TOTAL_FAILED":
        source = get_store().put(data)
    return _save(
        session,
        user_id,
        result.file_sha256,
        state=ResultState.done.value,
        file_name=result.file_name,
        result_json=result.model_dump_json(),
        error="",
        source_sha256=source,
        report_sha256=None,
    )


def _result_of(row: VerificationResultRow) -> VerificationResult:
    if row.state == ResultState.pending:
        raise VerificationPending()
    if row.state == ResultState.failed:
        raise VerificationAborted(row.error or None)
    try:
        return VerificationResult.model_validate_json(row.result_json or "")
    except ValidationError:  # a result kept in an older form
        raise _not_found() from None


def recall(session: Session, user: User, file_sha256: str) -> VerificationResult:
    """The result the user may read (404 when there is none, 409 while it is queued)."""
    return _result_of(readable_result(session, user, file_sha256))


def report_pdf(session: Session, user: User, file_sha256: str) -> bytes:
    """The sealed PDF report for that result (rendered once, then kept in the object store)."""
    row = readable_result(session, user, file_sha256)
    result = _result_of(row)
    store = get_store()
    if row.report_sha256 and store.exists(row.report_sha256):
        return store.get(row.report_sha256)
    document = None
    if row.source_sha256 and store.exists(row.source_sha256):
        document = store.get(row.source_sha256)
    pdf = render_sealed_report(result.model_dump(mode="json"), document)
    sha = store.put(pdf)
    # Its own short write: the download is a GET (a reading session, no SQLite write lock).
    with session_scope() as writing:
        kept = writing.get(VerificationResultRow, row.id)
        if kept is not None and kept.result_json == row.result_json:
            kept.report_sha256 = sha
            writing.add(kept)
    return pdf


# --------------------------------------------------------------------------- the verify queue
VERIFY_TASK = "verification.verify"  # backend.verification.jobs


def stored_blobs(session: Session) -> set[str]:
    """The uploads and sealed reports results keep in the object store (orphan cleanup)."""
    rows = session.exec(
        select(VerificationResultRow.source_sha256, VerificationResultRow.report_sha256)
    ).all()
    return {sha for pair in rows for sha in pair if sha}


def goes_to_queue(size: int) -> bool:
    """With a job queue (JINGPIN_QUEUE=postgres), uploads of at least ``verify_queue_min_bytes``
    are verified by a `verify` worker; smaller ones, and every upload in the embedded default,
    in the request."""
    return jobs.queue_enabled() and size >= get_settings().verify_queue_min_bytes


def queue_verification(
    session: Session, user: User, data: bytes, filename: str | None, at: dt.datetime | None
) -> tuple[int, str]:
    """Store the file (object store), mark the user's result pending and defer the job, in the
    request's transaction; (job id, file sha256)."""
    sha = get_store().put(data)  # content-addressed: a rollback leaves at most an orphan blob
    row = _save(
        session,
        user.id or 0,
        sha,
        state=ResultState.pending.value,
        file_name=filename,
        verify_at=at,
        result_json=None,
        error="",
        source_sha256=sha,
        report_sha256=None,
    )
    job_id = jobs.defer(
        session,
        VERIFY_TASK,
        actor_id=user.id,
        file_sha256=sha,
        at=at.isoformat() if at else None,
        download_path=f"/api/v1/verify/{sha}/report.json",
    )
    row.job_id = job_id
    session.add(row)
    session.flush()
    assert job_id is not None
    return job_id, sha


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
    await run_in_threadpool(_remember_now, user.id or 0, result, data)
    return result


def _remember_now(user_id: int, result: VerificationResult, data: bytes) -> None:
    with session_scope() as session:
        remember(session, user_id, result, data)
