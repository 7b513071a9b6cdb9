"""The ministry's part: expert review rounds (复评 → 终评), the decision, the public notice (公示)
with its objections, and the confirmation. Experts see only the works assigned to them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.service import require_role
from backend.core.canonical import canonical_json
from backend.core.dates import SHANGHAI, before, deadline_zh, end_of_day, now_or_clock
from backend.core.db import utcnow
from backend.core.errors import Conflict, NotFound, ValidationFailed
from backend.orgs.models import Organisation, RecommendingUnit
from backend.workflow import notifications as notes
from backend.workflow.models import (
    ExpertAssignment,
    ExpertScore,
    Objection,
    ObjectionOutcome,
    PublicNotice,
    Recommendation,
    ReviewRound,
    SelectionDecision,
)
from backend.workflow.service import get_batch, required_text
from backend.works.models import Batch, Work, WorkStatus
from backend.works.service import get_work


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    max_points: int


# Published scoring criteria (评分标准), 100 points in all.
CRITERIA: tuple[Criterion, ...] = (
    Criterion("ideology", "思想性", 30),
    Criterion("artistry", "艺术性", 30),
    Criterion("production", "制作水准", 20),
    Criterion("reach", "传播价值", 20),
)
ROUND_STATUS = {
    ReviewRound.second: WorkStatus.second_review,
    ReviewRound.final: WorkStatus.final_review,
}
NO_GRANT_NOTE = "该作品已在其他项目评审中获得中央财政资金扶持，入选但不再发放扶持资金（广电办发〔2026〕123号 六（一）3）"
REVIEW_STATES = (WorkStatus.recommended, WorkStatus.second_review, WorkStatus.final_review)


def _officer(user: User) -> None:
    require_role(
        user, Role.ministry_officer, message="只有总局网络视听节目管理司经办人可以执行此操作"
    )


# --- experts (复评、终评) ----------------------------------------------------------------------


def assign_experts(
    session: Session, user: User, work_id: int, round_: ReviewRound, expert_ids: list[int]
) -> list[ExpertAssignment]:
    work = get_work(session, user, work_id, for_update=True)
    _officer(user)
    allowed = (
        (WorkStatus.recommended, WorkStatus.second_review)
        if round_ is ReviewRound.second
        else (WorkStatus.final_review,)
    )
    if work.status not in allowed:
        raise Conflict(
            f"作品当前状态为“{work.status.label}”，不能分配{round_.label}专家", code="wrong_state"
        )
    if not expert_ids:
        raise ValidationFailed(
            "请至少选择一位评审专家", fields={"expert_ids": "请至少选择一位评审专家"}
        )
    experts = []
    for expert_id in dict.fromkeys(expert_ids):
        expert = session.get(User, expert_id)
        if expert is None or expert.role is not Role.expert or not expert.is_active:
            raise ValidationFailed(
                "所选用户不是评审专家", fields={"expert_ids": f"用户 {expert_id} 不是评审专家"}
            )
        experts.append(expert)
    made = []
    for expert in experts:
        exists = session.exec(
            select(ExpertAssignment).where(
                ExpertAssignment.work_id == work.id,
                ExpertAssignment.round == round_,
                ExpertAssignment.expert_id == expert.id,
            )
        ).first()
        if exists:
            continue
        row = ExpertAssignment(
            work_id=work.id or 0, round=round_, expert_id=expert.id or 0, assigned_by=user.id or 0
        )
        session.add(row)
        made.append(row)
    previous = work.status
    work.status, work.updated_at = ROUND_STATUS[round_], utcnow()
    session.add(work)
    session.flush()
    record(
        session,
        actor=user,
        action=f"work.{round_.value}_review.assign",
        object_type="work",
        object_id=work.id,
        payload={"experts": [e.username for e in experts], "from": previous.value},
    )
    notes.notify(
        session,
        [e for e in experts if any(m.expert_id == e.id for m in made)],
        f"{round_.label}任务：《{work.title}》",
        "请按评分标准打分并填写评审意见。",
        "/reviews/expert",
    )
    return made


def _assignment(
    session: Session, user: User, work_id: int, round_: ReviewRound
) -> ExpertAssignment:
    row = session.exec(
        select(ExpertAssignment).where(
            ExpertAssignment.work_id == work_id,
            ExpertAssignment.round == round_,
            ExpertAssignment.expert_id == user.id,
        )
    ).first()
    if row is None:
        raise NotFound("未找到分配给您的该评审任务", code="assignment_not_found")
    return row


def check_scores(scores: dict[str, Any]) -> dict[str, int]:
    errors: dict[str, str] = {}
    clean: dict[str, int] = {}
    for c in CRITERIA:
        value = scores.get(c.key)
        if value is None or value == "":
            errors[c.key] = f"请为“{c.label}”打分（0–{c.max_points} 分）"
        elif (
            isinstance(value, bool)
            or not isinstance(value, int | str)
            or not str(value).strip().isdigit()
        ):
            errors[c.key] = f"“{c.label}”须为 0–{c.max_points} 的整数"
        elif not 0 <= int(value) <= c.max_points:
            errors[c.key] = f"“{c.label}”得分超出范围（0–{c.max_points} 分）"
        else:
            clean[c.key] = int(value)
    for key in scores:
        if key not in {c.key for c in CRITERIA}:
            errors[key] = "不是公布的评分项"
    if errors:
        raise ValidationFailed("评分有误：" + "；".join(errors.values()), fields=errors)
    return clean


def score_work(
    session: Session,
    user: User,
    work_id: int,
    round_: ReviewRound,
    scores: dict[str, Any],
    opinion: str,
) -> ExpertScore:
    """An expert's score on the published criteria for one round; once per round."""
    work = get_work(session, user, work_id, for_update=True)  # experts: assigned works only
    require_role(user, Role.expert, message="只有评审专家可以打分")
    _assignment(session, user, work_id, round_)
    if work.status is not ROUND_STATUS[round_]:
        raise Conflict(
            f"作品当前状态为“{work.status.label}”，{round_.label}不在进行中", code="wrong_state"
        )
    if session.exec(
        select(ExpertScore).where(
            ExpertScore.work_id == work.id,
            ExpertScore.round == round_,
            ExpertScore.expert_id == user.id,
        )
    ).first():
        raise Conflict(f"您已对该作品完成{round_.label}打分，不能重复评审", code="already_scored")
    clean = check_scores(scores)
    opinion = required_text(opinion, "opinion", "评审意见")
    row = ExpertScore(
        work_id=work.id or 0,
        round=round_,
        expert_id=user.id or 0,
        scores=canonical_json(clean),
        total=sum(clean.values()),
        opinion=opinion,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=user,
        action=f"work.{round_.value}_review.score",
        object_type="work",
        object_id=work.id,
        payload={"scores": clean, "total": row.total, "opinion": opinion},
    )
    notes.notify(
        session,
        notes.with_role(session, Role.ministry_officer),
        f"专家已提交{round_.label}评分：《{work.title}》",
        f"总分 {row.total}",
        "/reviews/ministry",
    )
    return row


