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

    def request(i: int) -> tuple[str, Any]:
        """("ok", disbursement id) or ("refused", (HTTP status, error code)): never mixed up."""
        try:
            with session_scope() as s:
                d = service.request_disbursement(
                    s, fa if i % 2 else fb, milestone_id=m.id, amount_fen=1_000
                )
                return "ok", d.id
        except JingpinError as exc:
            return "refused", (exc.status_code, exc.code)

    results = _parallel(request, CLIENTS)
    ids = [value for outcome, value in results if outcome == "ok"]
    refusals = [value for outcome, value in results if outcome == "refused"]
    assert len(ids) == len(set(ids)) == 10  # 10 × 1 000 fill the 10 000 milestone exactly
    assert refusals == [(422, "over_request")] * (CLIENTS - 10)

    payer = {}  # dual control: the other finance user approves and pays
    for did in ids:
        with session_scope() as s:
            d = service.get_disbursement(s, fa, did)
            payer[did] = fb if d.requested_by == fa.id else fa
            service.approve(s, payer[did], did)

    def pay(i: int) -> tuple[int, str, Any]:
        """(the disbursement paid, "paid" or "refused", None or (status, code))."""
        did = ids[i % len(ids)]
        try:
            with session_scope() as s:
                service.pay(s, payer[did], did, voucher_no=f"PZ-{i}", bank_reference=f"BR-{i}")
                return did, "paid", None
        except JingpinError as exc:
            return did, "refused", (exc.status_code, exc.code)

    payments = _parallel(pay, CLIENTS)
    tries = CLIENTS // len(ids)  # each disbursement is paid by 5 clients at once
    for did in ids:  # exactly one of them pays it; the others find it paid already
        got = sorted((outcome, why) for d, outcome, why in payments if d == did)
        assert got == [("paid", None)] + [("refused", (409, "not_approved"))] * (tries - 1), got

    # a last race: 50 more requests on the now fully committed milestone are all refused
    assert _parallel(request, CLIENTS) == [("refused", (422, "over_request"))] * CLIENTS

    with Session(session.get_bind()) as s:
        totals = totals_by_milestone(s, agreement_id=ag.id)[m.id]
        entries = s.exec(
            select(DisbursementEntry).where(
                DisbursementEntry.milestone_id == m.id, DisbursementEntry.kind == "paid"
            )
        ).all()
    assert totals.paid_fen == totals.committed_fen == m.amount_fen
    assert sorted(e.disbursement_id for e in entries) == sorted(ids)
