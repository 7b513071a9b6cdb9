"""Demo agreements (called at the end of ``load_demo``), made with the real service functions:
real rendering, real certificates, real PAdES signatures. Idempotent."""

from __future__ import annotations

from sqlmodel import Session, select

from backend.agreements import service
from backend.agreements.models import Agreement
from backend.auth.models import User
from backend.documents.converter import get_pool
from backend.works.models import Work, WorkStatus

# (work title, signers in order) — 乙 → 丙 → 甲; fewer signers leave it waiting for the next.
# One agreement in each signing state; the works are confirmed by backend.workflow.demo.
PLAN = (
    ("西湖边的修伞人", ("prod-hz", "unit-zj", "ministry")),  # fully signed
    ("熊猫巡护员", ("prod-cd",)),  # waiting for 丙方 (unit-sc); no grant (central support)
    ("蜀绣传人", ("prod-cd", "unit-sc")),  # waiting for 甲方 (ministry)
    ("千岛湖的守鱼人", ()),
)  # waiting for 乙方 (prod-hz)


def load_agreements_demo(session: Session, password: str) -> None:
    pool = get_pool()
    started_here = pool.stats().mode == "stopped"
    try:
        users = {u.username: u for u in session.exec(select(User)).all()}
        for title, signers in PLAN:
            work = session.exec(select(Work).where(Work.title == title)).first()
            if work is None or work.status != WorkStatus.confirmed:
                continue
            if session.exec(select(Agreement).where(Agreement.work_id == work.id)).first():
                continue
            ag = service.create_agreement(session, users["ministry"], work.id or 0)
            for username in signers:
                service.sign_sync(session, users[username], ag.id or 0, password, "demo")
    finally:
        if started_here and pool.stats().mode != "stopped":
            pool.stop()
