"""Expert review rounds (复评 → 终评): the ministry assigns experts, each expert scores the
works assigned to them once per round against the published criteria (评分标准)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.service import require_role
from backend.core.canonical import canonical_json
from backend.core.db import utcnow
from backend.core.errors import Conflict, NotFound, ValidationFailed
from backend.core.validation import required_text
from backend.workflow import notifications as notes
from backend.workflow.models import (
    ExpertAssignment,
    ExpertScore,
    ReviewRound,
)
from backend.works.models import Work, WorkStatus
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


def require_officer(user: User) -> None:
    require_role(
        user, Role.ministry_officer, message="只有总局网络视听节目管理司经办人可以执行此操作"
    )


def assign_experts(
    session: Session,
    user: User,
    work_id: int,
    round_: ReviewRound,
    expert_ids: list[int],
    *,
    usernames: Sequence[str] = (),
) -> list[ExpertAssignment]:
    """Experts by id or by username; names are looked up only after the role check, so that
    nobody but the ministry learns from the answer whether a username exists."""
    work = get_work(session, user, work_id, for_update=True)
    require_officer(user)
    expert_ids = [*expert_ids, *_ids_of(session, usernames)]
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


def _ids_of(session: Session, usernames: Sequence[str]) -> list[int]:
    ids = []
    for name in usernames:
        u = session.exec(select(User).where(User.username == name)).first()
        if u is None:
            raise ValidationFailed(
                "评审专家不存在", fields={"expert_usernames": f"用户 {name} 不存在"}
            )
        ids.append(u.id or 0)
    return ids


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
