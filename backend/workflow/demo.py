"""Demo data for the workflow (`jingpin demo`): works in every state, made through the same
service functions people use, at times inside each batch's deadlines. Idempotent: a second run
finds the marker (the first demo work already submitted) and does nothing."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pypdf import PdfWriter
from sqlmodel import Session, select

from backend.auth.models import Role, User
from backend.auth.service import create_user
from backend.core.dates import SHANGHAI
from backend.orgs.models import Organisation, OrgKind, RecommendingUnit
from backend.workflow import applications, notices, selection, unit_review
from backend.workflow import experts as expert_rounds
from backend.workflow.models import DocumentSlot, ReviewRound, UnitDecision, WorkVersion
from backend.works.models import Batch, Direction, Work
from backend.works.schemas import WorkCreate
from backend.works.service import create_work

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "workflow_demo.json"
GOOD = {"ideology": 27, "artistry": 26, "production": 17, "reach": 18}
FAIR = {"ideology": 22, "artistry": 20, "production": 14, "reach": 13}


def demo_scan_pdf() -> bytes:
    """A one-page PDF standing in for a scanned, sealed document in the demo (not a signature)."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": "jingpin demo scan"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def bj(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def _user(session: Session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def _work(session: Session, title: str) -> Work:
    return session.exec(select(Work).where(Work.title == title)).one()


def load_workflow_demo(session: Session, password: str) -> None:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    for username, display, role, unit_code in data["users"]:
        if session.exec(select(User).where(User.username == username)).first():
            continue
        unit = session.exec(
            select(RecommendingUnit).where(RecommendingUnit.code == unit_code)
        ).one()
        org = session.exec(
            select(Organisation).where(
                Organisation.unit_id == unit.id, Organisation.kind == OrgKind.unit
            )
        ).one()
        create_user(
            session,
            username=username,
            display_name=display,
            password=password,
            role=Role(role),
            organisation=org,
            actor="demo",
        )
    marker = _work(session, "西湖边的修伞人")
    if session.exec(select(WorkVersion).where(WorkVersion.work_id == marker.id)).first():
        return
    batches = {b.number: b for b in session.exec(select(Batch).where(Batch.year == 2026))}
    producers = {"hz": _user(session, "prod-hz"), "cd": _user(session, "prod-cd")}
    for w in data["works"]:
        if session.exec(select(Work).where(Work.title == w["title"])).first():
            continue
        fields: dict[str, Any] = {
            k: v for k, v in w.items() if k not in {"producer", "batch", "unit"}
        }
        fields["direction"] = Direction(fields["direction"])
        create_work(
            session,
            producers[w["producer"]],
            WorkCreate(batch_id=batches[w["batch"]].id, unit_code=w.get("unit"), **fields),
        )
    session.flush()
    _advance(session)


def _submit(session: Session, title: str, producer: User, when: str) -> Work:
    work = _work(session, title)
    scan = demo_scan_pdf()
    for slot in DocumentSlot:
        applications.upload_document(
            session, producer, work.id or 0, slot, scan, f"{slot.value}-scan.pdf"
        )
    return applications.submit(session, producer, work.id or 0, now=bj(when))


def _recommend(session: Session, title: str, producer: User, reviewer: User, day: str) -> Work:
    work = _submit(session, title, producer, f"{day}T10:00:00")
    unit_review.review_submission(
        session,
        reviewer,
        work.id or 0,
        UnitDecision.passed,
        "符合申报条件，题材积极，制作计划可行。",
        now=bj(f"{day}T15:00:00"),
    )
    return unit_review.recommend(
        session, reviewer, work.id or 0, "同意推荐。", now=bj(f"{day}T16:00:00")
    )


def _second(
    session: Session, work: Work, ministry: User, experts: list[User], scores: dict[str, int]
) -> None:
    expert_rounds.assign_experts(
        session, ministry, work.id or 0, ReviewRound.second, [e.id or 0 for e in experts]
    )
    for e in experts:
        expert_rounds.score_work(
            session, e, work.id or 0, ReviewRound.second, scores, "立意鲜明，建议进入终评。"
        )


def _to_final(session: Session, work: Work, ministry: User, experts: list[User]) -> None:
    _second(session, work, ministry, experts, GOOD)
    selection.conclude_second_round(
        session, ministry, work.id or 0, True, "复评平均分靠前，进入终评。"
    )


def _select(session: Session, work: Work, ministry: User, experts: list[User]) -> None:
    _to_final(session, work, ministry, experts)
    expert_rounds.assign_experts(
        session, ministry, work.id or 0, ReviewRound.final, [e.id or 0 for e in experts]
    )
    for e in experts:
        expert_rounds.score_work(
            session, e, work.id or 0, ReviewRound.final, GOOD, "思想性、艺术性俱佳。"
        )
    selection.decide(session, ministry, work.id or 0, True, "终评排名靠前，拟入选。")


def _advance(session: Session) -> None:
    hz, cd = _user(session, "prod-hz"), _user(session, "prod-cd")
    zj, sc, cmg = _user(session, "unit-zj"), _user(session, "unit-sc"), _user(session, "unit-cmg")
    ministry = _user(session, "ministry")
    e1, e2 = _user(session, "expert1"), _user(session, "expert2")

    # 第1批: four confirmed (one without a grant: central support elsewhere), one not selected.
    # The confirmed works carry the demo agreements (one per signing state, backend.agreements.demo).
    b1 = {"hz": "2026-06-01", "cd": "2026-06-02"}
    w1 = _recommend(session, "西湖边的修伞人", hz, zj, b1["hz"])
    w2 = _recommend(session, "熊猫巡护员", cd, sc, b1["cd"])
    w3 = _recommend(session, "钱江夜渡", hz, zj, b1["hz"])
    for w in (
        w1,
        w2,
        _recommend(session, "千岛湖的守鱼人", hz, zj, b1["hz"]),
        _recommend(session, "蜀绣传人", cd, sc, b1["cd"]),
    ):
        _select(session, w, ministry, [e1, e2])
    _second(session, w3, ministry, [e1], FAIR)
    selection.conclude_second_round(session, ministry, w3.id or 0, False, "复评得分未达终评线。")
    batch1 = w1.batch_id or 0
    notice = notices.publish_notice(session, ministry, batch1, now=bj("2026-07-01T09:00:00"))
    objection = notices.record_objection(
        session,
        ministry,
        batch1,
        w1.id or 0,
        "热心观众",
        "质疑剧本原创性。",
        now=bj("2026-07-02T10:00:00"),
    )
    notices.resolve_objection(
        session, ministry, objection.id or 0, False, "经核查，剧本系原创，异议不成立。"
    )
    notices.confirm_selection(session, ministry, batch1, now=notice.ends_at + timedelta(seconds=1))

    # 第2批: one in public notice, one returned for changes (version 2), one draft (青城山下).
    w4 = _recommend(session, "良渚之光", hz, zj, "2026-07-10")
    _select(session, w4, ministry, [e1, e2])
    notices.publish_notice(session, ministry, w4.batch_id or 0, now=bj("2026-08-20T09:00:00"))
    w5 = _submit(session, "川江号子", cd, "2026-07-10T10:00:00")
    unit_review.review_submission(
        session,
        sc,
        w5.id or 0,
        UnitDecision.return_,
        "请补充制作计划中的后期制作安排和分集大纲。",
        now=bj("2026-07-12T10:00:00"),
    )

    # 第3批: submitted, passed (awaiting recommendation), recommended, in 复评, in 终评, selected,
    # rejected, and a draft that is not yet eligible (no filing number).
    _submit(session, "运河船娘", hz, "2026-09-01T10:00:00")
    w6 = _submit(session, "桂花巷", hz, "2026-09-01T11:00:00")
    unit_review.review_submission(
        session,
        zj,
        w6.id or 0,
        UnitDecision.passed,
        "符合条件，待推荐。",
        now=bj("2026-09-02T10:00:00"),
    )
    _recommend(session, "茶山姐妹", hz, zj, "2026-09-03")
    w7 = _recommend(session, "三星堆回响", cd, sc, "2026-09-03")
    expert_rounds.assign_experts(
        session, ministry, w7.id or 0, ReviewRound.second, [e1.id or 0, e2.id or 0]
    )
    expert_rounds.score_work(session, e1, w7.id or 0, ReviewRound.second, GOOD, "文化底蕴深厚。")
    w8 = _recommend(session, "大凉山的孩子", cd, sc, "2026-09-04")
    _to_final(session, w8, ministry, [e1, e2])
    expert_rounds.assign_experts(session, ministry, w8.id or 0, ReviewRound.final, [e1.id or 0])
    w9 = _recommend(session, "雪域信使", hz, cmg, "2026-09-05")
    _select(session, w9, ministry, [e1, e2])
    w10 = _submit(session, "沉默的竹林", cd, "2026-09-05T10:00:00")
    unit_review.review_submission(
        session,
        sc,
        w10.id or 0,
        UnitDecision.reject,
        "题材与本计划“五个一批”创作方向契合度不足。",
        now=bj("2026-09-06T10:00:00"),
    )
    session.flush()
