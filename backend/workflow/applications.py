"""The producer's application (申报): the 申请书 / 承诺书 scans or online-signed PDFs, the
eligibility check (资格审查) and the submission that freezes a version for the unit.

Deadlines are compared against `now` (aware; defaults to the clock) so tests and the demo can
say when things happen."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, BinaryIO

from sqlmodel import Session, col, select

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.service import require_role
from backend.core.canonical import canonical_json
from backend.core.dates import before, deadline_zh, now_or_clock
from backend.core.db import utcnow
from backend.core.errors import Conflict, NotFound, ValidationFailed
from backend.documents.store import get_store
from backend.documents.uploads import check_pdf, read_upload
from backend.workflow import notifications as notes
from backend.workflow.batches import intake_closed
from backend.workflow.models import (
    ApplicationDocument,
    DocumentSlot,
    ProvidedBy,
    WorkVersion,
)
from backend.works.models import Batch, Work, WorkStatus
from backend.works.schemas import FILING_PATTERN
from backend.works.service import EDITABLE, get_work

_FILING_RE = re.compile(FILING_PATTERN)


def _editable_own_work(session: Session, user: User, work_id: int) -> Work:
    work = get_work(session, user, work_id, for_update=True)  # 404 before 403
    require_role(user, Role.producer, message="只有作品所属的节目制作机构可以提供申报材料")
    if work.status not in EDITABLE:
        raise Conflict(f"作品当前状态为“{work.status.label}”，申报材料已冻结", code="work_frozen")
    return work


def _put_document(
    session: Session,
    user: User,
    work: Work,
    slot: DocumentSlot,
    *,
    provided_by: ProvidedBy,
    sha256: str,
    size: int,
    pages: int,
    filename: str,
    document_id: int | None,
) -> ApplicationDocument:
    row = session.exec(
        select(ApplicationDocument).where(
            ApplicationDocument.work_id == work.id,
            ApplicationDocument.version == work.version,
            ApplicationDocument.slot == slot,
        )
    ).first()
    if row is None:
        row = ApplicationDocument(
            work_id=work.id or 0,
            version=work.version,
            slot=slot,
            provided_by=provided_by,
            sha256=sha256,
            size=size,
        )
    row.provided_by, row.sha256, row.size, row.pages = provided_by, sha256, size, pages
    row.filename, row.document_id, row.created_by, row.created_at = (
        filename[:200],
        document_id,
        user.id,
        utcnow(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=user,
        action=f"work.document.{provided_by.value}",
        object_type="work",
        object_id=work.id,
        payload={
            "slot": slot.value,
            "version": work.version,
            "sha256": sha256,
            "size": size,
            "pages": pages,
        },
    )
    return row


def upload_document(
    session: Session,
    user: User,
    work_id: int,
    slot: DocumentSlot,
    upload: bytes | BinaryIO,
    filename: str = "",
) -> ApplicationDocument:
    """The signed-and-sealed scan (PDF) of 申请书 or 承诺书, stored content-addressed. An
    uploaded file is read only after the access checks."""
    work = _editable_own_work(session, user, work_id)
    data = read_upload(upload)
    pages = check_pdf(data)
    sha256 = get_store().put(data)  # content-addressed: a rollback leaves at most an orphan
    return _put_document(
        session,
        user,
        work,
        slot,
        provided_by=ProvidedBy.sealed_scan,
        sha256=sha256,
        size=len(data),
        pages=pages,
        filename=filename,
        document_id=None,
    )


def mark_documents_signed(
    session: Session,
    user: User,
    work_id: int,
    slot: DocumentSlot,
    *,
    sha256: str,
    document_id: int | None = None,
) -> ApplicationDocument:
    """HOOK for online signing (signing/ + backend.documents): call after the producer's PAdES
    signature over the rendered 申请书/承诺书 has been applied and the signed PDF stored in the
    blob store under `sha256`. This records that the slot is provided by an online signature;
    it does not sign anything itself and refuses bytes that are not a stored, readable PDF."""
    work = _editable_own_work(session, user, work_id)
    data = get_store().get(sha256)
    pages = check_pdf(data)
    return _put_document(
        session,
        user,
        work,
        slot,
        provided_by=ProvidedBy.signed_online,
        sha256=sha256,
        size=len(data),
        pages=pages,
        filename="",
        document_id=document_id,
    )


def current_documents(session: Session, work: Work) -> dict[DocumentSlot, ApplicationDocument]:
    rows = session.exec(
        select(ApplicationDocument).where(
            ApplicationDocument.work_id == work.id, ApplicationDocument.version == work.version
        )
    )
    return {DocumentSlot(r.slot): r for r in rows}


def document_bytes(
    session: Session, user: User, work_id: int, slot: DocumentSlot, version: int | None = None
) -> tuple[ApplicationDocument, bytes]:
    work = get_work(session, user, work_id)
    row = session.exec(
        select(ApplicationDocument).where(
            ApplicationDocument.work_id == work.id,
            ApplicationDocument.version == (version or work.version),
            ApplicationDocument.slot == slot,
        )
    ).first()
    if row is None:
        raise NotFound(f"尚未提供{slot.label}", code="document_not_found")
    return row, get_store().get(row.sha256)


def eligibility_problems(
    session: Session, work: Work, now: datetime | None = None
) -> dict[str, str]:
    """Every reason the work cannot be submitted now, in Chinese, at once (empty = eligible)."""
    now = now_or_clock(now)
    problems: dict[str, str] = {}
    filing = (work.filing_number or "").strip()
    if not filing:
        problems["filing_number"] = "未填写规划立项备案号（申报作品须通过微短剧规划立项备案）"
    elif not _FILING_RE.match(filing):
        problems["filing_number"] = "规划立项备案号格式不正确（6–60 位汉字、字母、数字或〔〕（）-）"
    if not work.is_original:
        problems["is_original"] = "申报作品须为原创微短剧"
    if work.is_online:
        problems["is_online"] = "申报作品须截至申报时未上线播出"
    docs = current_documents(session, work)
    for slot in DocumentSlot:
        if slot not in docs:
            problems[f"documents.{slot.url_name}"] = f"尚未上传或在线签署{slot.label}"
    batch = session.get(Batch, work.batch_id) if work.batch_id else None
    closed = intake_closed(session, batch, now) if batch is not None else None
    if batch is None:
        problems["batch_id"] = "未选择申报批次"
    elif closed is not None:
        problems["batch_id"] = closed
    elif work.status is WorkStatus.returned:
        # A returned application may be resubmitted until the unit's own deadline.
        if not before(now, batch.submission_deadline):
            problems["batch_id"] = (
                f"{batch.label}已超过报送截止时间 {deadline_zh(batch.submission_deadline)}"
            )
    elif not before(now, batch.registration_deadline):
        problems["batch_id"] = f"已超过注册截止时间 {deadline_zh(batch.registration_deadline)}"
    return problems


def snapshot(session: Session, work: Work) -> dict[str, Any]:
    data = {
        k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in work.model_dump().items()
    }
    data["documents"] = {
        slot.value: {"sha256": d.sha256, "provided_by": d.provided_by, "size": d.size}
        for slot, d in current_documents(session, work).items()
    }
    return data


def submit(session: Session, user: User, work_id: int, *, now: datetime | None = None) -> Work:
    """Producer → recommending unit. Frozen afterwards; the version's snapshot is kept."""
    now = now_or_clock(now)
    work = get_work(session, user, work_id, for_update=True)
    require_role(user, Role.producer, message="只有作品所属的节目制作机构可以提交申报")
    if work.status not in EDITABLE:
        raise Conflict(f"作品当前状态为“{work.status.label}”，不能重复提交", code="work_frozen")
    problems = eligibility_problems(session, work, now)
    if problems:
        raise ValidationFailed(
            "申报未通过资格审查：" + "；".join(problems.values()),
            code="not_eligible",
            fields=problems,
        )
    session.add(
        WorkVersion(
            work_id=work.id or 0,
            version=work.version,
            snapshot=canonical_json(snapshot(session, work)),
            submitted_by=user.id,
            submitted_at=now,
        )
    )
    previous = work.status
    work.status, work.submitted_at, work.updated_at = WorkStatus.submitted, now, utcnow()
    session.add(work)
    session.flush()
    record(
        session,
        actor=user,
        action="work.submit",
        object_type="work",
        object_id=work.id,
        payload={
            "version": work.version,
            "from": previous.value,
            "batch_id": work.batch_id,
            "unit_id": work.unit_id,
        },
    )
    notes.notify(
        session,
        notes.unit_reviewers(session, work.unit_id),
        f"收到新的申报：《{work.title}》",
        f"第 {work.version} 版，请在报送截止前完成初评。",
        f"/works/{work.id}/application",
    )
    return work


def versions_of(session: Session, work: Work) -> list[WorkVersion]:
    """The work's frozen submissions, oldest first."""
    return list(
        session.exec(
            select(WorkVersion)
            .where(WorkVersion.work_id == work.id)
            .order_by(col(WorkVersion.version))
        )
    )


def versions(session: Session, user: User, work_id: int) -> list[WorkVersion]:
    return versions_of(session, get_work(session, user, work_id))
