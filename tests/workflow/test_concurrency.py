"""On PostgreSQL, the quota holds under concurrent recommendations (the unit+batch row lock)."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import Session, select

from backend.auth.models import Role, User
from backend.auth.service import create_user
from backend.core.errors import Conflict
from backend.workflow import unit_review
from backend.workflow.models import Recommendation, UnitQuota
from backend.works.models import Work, WorkStatus


@pytest.mark.postgres
def test_six_reviewers_recommending_the_fifth_and_sixth_work_at_once_leave_exactly_five(flow, env):
    from backend.core.db import get_engine

    batch = flow.open_batch(quota=5)
    ids = [flow.passed(batch["id"]) for _ in range(6)]
    for wid in ids[:4]:
        flow.call("POST", f"/api/v1/works/{wid}/recommend", "unit-zj", 200)
    engine = get_engine()
    with Session(engine) as s:
        first = s.exec(select(User).where(User.username == "unit-zj")).one()
        from backend.orgs.models import Organisation

        org = s.get(Organisation, first.organisation_id)
        names = ["unit-zj"]
        for i in range(5):
            create_user(
                s,
                username=f"unit-zj-{i}",
                display_name=f"审核员{i}",
                password="x" * 12,
                role=Role.unit_reviewer,
                organisation=org,
                actor="test",
            )
            names.append(f"unit-zj-{i}")
        s.commit()

    barrier = threading.Barrier(6)
    outcomes: list[str] = []
    lock = threading.Lock()

    def recommend(username: str, work_id: int) -> None:
        with Session(engine, expire_on_commit=False) as s:
            user = s.exec(select(User).where(User.username == username)).one()
            barrier.wait()
            try:
                unit_review.recommend(s, user, work_id, "并发推荐")
                s.commit()
                result = "ok"
            except Conflict as exc:
                s.rollback()
                result = exc.code
        with lock:
            outcomes.append(result)

    threads = [
        threading.Thread(target=recommend, args=(name, ids[4 + i % 2]))
        for i, name in enumerate(names)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes).count("ok") == 1, outcomes
    with Session(engine) as s:
        recommended = s.exec(
            select(Work).where(Work.batch_id == batch["id"], Work.status == WorkStatus.recommended)
        ).all()
        assert len(recommended) == 5
        assert (
            len(s.exec(select(Recommendation).where(Recommendation.batch_id == batch["id"])).all())
            == 5
        )
        assert s.exec(select(UnitQuota).where(UnitQuota.batch_id == batch["id"])).one().used == 5
