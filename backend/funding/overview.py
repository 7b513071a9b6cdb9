"""One agreement's funding at a glance: schedule, gates with evidence, reviews, the ledger and
a timeline of every step with its actor and time (GET /agreements/{id}/funding)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from backend.agreements.models import GATE_LABELS, AgreementMilestone, AgreementStatus, Gate
from backend.agreements.service import get_agreement
from backend.audit_log.models import AuditEvent
from backend.auth.models import User
from backend.core.money import format_fen
from backend.funding import reviews
from backend.funding.ledger import entries_by_disbursement, milestone_status, totals_by_milestone
from backend.funding.models import Disbursement, GateSource, MilestoneGateOpening
from backend.funding.schemas import (
    FundingAgreement,
    FundingOverview,
    FundingTotals,
    GateOpeningRead,
    MilestoneRead,
    TimelineEntry,
)
from backend.funding.service import disbursement_read, gate_openings


def _opening(g: MilestoneGateOpening | None, names: dict[int, str]) -> GateOpeningRead | None:
    if g is None:
        return None
    return GateOpeningRead(
        source=GateSource(g.source),
        evidence_audit_seq=g.audit_seq,
        review_id=g.review_id,
        reason=g.reason,
        opened_by=names.get(g.opened_by or 0),
        opened_at=g.opened_at,
    )


def milestones(session: Session, user: User, agreement_id: int) -> list[MilestoneRead]:
    get_agreement(session, user, agreement_id)
    rows = session.exec(
        select(AgreementMilestone)
        .where(AgreementMilestone.agreement_id == agreement_id)
        .order_by(col(AgreementMilestone.seq))
    ).all()
    opened = gate_openings(session, agreement_id)
    totals = totals_by_milestone(session, agreement_id=agreement_id)
    names = {u.id or 0: u.username for u in session.exec(select(User)).all()}
    out = []
    for m in rows:
        t = totals[m.id or 0]
        status = milestone_status(m.amount_fen, m.id in opened, t)
        out.append(
            MilestoneRead(
                id=m.id or 0,
                agreement_id=m.agreement_id,
                seq=m.seq,
                name=m.name,
                amount_fen=m.amount_fen,
                amount=format_fen(m.amount_fen),
                gate=Gate(m.gate),
                gate_label=GATE_LABELS[Gate(m.gate)],
                planned_date=m.planned_date,
                status=status,
                status_label=status.label,
                gate_opening=_opening(opened.get(m.id or 0), names),
                committed_fen=t.committed_fen,
                paid_fen=t.paid_fen,
                requested_fen=t.requested_fen,
                approved_fen=t.approved_fen,
                remaining_fen=max(m.amount_fen - t.committed_fen, 0),
            )
        )
    return out


def funding(session: Session, user: User, agreement_id: int) -> FundingOverview:
    ag = get_agreement(session, user, agreement_id)
    ms = milestones(session, user, agreement_id)
    ds = session.exec(
        select(Disbursement)
        .where(Disbursement.agreement_id == agreement_id)
        .order_by(col(Disbursement.id))
    ).all()
    entries = entries_by_disbursement(session, [d.id or 0 for d in ds])
    milestone_ids = [str(m.id) for m in ms]
    disb_ids = [str(d.id) for d in ds]
    events = session.exec(
        select(AuditEvent)
        .where(
            (
                (col(AuditEvent.object_type) == "agreement")
                & (col(AuditEvent.object_id) == str(agreement_id))
                & (
                    col(AuditEvent.action).like("funding.%")
                    | (col(AuditEvent.action) == "agreement.fully_signed")
                )
            )
            | (
                (col(AuditEvent.object_type) == "milestone")
                & col(AuditEvent.object_id).in_(milestone_ids)
            )
            | (
                (col(AuditEvent.object_type) == "disbursement")
                & col(AuditEvent.object_id).in_(disb_ids)
            )
        )
        .order_by(col(AuditEvent.seq))
    ).all()
    committed = sum(m.committed_fen for m in ms)
    return FundingOverview(
        agreement=FundingAgreement(
            id=ag.id or 0,
            number=ag.number,
            status=AgreementStatus(ag.status),
            grant_fen=ag.grant_fen,
            grant=format_fen(ag.grant_fen),
        ),
        totals=FundingTotals(
            committed_fen=committed,
            paid_fen=sum(m.paid_fen for m in ms),
            remaining_fen=max(ag.grant_fen - committed, 0),
        ),
        milestones=ms,
        review_requests=[
            reviews.request_read(session, r) for r in reviews.requests_of(session, agreement_id)
        ],
        reviews=[
            reviews.review_read(session, r) for r in reviews.reviews_of(session, agreement_id)
        ],
        disbursements=[disbursement_read(session, d, entries.get(d.id or 0, [])) for d in ds],
        timeline=[
            TimelineEntry(
                seq=e.seq,
                at=e.at,
                actor=e.actor,
                action=e.action,
                object_type=e.object_type,
                object_id=e.object_id,
            )
            for e in events
        ],
    )
