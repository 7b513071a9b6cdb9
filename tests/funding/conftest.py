"""Funding test helpers. ``funded_agreement`` is a factory for a fully signed agreement with a
chosen schedule: it builds the agreement rows directly (no PDF: money tests do not need one) and
opens the ``agreement_signed`` gates exactly as the agreements service does — an
``agreement.fully_signed`` audit event handed to ``open_gates_for_signature``. Gate tests that are
about the signature itself sign a real agreement (tests/agreements helpers)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import Session, col, select

from tests.agreements.conftest import pool  # noqa: F401  (fixture)

DEFAULT_SCHEDULE = (
    ("首期款", 40_000_00, "agreement_signed"),
    ("中期款", 30_000_00, "midterm_check_passed"),
    ("尾款", 30_000_00, "acceptance_passed"),
)


def user(session: Session, username: str) -> Any:
    from backend.auth.models import User

    return session.exec(select(User).where(User.username == username)).one()


def funded_agreement(
    session: Session,
    schedule: tuple[tuple[str, int, str], ...] = DEFAULT_SCHEDULE,
    grant_fen: int | None = None,
) -> Any:
    """A fully signed agreement of the demo's first signed work's parties; returns it (committed).
    Written in its own writer session (SQLite: BEGIN IMMEDIATE), like a request."""
    from backend.core.db import session_scope

    session.commit()  # end the caller's read transaction: it must see what follows
    with session_scope() as s:
        return _funded_agreement(s, schedule, grant_fen)


def _funded_agreement(
    session: Session, schedule: tuple[tuple[str, int, str], ...], grant_fen: int | None
) -> Any:
    from backend.agreements.models import Agreement, AgreementMilestone, AgreementStatus
    from backend.audit_log.service import record
    from backend.core.db import utcnow
    from backend.funding.service import open_gates_for_signature

    base = session.exec(
        select(Agreement)
        .where(Agreement.status == AgreementStatus.fully_signed.value)
        .order_by(col(Agreement.id))
    ).first()
    assert base is not None
    version = (
        max(
            a.version
            for a in session.exec(select(Agreement).where(Agreement.work_id == base.work_id))
        )
        + 1
    )
    grant = sum(a for _n, a, _g in schedule) if grant_fen is None else grant_fen
    ministry = user(session, "ministry")
    ag = Agreement(
        work_id=base.work_id,
        version=version,
        number=f"T-{uuid.uuid4().hex[:10]}",
        status=AgreementStatus.fully_signed.value,
        grant_fen=grant,
        producer_org_id=base.producer_org_id,
        unit_org_id=base.unit_org_id,
        ministry_org_id=base.ministry_org_id,
        created_by=ministry.id,
        fully_signed_at=utcnow(),
    )
    session.add(ag)
    session.flush()
    for seq, (name, amount, gate) in enumerate(schedule, start=1):
        session.add(
            AgreementMilestone(agreement_id=ag.id, seq=seq, name=name, amount_fen=amount, gate=gate)
        )
    session.flush()
    event = record(
        session,
        actor=ministry,
        action="agreement.fully_signed",
        object_type="agreement",
        object_id=ag.id,
        payload={"grant_fen": grant, "factory": True},
    )
    open_gates_for_signature(session, ag, event, ministry)
    return ag


def milestones(session: Session, agreement_id: int) -> list[Any]:
    from backend.agreements.models import AgreementMilestone

    rows = list(
        session.exec(
            select(AgreementMilestone)
            .where(AgreementMilestone.agreement_id == agreement_id)
            .order_by(col(AgreementMilestone.seq))
        ).all()
    )
    session.commit()  # no read transaction left open (SQLite WAL snapshot)
    return rows


@pytest.fixture
def keys() -> Any:
    """keys() → a fresh Idempotency-Key header dict."""
    return lambda: {"Idempotency-Key": uuid.uuid4().hex}


def post(
    client: Any, url: str, headers: dict[str, str], json: Any = None, key: str | None = None
) -> Any:
    h = dict(headers)
    h["Idempotency-Key"] = key or uuid.uuid4().hex
    return client.post(url, json=json if json is not None else {}, headers=h)
