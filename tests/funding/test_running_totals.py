"""Running totals per milestone (milestone_money) stay equal to the ledger they summarise: after a
mix of request / approve / reject / pay / reverse, when rebuilt by the migration's backfill, and
(PostgreSQL) when two payments on one agreement commit at the same moment."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from tests.funding.conftest import funded_agreement, milestones, user
from tests.funding.test_summary import as_dict, expected_by_unit

SCHEDULE = (
    ("首期款", 50_000_00, "agreement_signed"),
    ("第二期", 50_000_00, "agreement_signed"),
)


def from_ledger(session: Session) -> dict[int, tuple[int, int, int]]:
    """(requested, approved, paid) per milestone, recomputed from every ledger row in Python."""
    from backend.funding.ledger import DisbursementState, state_of
    from backend.funding.models import Disbursement, DisbursementEntry

    entries = list(session.exec(select(DisbursementEntry)))
    out: dict[int, list[int]] = {}
    for d in session.exec(select(Disbursement)):
        row = out.setdefault(d.milestone_id, [0, 0, 0])
        mine = [e for e in entries if e.disbursement_id == d.id]
        state = state_of(e.kind for e in mine)
        row[0] += d.amount_fen if state == DisbursementState.requested else 0
        row[1] += d.amount_fen if state == DisbursementState.approved else 0
        row[2] += sum(e.paid_delta_fen for e in mine)
    return {m: (r[0], r[1], r[2]) for m, r in out.items()}


def stored(session: Session) -> dict[int, tuple[int, int, int]]:
    from backend.funding.models import MilestoneMoney

    session.expire_all()
    return {
        r.milestone_id: (r.requested_fen, r.approved_fen, r.paid_fen)
        for r in session.exec(select(MilestoneMoney))
    }


def test_totals_equal_the_ledger_after_a_mix_of_steps_and_after_the_backfill(
    session: Session,
) -> None:
    from backend.core.db import session_scope
    from backend.funding import service
    from backend.funding.summary import summary
    from backend.migrations.versions.c4f2b8d61e03_milestone_money import BACKFILL

    ag = funded_agreement(session, SCHEDULE)
    m1, m2 = milestones(session, ag.id)
    with session_scope() as s:
        fa, fb = user(s, "finance-a"), user(s, "finance-b")

        def req(m: Any, fen: int) -> int:
            return int(service.request_disbursement(s, fa, milestone_id=m.id, amount_fen=fen).id)

        waiting = req(m1, 1_000_00)  # stays 待审批
        approved = req(m1, 2_000_00)
        service.approve(s, fb, approved)  # stays 已审批待拨付
        rejected = req(m1, 3_000_00)
        service.reject(s, fb, rejected, "金额有误")
        paid = req(m2, 4_000_00)
        reversed_ = req(m2, 5_000_00)
        kept = req(m2, 6_000_00)
        for did in (paid, reversed_, kept):
            service.approve(s, fb, did)
            service.pay(s, fb, did, voucher_no=f"V{did}", bank_reference=f"B{did}")
        service.request_reversal(s, fb, reversed_, "银行退票")
        service.approve_reversal(s, fa, reversed_)
        service.request_reversal(s, fb, kept, "核对")
        service.reject_reversal(s, fa, kept, "款项无误")
        pending = req(m1, 7_000_00)
        service.approve(s, fb, pending)
        service.pay(s, fb, pending, voucher_no="V-p", bank_reference="B-p")
        service.request_reversal(s, fb, pending, "待定")  # reversal still waiting: money stays paid
        assert waiting
    session.commit()
    live = stored(session)
    assert live == from_ledger(session)
    assert live[m1.id] == (1_000_00, 2_000_00, 7_000_00)
    assert live[m2.id] == (0, 0, 10_000_00)
    today = date(2026, 12, 31)
    assert as_dict(summary(session, "unit", today)) == expected_by_unit(session, today)

    # The migration's backfill rebuilds exactly what the service wrote step by step.
    session.execute(text("DELETE FROM milestone_money"))
    session.execute(text(BACKFILL))
    session.commit()
    assert stored(session) == live


@pytest.mark.postgres
def test_two_concurrent_payments_on_one_agreement_both_count(
    env: dict[str, Any], session: Session
) -> None:
    """Two real connections pay two requests of the same milestone at the same moment: the
    running total gains both amounts (no lost update)."""
    from backend.core.db import session_scope
    from backend.funding import service

    ag = funded_agreement(session, SCHEDULE)
    m1, _m2 = milestones(session, ag.id)
    with session_scope() as s:
        fa, fb = user(s, "finance-a"), user(s, "finance-b")
        ids = []
        for fen in (1_000_00, 2_000_00):
            d = service.request_disbursement(s, fa, milestone_id=m1.id, amount_fen=fen)
            service.approve(s, fb, d.id)
            ids.append(d.id)
    session.commit()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def pay(did: int) -> None:
        try:
            with session_scope() as s:
                payer = user(s, "finance-b")
                barrier.wait()
                service.pay(s, payer, did, voucher_no=f"V{did}", bank_reference=f"B{did}")
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)

    threads = [threading.Thread(target=pay, args=(did,)) for did in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stored(session)[m1.id] == (0, 0, 3_000_00)
    assert stored(session) == from_ledger(session)
