"""Finance summary: the SQL aggregates equal an independent count over the rows (demo data, then
after a payment, an overdue milestone and a reversal)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, select

from tests.funding.conftest import funded_agreement, milestones, user


def expected_by_unit(session: Session, today: date) -> dict[str, dict[str, int]]:
    """The same figures, the slow obvious way: Python over every row."""
    from backend.agreements.models import Agreement, AgreementMilestone
    from backend.funding.ledger import DisbursementState, state_of
    from backend.funding.models import Disbursement, DisbursementEntry, MilestoneGateOpening
    from backend.orgs.models import RecommendingUnit
    from backend.works.models import Work

    opened = {g.milestone_id for g in session.exec(select(MilestoneGateOpening))}
    entries = list(session.exec(select(DisbursementEntry)))
    out: dict[str, dict[str, int]] = {}
    for ag in session.exec(select(Agreement).where(Agreement.status == "fully_signed")):
        unit = session.get(RecommendingUnit, session.get(Work, ag.work_id).unit_id)  # type: ignore[union-attr]
        row = out.setdefault(
            unit.code,
            dict.fromkeys(  # type: ignore[union-attr]
                (
                    "agreements",
                    "granted_fen",
                    "unlocked_fen",
                    "requested_fen",
                    "approved_fen",
                    "paid_fen",
                    "overdue_fen",
                ),
                0,
            ),
        )
        row["agreements"] += 1
        row["granted_fen"] += ag.grant_fen
        for m in session.exec(
            select(AgreementMilestone).where(AgreementMilestone.agreement_id == ag.id)
        ):
            paid_m = sum(e.paid_delta_fen for e in entries if e.milestone_id == m.id)
            if m.id in opened:
                row["unlocked_fen"] += m.amount_fen
            if m.planned_date and m.planned_date < today and paid_m < m.amount_fen:
                row["overdue_fen"] += m.amount_fen - paid_m
        for d in session.exec(select(Disbursement).where(Disbursement.agreement_id == ag.id)):
            mine = [e for e in entries if e.disbursement_id == d.id]
            state = state_of(e.kind for e in mine)
            if state == DisbursementState.requested:
                row["requested_fen"] += d.amount_fen
            elif state == DisbursementState.approved:
                row["approved_fen"] += d.amount_fen
            row["paid_fen"] += sum(e.paid_delta_fen for e in mine)
    for row in out.values():
        row["outstanding_fen"] = row["granted_fen"] - row["paid_fen"]
    return out


def as_dict(rows: list[Any]) -> dict[str, dict[str, int]]:
    return {
        r.key: {k: v for k, v in r.as_dict().items() if k not in ("key", "label")} for r in rows
    }


def test_summary_by_unit_matches_the_rows_on_demo_data(session: Session) -> None:
    from backend.funding.summary import summary

    today = date(2026, 12, 31)
    got = as_dict(summary(session, "unit", today))
    assert got == expected_by_unit(session, today)
    assert sum(r["paid_fen"] for r in got.values()) > 0  # the demo paid something


def test_summary_follows_a_payment_an_overdue_milestone_and_a_reversal(session: Session) -> None:
    from backend.agreements.models import AgreementMilestone
    from backend.core.db import session_scope
    from backend.funding import service
    from backend.funding.summary import summary, total

    today = date(2026, 12, 1)
    before = total(summary(session, "unit", today))
    ag = funded_agreement(session)
    first, second, _third = milestones(session, ag.id)
    with session_scope() as s:
        m = s.get(AgreementMilestone, second.id)
        m.planned_date = today - timedelta(days=1)  # 中期款 planned yesterday, gate still locked
        fa, fb = user(s, "finance-a"), user(s, "finance-b")
        d = service.request_disbursement(s, fa, milestone_id=first.id, amount_fen=first.amount_fen)
        service.approve(s, fb, d.id)
        service.pay(s, fb, d.id, voucher_no="V1", bank_reference="B1")
    session.commit()
    after = total(summary(session, "unit", today))
    assert after.agreements == before.agreements + 1
    assert after.granted_fen == before.granted_fen + ag.grant_fen
    assert after.paid_fen == before.paid_fen + first.amount_fen
    assert after.unlocked_fen == before.unlocked_fen + first.amount_fen
    assert after.overdue_fen == before.overdue_fen + second.amount_fen
    session.expire_all()  # the milestone rows loaded above are stale
    assert as_dict(summary(session, "unit", today)) == expected_by_unit(session, today)
    with session_scope() as s:
        service.request_reversal(s, user(s, "finance-b"), d.id, "银行退票")
    session.commit()
    assert total(summary(session, "unit", today)).paid_fen == after.paid_fen  # not yet approved
    with session_scope() as s:
        service.approve_reversal(s, user(s, "finance-a"), d.id)
    session.commit()
    reversed_ = total(summary(session, "unit", today))
    assert reversed_.paid_fen == before.paid_fen
    assert as_dict(summary(session, "batch", today)).keys()
    assert sum(r.paid_fen for r in summary(session, "batch", today)) == reversed_.paid_fen
