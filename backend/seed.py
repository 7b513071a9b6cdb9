"""Reference data (units, the ministry, the 2026 batches) and the demo data set, both
idempotent: a second run finds what exists and adds only what is missing."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from backend.audit.service import record
from backend.auth.models import Role, User
from backend.auth.service import create_user
from backend.orgs.models import Organisation, OrgKind, RecommendingUnit, UnitKind
from backend.works.models import Batch, Direction, Work
from backend.works.schemas import WorkCreate
from backend.works.service import create_work

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MINISTRY_NAME = "国家广播电视总局"


def _load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def load_reference(session: Session) -> None:
    """Units, their organisations, the ministry and the 2026 batches."""
    for code, name, short, kind in _load("units.json")["units"]:
        unit = session.exec(select(RecommendingUnit).where(RecommendingUnit.code == code)).first()
        if unit is None:
            unit = RecommendingUnit(code=code, name=name, short_name=short, kind=UnitKind(kind))
            session.add(unit)
            session.flush()
            record(
                session,
                actor="system",
                action="unit.create",
                object_type="unit",
                object_id=unit.id,
                payload={"code": code, "name": name},
            )
        if not session.exec(
            select(Organisation).where(
                Organisation.unit_id == unit.id, Organisation.kind == OrgKind.unit
            )
        ).first():
            session.add(Organisation(kind=OrgKind.unit, name=name, unit_id=unit.id))
    if ministry(session) is None:
        session.add(
            Organisation(
                kind=OrgKind.ministry, name=MINISTRY_NAME, contact_name="网络视听节目管理司"
            )
        )
    for b in _load("batches.json")["batches"]:
        if session.exec(
            select(Batch).where(Batch.year == b["year"], Batch.number == b["number"])
        ).first():
            continue
        batch = Batch(
            year=b["year"],
            number=b["number"],
            quota=b["quota"],
            notice_days=b["notice_days"],
            registration_deadline=datetime.fromisoformat(b["registration_deadline"]),
            submission_deadline=datetime.fromisoformat(b["submission_deadline"]),
        )
        session.add(batch)
        session.flush()
        record(
            session,
            actor="system",
            action="batch.create",
            object_type="batch",
            object_id=batch.id,
            payload={"year": batch.year, "number": batch.number},
        )
    session.flush()


def ministry(session: Session) -> Organisation | None:
    return session.exec(select(Organisation).where(Organisation.kind == OrgKind.ministry)).first()


def unit_org(session: Session, code: str) -> Organisation:
    unit = session.exec(select(RecommendingUnit).where(RecommendingUnit.code == code)).one()
    return session.exec(
        select(Organisation).where(
            Organisation.unit_id == unit.id, Organisation.kind == OrgKind.unit
        )
    ).one()


def load_demo(session: Session) -> dict[str, Any]:
    """Demo organisations, users (one password for all) and works. Returns what it made."""
    demo = _load("demo.json")
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
    from backend.pki.service import ensure_seals

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
    from backend.workflow.demo import load_workflow_demo

    load_workflow_demo(session, demo["password"])
    from backend.agreements.demo import load_agreements_demo

    load_agreements_demo(session, demo["password"])
    from backend.funding.demo import load_funding_demo

    load_funding_demo(session)
    from backend.funding.filings import load_demo_filings

    load_demo_filings(session)
    return {"users": created_users, "password": demo["password"]}
