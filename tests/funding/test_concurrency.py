"""PostgreSQL: 50 clients at once against one milestone. Requests never commit more than the
milestone, payments never pay more than it, and each request is paid at most once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.funding.conftest import funded_agreement, milestones, user

CLIENTS = 50


def _parallel(fn: Any, n: int) -> list[Any]:
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


@pytest.mark.postgres
def test_fifty_parallel_requests_and_payments_never_exceed_the_milestone(
    env: dict[str, Any], session: Session
) -> None:
    from backend.core.db import session_scope
    from backend.core.errors import JingpinError
    from backend.funding import service
    from backend.funding.ledger import totals_by_milestone
    from backend.funding.models import DisbursementEntry

    ag = funded_agreement(session, (("首期款", 10_000, "agreement_signed"),))
    m = milestones(session, ag.id)[0]
    fa, fb = user(session, "finance-a"), user(session, "finance-b")
    session.commit()

    def request(i: int) -> Any:
        try:
            with session_scope() as s:
                return service.request_disbursement(
                    s, fa if i % 2 else fb, milestone_id=m.id, amount_fen=1_000
                ).id
        except JingpinError as exc:
            return exc.status_code

    results = _parallel(request, CLIENTS)
    ids = [r for r in results if not isinstance(r, int) or r not in (409, 422)]
    assert len(ids) == 10 and results.count(422) == CLIENTS - 10

    for did in ids:
        with session_scope() as s:
            d = service.get_disbursement(s, fa, did)
            service.approve(s, fb if d.requested_by == fa.id else fa, did)

    def pay(i: int) -> Any:
        try:
            with session_scope() as s:
                service.pay(
                    s, fa, ids[i % len(ids)], voucher_no=f"PZ-{i}", bank_reference=f"BR-{i}"
                )
                return "paid"
        except JingpinError as exc:
            return exc.status_code

    paid = _parallel(pay, CLIENTS)
    assert paid.count("paid") == len(ids) and paid.count(409) == CLIENTS - len(ids)

    # a last race: 50 more requests on the now fully committed milestone are all refused
    assert set(_parallel(request, CLIENTS)) == {422}

    with Session(session.get_bind()) as s:
        totals = totals_by_milestone(s, agreement_id=ag.id)[m.id]
        entries = s.exec(
            select(DisbursementEntry).where(
                DisbursementEntry.milestone_id == m.id, DisbursementEntry.kind == "paid"
            )
        ).all()
    assert totals.paid_fen == totals.committed_fen == m.amount_fen
    assert sorted(e.disbursement_id for e in entries) == sorted(ids)
