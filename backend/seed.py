"""Reference data (units, the ministry, the 2026 batches) and the demo data set, both
idempotent: a second run finds what exists and adds only what is missing."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from backend.audit_log.service import record
from backend.orgs.models import Organisation, OrgKind, RecommendingUnit, UnitKind
from backend.works.models import Batch

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MINISTRY_NAME = "国家广播电视总局"


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def load_reference(session: Session) -> None:
    """Units, their organisations, the ministry and the 2026 batches."""
    for code, name, short, kind in load_fixture("units.json")["units"]:
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
    for b in load_fixture("batches.json")["batches"]:
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
