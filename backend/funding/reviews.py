"""中期检查 (midterm check) and 审核验收 (acceptance review): the producer asks, the ministry
records the result with its PDFs; a passed result opens the matching milestone gate.
A failed review opens nothing; a later re-review is a new record that may pass."""

from __future__ import annotations

import json
from datetime import date

from sqlmodel import Session, col, select

from backend.agreements.models import AgreementStatus, Party
from backend.agreements.service import get_agreement, party_of
from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.service import require_role
from backend.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from backend.documents.models import DocumentFormat, DocumentKind, SubjectType
from backend.documents.service import store_rendered
from backend.documents.uploads import check_pdf
from backend.funding.models import (
    FundingReview,
    ReviewAttachment,
    ReviewKind,
    ReviewRequest,
    ReviewResult,
)
from backend.funding.schemas import AttachmentRead, ReviewRead, ReviewRequestRead
from backend.funding.service import open_gates_for_review


def _kind(value: str) -> ReviewKind:
    try:
        return ReviewKind(value)
    except ValueError:
        raise ValidationFailed(
            "检查类型须为 midterm（中期检查）或 acceptance（审核验收）",
            fields={"kind": "未知的检查类型"},
        ) from None


def request_review(
    session: Session, user: User, agreement_id: int, kind: str, note: str = ""
) -> ReviewRequest:
    """乙方 (the producer of this agreement) asks for a 中期检查 / 审核验收."""
    ag = get_agreement(session, user, agreement_id)
    if user.role != Role.producer or party_of(user, ag) != Party.yi:
        raise PermissionDenied("仅该协议的节目制作机构可以申请检查或验收")
    review_kind = _kind(kind)
    if ag.status != AgreementStatus.fully_signed:
        raise Conflict("协议尚未完成三方签署，不能申请检查或验收", code="agreement_not_signed")
    req = ReviewRequest(
        agreement_id=agreement_id,
        kind=review_kind.value,
        note=note.strip(),
        requested_by=user.id or 0,
    )
    session.add(req)
    session.flush()
    record(
        session,
        actor=user,
        action="funding.review_requested",
        object_type="agreement",
        object_id=agreement_id,
        payload={"request_id": req.id, "kind": review_kind.value, "note": req.note},
    )
    return req


def check_can_record(session: Session, user: User, agreement_id: int) -> None:
    """Before an upload is read: the agreement in the caller's scope (404), then the ministry's
    role (403). Attachments of up to 64 MiB are not read for anyone else."""
    get_agreement(session, user, agreement_id)
    require_role(user, Role.ministry_officer, message="仅总局工作人员可以登记检查或验收结果")