@dataclass
class ExpertTask:
    work: Work
    round: ReviewRound
    score: ExpertScore | None
    open: bool


def expert_tasks(session: Session, user: User) -> list[ExpertTask]:
    require_role(user, Role.expert, message="只有评审专家可以查看评审任务")
    out = []
    for a in session.exec(
        select(ExpertAssignment)
        .where(ExpertAssignment.expert_id == user.id)
        .order_by(col(ExpertAssignment.id).desc())
    ):
        work = session.get(Work, a.work_id)
        assert work is not None
        score = session.exec(
            select(ExpertScore).where(
                ExpertScore.work_id == a.work_id,
                ExpertScore.round == a.round,
                ExpertScore.expert_id == user.id,
            )
        ).first()
        out.append(
            ExpertTask(
                work,
                ReviewRound(a.round),
                score,
                score is None and work.status is ROUND_STATUS[ReviewRound(a.round)],
            )
        )
    return out


# --- totals, rankings and decisions -----------------------------------------------------------


@dataclass
class RoundResult:
    assigned: int = 0
    scored: int = 0
    average: float | None = None
    scores: list[dict[str, Any]] = field(default_factory=list)


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
    res.assigned = len(
        list(
            session.exec(
                select(ExpertAssignment.id).where(
                    ExpertAssignment.work_id == work_id, ExpertAssignment.round == round_
                )
            )
        )
    )
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


