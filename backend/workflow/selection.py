"""Totals, rankings and the ministry's decision (拟入选 / 未入选) after the rounds; a work with
central-finance support elsewhere is selected without a grant."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.service import require_role
from backend.core.db import utcnow
from backend.core.errors import Conflict
from backend.core.validation import required_text
from backend.orgs.models import Organisation, RecommendingUnit
from backend.workflow import notifications as notes
from backend.workflow.batches import get_batch
from backend.workflow.experts import require_officer
from backend.workflow.models import (
    ExpertAssignment,
    ExpertScore,
    Recommendation,
    ReviewRound,
    SelectionDecision,
)
from backend.works.models import Work, WorkStatus
from backend.works.service import get_work

NO_GRANT_NOTE = "该作品已在其他项目评审中获得中央财政资金扶持，入选但不再发放扶持资金（广电办发〔2026〕123号 六（一）3）"


@dataclass
class RoundResult:
    assigned: int = 0
    scored: int = 0
    average: float | None = None
    scores: list[dict[str, Any]] = field(default_factory=list)
    expert_ids: list[int] = field(default_factory=list)  # assigned to this round


@dataclass
class Standing:
    work: Work
    organisation: str
    unit: str
    second: RoundResult
    final: RoundResult
    rank: int | None = None
    decision: SelectionDecision | None = None

    @property
    def sort_key(self) -> tuple[float, float]:
        return (-(self.final.average or -1), -(self.second.average or -1))


def _round_result(session: Session, work_id: int, round_: ReviewRound) -> RoundResult:
    res = RoundResult()
    res.expert_ids = list(
        session.exec(
            select(ExpertAssignment.expert_id).where(
                ExpertAssignment.work_id == work_id, ExpertAssignment.round == round_
            )
        )
    )
    res.assigned = len(res.expert_ids)
    rows = list(
        session.exec(
            select(ExpertScore).where(ExpertScore.work_id == work_id, ExpertScore.round == round_)
        )
    )
    res.scored = len(rows)
    if rows:
        res.average = round(sum(r.total for r in rows) / len(rows), 2)
    for r in rows:
        expert = session.get(User, r.expert_id)
        res.scores.append(
            {
                "expert": expert.display_name if expert else "",
                "total": r.total,
                "scores": json.loads(r.scores),
                "opinion": r.opinion,
            }
        )
    return res


def last_decision(session: Session, work_id: int) -> SelectionDecision | None:
    return session.exec(
        select(SelectionDecision)
        .where(SelectionDecision.work_id == work_id)
        .order_by(col(SelectionDecision.id).desc())
    ).first()


def standings(session: Session, user: User, batch_id: int) -> list[Standing]:
    """Recommended works of a batch with round totals, ranked by the final then second average."""
    require_role(
        user,
        Role.ministry_officer,
        Role.admin,
        Role.auditor,
        message="只有总局经办人可以查看评审汇总",
    )
    batch = get_batch(session, batch_id)
    works = session.exec(
        select(Work)
        .where(Work.batch_id == batch.id, col(Work.id).in_(select(Recommendation.work_id)))
        .order_by(col(Work.id))
    )
    out = []
    for w in works:
        org = session.get(Organisation, w.organisation_id)
        unit = session.get(RecommendingUnit, w.unit_id)
        out.append(
            Standing(
                w,
                org.name if org else "",
                unit.name if unit else "",
                _round_result(session, w.id or 0, ReviewRound.second),
                _round_result(session, w.id or 0, ReviewRound.final),
                decision=last_decision(session, w.id or 0),
            )
        )
    scored = sorted(
        [s for s in out if s.final.average is not None or s.second.average is not None],
        key=lambda s: s.sort_key,
    )
    for i, s in enumerate(scored, start=1):
        s.rank = i
    return sorted(out, key=lambda s: (s.rank or 10_000, s.work.id or 0))


def record_decision(
    session: Session,
    user: User,
    work: Work,
    round_: ReviewRound,
    selected: bool,
    reason: str,
    new_status: WorkStatus,
) -> SelectionDecision:
    grant = not work.central_support_received
    note = "" if grant or not selected or round_ is ReviewRound.second else NO_GRANT_NOTE
    row = SelectionDecision(
        work_id=work.id or 0,
        round=round_,
        selected=selected,
        reason=reason,
        grant_eligible=grant if round_ is ReviewRound.final and selected else False,
        funding_note=note,
        decided_by=user.id or 0,
    )
    session.add(row)
    previous = work.status
    work.status, work.updated_at = new_status, utcnow()
    session.add(work)
    session.flush()
    record(
        session,
        actor=user,
        action=f"work.{round_.value}_review.decide",
        object_type="work",
        object_id=work.id,
        payload={
            "selected": selected,
            "reason": reason,
            "from": previous.value,
            "to": new_status.value,
            "grant_eligible": row.grant_eligible,
        },
    )
    return row


def conclude_second_round(
    session: Session, user: User, work_id: int, advance: bool, reason: str
) -> SelectionDecision:
    """复评结论: into the final round, or not selected."""
    work = get_work(session, user, work_id, for_update=True)
    require_officer(user)
    reason = required_text(reason, "reason", "结论理由")
    if work.status is not WorkStatus.second_review:
        raise Conflict(f"作品当前状态为“{work.status.label}”，不在复评中", code="wrong_state")
    if _round_result(session, work.id or 0, ReviewRound.second).scored == 0:
        raise Conflict("尚无专家提交复评评分", code="no_scores")
    row = record_decision(
        session,
        user,
        work,
        ReviewRound.second,
        advance,
        reason,
        WorkStatus.final_review if advance else WorkStatus.not_selected,
    )
    if not advance:
        tell_outcome(session, work, "未入选", reason)
    return row


def decide(
    session: Session, user: User, work_id: int, selected: bool, reason: str
) -> SelectionDecision:
    """终评结论: selected (拟入选) or not selected, with the reason and the funding rule."""
    work = get_work(session, user, work_id, for_update=True)
    require_officer(user)
    reason = required_text(reason, "reason", "决定理由")
    if work.status is not WorkStatus.final_review:
        raise Conflict(f"作品当前状态为“{work.status.label}”，不在终评中", code="wrong_state")
    if _round_result(session, work.id or 0, ReviewRound.final).scored == 0:
        raise Conflict("尚无专家提交终评评分", code="no_scores")
    row = record_decision(
        session,
        user,
        work,
        ReviewRound.final,
        selected,
        reason,
        WorkStatus.selected if selected else WorkStatus.not_selected,
    )
    tell_outcome(
        session,
        work,
        "拟入选" if selected else "未入选",
        reason + (f"\n{row.funding_note}" if row.funding_note else ""),
    )
    return row


def tell_outcome(session: Session, work: Work, outcome: str, body: str) -> None:
    notes.notify(
        session,
        [
            *notes.producers(session, work.organisation_id),
            *notes.unit_reviewers(session, work.unit_id),
        ],
        f"《{work.title}》{outcome}",
        body,
        f"/works/{work.id}/application",
    )


def funding_status(session: Session, work: Work) -> dict[str, Any]:
    """Whether a selected work receives a grant, and why not (for pages and the agreement)."""
    decision = session.exec(
        select(SelectionDecision)
        .where(
            SelectionDecision.work_id == work.id,
            SelectionDecision.round == ReviewRound.final,
            col(SelectionDecision.selected).is_(True),
        )
        .order_by(col(SelectionDecision.id).desc())
    ).first()
    if decision is None:
        return {"selected": False, "grant_eligible": False, "note": ""}
    return {
        "selected": True,
        "grant_eligible": decision.grant_eligible,
        "note": decision.funding_note,
    }