def record_review(
    session: Session,
    user: User,
    agreement_id: int,
    *,
    kind: str,
    held_on: date,
    reviewers: list[str],
    result: str,
    opinion: str,
    attachments: list[tuple[str, bytes]],
    conditions: list[str] | None = None,
    request_id: int | None = None,
) -> FundingReview:
    """总局 records a review's outcome with its signed PDF(s); a pass opens the gate."""
    ag = get_agreement(session, user, agreement_id)
    require_role(user, Role.ministry_officer, message="仅总局工作人员可以登记检查或验收结果")
    review_kind = _kind(kind)
    try:
        review_result = ReviewResult(result)
    except ValueError:
        raise ValidationFailed(
            "结论须为 passed / failed / passed_with_conditions", fields={"result": "未知的结论"}
        ) from None
    names = [r.strip() for r in reviewers if r.strip()]
    conds = [c.strip() for c in (conditions or []) if c.strip()]
    fields: dict[str, str] = {}
    if not names:
        fields["reviewers"] = "请填写评审人员"
    if review_result == ReviewResult.passed_with_conditions and not conds:
        fields["conditions"] = "有条件通过须列明条件"
    if not opinion.strip():
        fields["opinion"] = "请填写评审意见"
    if not attachments:
        fields["files"] = "请上传检查或验收意见 PDF"
    if fields:
        raise ValidationFailed(next(iter(fields.values())), fields=fields)
    pages = [check_pdf(data, field="files") for _name, data in attachments]
    if ag.status != AgreementStatus.fully_signed:
        raise Conflict("协议尚未完成三方签署，不能登记检查或验收", code="agreement_not_signed")
    if request_id is not None:
        req = session.get(ReviewRequest, request_id)
        if req is None or req.agreement_id != agreement_id:
            raise NotFound("未找到该检查申请", code="review_request_not_found")
    review = FundingReview(
        agreement_id=agreement_id,
        request_id=request_id,
        kind=review_kind.value,
        held_on=held_on,
        reviewers=json.dumps(names, ensure_ascii=False),
        result=review_result.value,
        conditions=json.dumps(conds, ensure_ascii=False),
        opinion=opinion.strip(),
        recorded_by=user.id or 0,
    )
    session.add(review)
    session.flush()
    stored: list[ReviewAttachment] = []
    for (name, data), n in zip(attachments, pages, strict=True):
        doc = store_rendered(
            session,
            kind=DocumentKind.upload,
            subject_type=SubjectType.agreement,
            subject_id=agreement_id,
            template_name=None,
            template_sha256=None,
            context_digest=None,
            fmt=DocumentFormat.pdf,
            data=data,
            created_by=user.id,
        )
        if doc.sha256 in {a.sha256 for a in stored}:
            continue
        att = ReviewAttachment(
            review_id=review.id or 0,
            filename=(name or "review.pdf")[:200],
            sha256=doc.sha256,
            size=len(data),
            pages=n,
        )
        session.add(att)
        stored.append(att)
    session.flush()
    event = record(
        session,
        actor=user,
        action=f"funding.review_{review_kind.value}_recorded",
        object_type="agreement",
        object_id=agreement_id,
        payload={
            "review_id": review.id,
            "kind": review_kind.value,
            "result": review_result.value,
            "held_on": held_on.isoformat(),
            "reviewers": names,
            "conditions": conds,
            "request_id": request_id,
            "attachments": [{"filename": a.filename, "sha256": a.sha256} for a in stored],
        },
    )
    open_gates_for_review(session, user, review, event)
    return review


def reviews_of(session: Session, agreement_id: int) -> list[FundingReview]:
    return list(
        session.exec(
            select(FundingReview)
            .where(FundingReview.agreement_id == agreement_id)
            .order_by(col(FundingReview.id))
        ).all()
    )


def requests_of(session: Session, agreement_id: int) -> list[ReviewRequest]:
    return list(
        session.exec(
            select(ReviewRequest)
            .where(ReviewRequest.agreement_id == agreement_id)
            .order_by(col(ReviewRequest.id))
        ).all()
    )


def review_read(session: Session, r: FundingReview) -> ReviewRead:
    atts = session.exec(
        select(ReviewAttachment)
        .where(ReviewAttachment.review_id == r.id)
        .order_by(col(ReviewAttachment.id))
    ).all()
    recorder = session.get(User, r.recorded_by)
    return ReviewRead(
        id=r.id or 0,
        agreement_id=r.agreement_id,
        request_id=r.request_id,
        kind=ReviewKind(r.kind),
        kind_label=ReviewKind(r.kind).label,
        held_on=r.held_on,
        reviewers=json.loads(r.reviewers),
        result=ReviewResult(r.result),
        result_label=ReviewResult(r.result).label,
        conditions=json.loads(r.conditions),
        opinion=r.opinion,
        recorded_by=recorder.username if recorder else None,
        recorded_at=r.recorded_at,
        attachments=[
            AttachmentRead(filename=a.filename, sha256=a.sha256, size=a.size, pages=a.pages)
            for a in atts
        ],
    )


def request_read(session: Session, r: ReviewRequest) -> ReviewRequestRead:
    who = session.get(User, r.requested_by)
    return ReviewRequestRead(
        id=r.id or 0,
        agreement_id=r.agreement_id,
        kind=ReviewKind(r.kind),
        kind_label=ReviewKind(r.kind).label,
        note=r.note,
        requested_by=who.username if who else None,
        requested_at=r.requested_at,
    )