def _decide(
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
    _officer(user)
    reason = required_text(reason, "reason", "结论理由")
    if work.status is not WorkStatus.second_review:
        raise Conflict(f"作品当前状态为“{work.status.label}”，不在复评中", code="wrong_state")
    if _round_result(session, work.id or 0, ReviewRound.second).scored == 0:
        raise Conflict("尚无专家提交复评评分", code="no_scores")
    row = _decide(
        session,
        user,
        work,
        ReviewRound.second,
        advance,
        reason,
        WorkStatus.final_review if advance else WorkStatus.not_selected,
    )
    if not advance:
        _tell_outcome(session, work, "未入选", reason)
    return row


def decide(
    session: Session, user: User, work_id: int, selected: bool, reason: str
) -> SelectionDecision:
    """终评结论: selected (拟入选) or not selected, with the reason and the funding rule."""
    work = get_work(session, user, work_id, for_update=True)
    _officer(user)
    reason = required_text(reason, "reason", "决定理由")
    if work.status is not WorkStatus.final_review:
        raise Conflict(f"作品当前状态为“{work.status.label}”，不在终评中", code="wrong_state")
    if _round_result(session, work.id or 0, ReviewRound.final).scored == 0:
        raise Conflict("尚无专家提交终评评分", code="no_scores")
    row = _decide(
        session,
        user,
        work,
        ReviewRound.final,
        selected,
        reason,
        WorkStatus.selected if selected else WorkStatus.not_selected,
    )
    _tell_outcome(
        session,
        work,
        "拟入选" if selected else "未入选",
        reason + (f"\n{row.funding_note}" if row.funding_note else ""),
    )
    return row


def _tell_outcome(session: Session, work: Work, outcome: str, body: str) -> None:
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


# --- public notice (公示), objections, confirmation -------------------------------------------


def notice_for(session: Session, batch_id: int) -> PublicNotice | None:
    return session.exec(select(PublicNotice).where(PublicNotice.batch_id == batch_id)).first()


def publish_notice(
    session: Session, user: User, batch_id: int, *, now: datetime | None = None
) -> PublicNotice:
    _officer(user)
    now = now_or_clock(now)
    batch = get_batch(session, batch_id)
    if notice_for(session, batch_id):
        raise Conflict(f"{batch.label}入选名单已公示", code="notice_exists")
    works = list(session.exec(select(Work).where(Work.batch_id == batch_id).with_for_update()))
    pending = [w for w in works if w.status in REVIEW_STATES]
    if pending:
        raise Conflict(
            f"尚有 {len(pending)} 部作品未完成评审："
            + "、".join(f"《{w.title}》" for w in pending),
            code="review_pending",
        )
    chosen = [w for w in works if w.status is WorkStatus.selected]
    if not chosen:
        raise Conflict("本批次没有拟入选作品，无需公示", code="nothing_selected")
    start_day = now.astimezone(SHANGHAI).date()
    notice = PublicNotice(
        batch_id=batch_id,
        starts_at=now,
        ends_at=end_of_day(start_day + timedelta(days=batch.notice_days - 1)),
        published_by=user.id or 0,
    )
    session.add(notice)
    for w in chosen:
        w.status, w.updated_at = WorkStatus.in_notice, utcnow()
        session.add(w)
    session.flush()
    record(
        session,
        actor=user,
        action="batch.notice.publish",
        object_type="batch",
        object_id=batch_id,
        payload={
            "works": [w.id for w in chosen],
            "starts_at": now.isoformat(),
            "ends_at": notice.ends_at.isoformat(),
        },
    )
    for w in chosen:
        _tell_outcome(session, w, "进入公示", f"公示期至 {deadline_zh(notice.ends_at)}")
    return notice


def record_objection(
    session: Session,
    user: User,
    batch_id: int,
    work_id: int,
    submitter: str,
    content: str,
    *,
    now: datetime | None = None,
) -> Objection:
    _officer(user)
    now = now_or_clock(now)
    notice = notice_for(session, batch_id)
    if notice is None:
        raise NotFound("该批次尚未公示", code="notice_not_found")
    if notice.confirmed_at is not None:
        raise Conflict("公示已结束并确认，不再受理异议", code="notice_closed")
    submitter = required_text(submitter, "submitter", "异议人")
    content = required_text(content, "content", "异议内容")
    work = session.get(Work, work_id)
    if work is None or work.batch_id != batch_id or work.status is not WorkStatus.in_notice:
        raise ValidationFailed(
            "该作品不在本批次公示名单中", fields={"work_id": "该作品不在本批次公示名单中"}
        )
    row = Objection(
        notice_id=notice.id or 0,
        work_id=work_id,
        submitter=submitter[:100],
        content=content,
        recorded_by=user.id or 0,
        created_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=user,
        action="notice.objection.record",
        object_type="objection",
        object_id=row.id,
        payload={"work_id": work_id, "submitter": submitter, "content": content},
    )
    notes.notify(
        session,
        notes.with_role(session, Role.ministry_officer),
        f"公示异议：《{work.title}》",
        content,
        "/reviews/ministry",
    )
    return row


def resolve_objection(
    session: Session, user: User, objection_id: int, upheld: bool, resolution: str
) -> Objection:
    _officer(user)
    row = session.get(Objection, objection_id)
    if row is None:
        raise NotFound("未找到该异议", code="objection_not_found")
    if row.outcome != ObjectionOutcome.open:
        raise Conflict("该异议已处理", code="already_resolved")
    resolution = required_text(resolution, "resolution", "处理意见")
    row.outcome = ObjectionOutcome.upheld if upheld else ObjectionOutcome.dismissed
    row.resolution, row.resolved_by, row.resolved_at = resolution, user.id, utcnow()
    session.add(row)
    work = session.get(Work, row.work_id)
    assert work is not None
    if upheld and work.status is WorkStatus.in_notice:
        _decide(
            session,
            user,
            work,
            ReviewRound.final,
            False,
            f"公示异议成立：{resolution}",
            WorkStatus.not_selected,
        )
        _tell_outcome(session, work, "因公示异议成立未入选", resolution)
    session.flush()
    record(
        session,
        actor=user,
        action="notice.objection.resolve",
        object_type="objection",
        object_id=row.id,
        payload={"outcome": row.outcome, "resolution": resolution},
    )
    return row


def objections(session: Session, batch_id: int) -> list[Objection]:
    notice = notice_for(session, batch_id)
    if notice is None:
        return []
    return list(
        session.exec(
            select(Objection).where(Objection.notice_id == notice.id).order_by(col(Objection.id))
        )
    )


def confirm_selection(
    session: Session, user: User, batch_id: int, *, now: datetime | None = None
) -> list[Work]:
    """After the notice period, with every objection resolved: in_notice → confirmed."""
    _officer(user)
    now = now_or_clock(now)
    batch: Batch = get_batch(session, batch_id)
    notice = notice_for(session, batch_id)
    if notice is None:
        raise Conflict(f"{batch.label}尚未公示", code="notice_missing")
    if notice.confirmed_at is not None:
        raise Conflict(f"{batch.label}入选名单已确认", code="already_confirmed")
    if before(now, notice.ends_at):
        raise Conflict(
            f"公示期至 {deadline_zh(notice.ends_at)} 结束，期满后方可确认", code="notice_running"
        )
    open_ = [o for o in objections(session, batch_id) if o.outcome == ObjectionOutcome.open]
    if open_:
        raise Conflict(f"尚有 {len(open_)} 件异议未处理", code="objections_open")
    works = list(
        session.exec(
            select(Work)
            .where(Work.batch_id == batch_id, Work.status == WorkStatus.in_notice)
            .with_for_update()
        )
    )
    for w in works:
        w.status, w.updated_at = WorkStatus.confirmed, utcnow()
        session.add(w)
    notice.confirmed_at, notice.confirmed_by = now, user.id
    session.add(notice)
    session.flush()
    record(
        session,
        actor=user,
        action="batch.selection.confirm",
        object_type="batch",
        object_id=batch_id,
        payload={"works": [w.id for w in works], "at": now.isoformat()},
    )
    for w in works:
        _tell_outcome(session, w, "确认入选", "下一步：签订三方协议。")
    notes.notify(
        session,
        notes.with_role(session, Role.finance),
        f"{batch.label}入选名单已确认",
        f"共 {len(works)} 部作品",
        f"/public/notices/{batch_id}",
    )
    return works


def public_list(
    session: Session, batch_id: int
) -> tuple[Batch, PublicNotice, list[dict[str, Any]]]:
    """What the public notice page shows (no login): 404 until the batch is published."""
    batch = session.get(Batch, batch_id)
    notice = notice_for(session, batch_id) if batch else None
    if batch is None or notice is None:
        raise NotFound("未找到该批次的公示", code="notice_not_found")
    rows = []
    for w in session.exec(
        select(Work)
        .where(
            Work.batch_id == batch_id,
            col(Work.status).in_([WorkStatus.in_notice, WorkStatus.confirmed]),
        )
        .order_by(col(Work.id))
    ):
        org = session.get(Organisation, w.organisation_id)
        unit = session.get(RecommendingUnit, w.unit_id)
        rows.append(
            {
                "id": w.id,
                "title": w.title,
                "organisation": org.name if org else "",
                "unit": unit.name if unit else "",
                "direction": w.direction.label,
                "episodes": w.episodes,
                "status": w.status.label,
                "funding_note": funding_status(session, w)["note"],
            }
        )
    return batch, notice, rows


def notice_running(notice: PublicNotice, now: datetime | None = None) -> bool:
    return notice.confirmed_at is None and before(now_or_clock(now), notice.ends_at)


__all__ = ["CRITERIA"]
