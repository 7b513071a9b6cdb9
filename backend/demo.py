"""The demo data set (`jingpin demo`), made with the real service functions of every domain, on
top of the reference data (backend.seed). Idempotent: a second run adds only what is missing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from backend import wiring
from backend.agreements.demo import load_agreements_demo
from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.service import create_user
from backend.core.dates import before, end_of_day, today_shanghai
from backend.funding.demo import load_funding_demo
from backend.funding.filings import load_demo_filings
from backend.orgs.models import Organisation, OrgKind, RecommendingUnit
from backend.pki.service import ensure_seals
from backend.seed import load_fixture, load_reference, ministry, unit_org
from backend.workflow.demo import load_workflow_demo
from backend.works.models import Batch, Direction, Work
from backend.works.schemas import WorkCreate
from backend.works.service import create_work


def open_batch_now(session: Session, today: date | None = None) -> Batch:
    """A batch open today (registration for 14 more days, recommendation for 28), so that a
    newcomer can submit and recommend at once; the plan's 2026 batches lie in the past. Kept
    when one is already open (a second `jingpin demo` changes nothing)."""
    day = today or today_shanghai()
    now = datetime.now(UTC)
    for batch in session.exec(select(Batch)).all():
        if before(now, batch.registration_deadline):
            return batch
    taken = [b.number for b in session.exec(select(Batch).where(Batch.year == day.year))]
    batch = Batch(
        year=day.year,
        number=max(taken, default=0) + 1,
        quota=5,
        notice_days=7,
        registration_deadline=end_of_day(day + timedelta(days=14)),
        submission_deadline=end_of_day(day + timedelta(days=28)),
    )
    session.add(batch)
    session.flush()
    record(
        session,
        actor="demo",
        action="batch.create",
        object_type="batch",
        object_id=batch.id,
        payload={"year": batch.year, "number": batch.number, "open_now": True},
    )
    return batch


def load_demo(session: Session) -> dict[str, Any]:
    wiring.install()  # signing the demo agreements opens their funding gates
    """Demo organisations, users (one password for all) and works. Returns what it made."""
    demo = load_fixture("demo.json")
    load_reference(session)
    org = ministry(session)
    assert org is not None
    for key, value in demo["ministry"].items():
        setattr(org, key, value)
    for code, values in demo["unit_orgs"].items():
        target = unit_org(session, code)
        for key, value in values.items():
            setattr(target, key, value)
    producers: dict[str, Organisation] = {}
    for p in demo["producers"]:
        existing = session.exec(select(Organisation).where(Organisation.uscc == p["uscc"])).first()
        if existing is None:
            unit = session.exec(
                select(RecommendingUnit).where(RecommendingUnit.code == p["unit"])
            ).one()
            fields = {k: v for k, v in p.items() if k not in {"key", "unit"}}
            existing = Organisation(kind=OrgKind.producer, unit_id=unit.id, **fields)
            session.add(existing)
            session.flush()
            record(
                session,
                actor="system",
                action="organisation.create",
                object_type="organisation",
                object_id=existing.id,
                payload={"name": p["name"]},
            )
        producers[p["key"]] = existing
    session.flush()
    # Seal certificates before anything is signed (the CA exists: `init` made it).
    ensure_seals(session, actor="demo")
    created_users = []
    for username, display, role, where in demo["users"]:
        if session.exec(select(User).where(User.username == username)).first():
            continue
        kind, _, key = where.partition(":")
        target = {
            "producer": lambda k: producers[k],
            "unit": lambda k: unit_org(session, k),
            "ministry": lambda _k: org,
        }[kind](key)
        create_user(
            session,
            username=username,
            display_name=display,
            password=demo["password"],
            role=Role(role),
            organisation=target,
            actor="demo",
        )
        created_users.append(username)
    batches = {b.number: b for b in session.exec(select(Batch).where(Batch.year == 2026))}
    for w in demo["works"]:
        producer = producers[w["producer"]]
        if session.exec(
            select(Work).where(Work.title == w["title"], Work.organisation_id == producer.id)
        ).first():
            continue
        author = session.exec(
            select(User).where(User.organisation_id == producer.id, User.role == Role.producer)
        ).first()
        assert author is not None
        fields = {k: v for k, v in w.items() if k not in {"producer", "batch"}}
        for d in ("planned_start", "planned_completion"):
            fields[d] = date.fromisoformat(fields[d])
        fields["direction"] = Direction(fields["direction"])
        create_work(session, author, WorkCreate(batch_id=batches[w["batch"]].id, **fields))
    session.flush()
    load_workflow_demo(session, demo["password"])
    load_agreements_demo(session, demo["password"])
    load_funding_demo(session)
    load_demo_filings(session)
    open_batch_now(session)
    return {"users": created_users, "password": demo["password"]}
