"""Random request / approve / reject / pay / request-reversal / approve- or reject-reversal
sequences through the service layer (SQLite), tried by both finance users and an auditor; after
every step the ledger invariants hold, every refusal is the one a simple model predicts (who may do
each step and in which state), and no ledger line was written by whoever asked for that step."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlmodel import Session, select

from tests.funding.conftest import funded_agreement, milestones, user

FINANCE = ("finance-a", "finance-b")
WHO = (*FINANCE, "auditor")  # who tries each step: the two finance users and a non-finance one
SCHEDULE = (
    ("首期款", 1_000, "agreement_signed"),
    ("二期款", 500, "agreement_signed"),
    ("尾款", 700, "acceptance_passed"),
)


def run_state_machine(env: dict[str, Any]) -> None:
    from backend.core.db import get_engine, session_scope
    from backend.core.errors import JingpinError
    from backend.funding import service
    from backend.funding.ledger import totals_by_milestone
    from backend.funding.models import Disbursement, DisbursementEntry

    with Session(get_engine(), expire_on_commit=False) as s:
        users = {n: user(s, n) for n in WHO}

    class Ledger(RuleBasedStateMachine):
        @initialize()
        def setup(self) -> None:
            with Session(get_engine(), expire_on_commit=False) as s:
                self.ag = funded_agreement(s, SCHEDULE)
                self.ms = milestones(s, self.ag.id)
            self.open = {m.id for m in self.ms if m.gate == "agreement_signed"}
            self.model: dict[int, dict[str, Any]] = {}  # id → {state, amount, milestone, by}

        def _call(self, fn: Any, *args: Any, **kw: Any) -> tuple[Any, int | None]:
            try:
                with session_scope() as s:
                    return fn(s, *args, **kw), None
            except JingpinError as exc:
                return None, exc.status_code

        def _committed(self, mid: int) -> int:
            return sum(
                d["amount"]
                for d in self.model.values()
                if d["milestone"] == mid
                and d["state"] in ("requested", "approved", "paid", "reversal_requested")
            )

        @rule(
            index=st.integers(0, 2),
            amount=st.integers(-5, 1_100),
            who=st.sampled_from(WHO),
        )
        def request(self, index: int, amount: int, who: str) -> None:
            m = self.ms[index]
            d, status = self._call(
                service.request_disbursement, users[who], milestone_id=m.id, amount_fen=amount
            )
            if who not in FINANCE:
                expected: int | None = 403
            elif amount <= 0:
                expected = 422
            elif m.id not in self.open:
                expected = 409
            elif amount > m.amount_fen - self._committed(m.id):
                expected = 422
            else:
                expected = None
            assert status == expected, (amount, status, expected)
            if d is not None:
                self.model[d.id] = {
                    "state": "requested",
                    "amount": amount,
                    "milestone": m.id,
                    "by": who,
                }

        def _pick(self, data: Any) -> int:
            return data.draw(st.sampled_from(sorted(self.model)))

        @precondition(lambda self: bool(self.model))
        @rule(data=st.data(), who=st.sampled_from(WHO), approve=st.booleans())
        def decide(self, data: Any, who: str, approve: bool) -> None:
            did = self._pick(data)
            d = self.model[did]
            if approve:
                _, status = self._call(service.approve, users[who], did)
            else:
                _, status = self._call(service.reject, users[who], did, "退回")
            if who not in FINANCE or d["by"] == who:
                expected: int | None = 403
            else:
                expected = 409 if d["state"] != "requested" else None
            assert status == expected
            if status is None:
                d["state"] = "approved" if approve else "rejected"

        @precondition(lambda self: bool(self.model))
        @rule(data=st.data(), who=st.sampled_from(WHO))
        def pay(self, data: Any, who: str) -> None:
            did = self._pick(data)
            d = self.model[did]
            _, status = self._call(
                service.pay, users[who], did, voucher_no="PZ", bank_reference="BR"
            )
            if who not in FINANCE or d["by"] == who:  # whoever asked never records the payment
                expected: int | None = 403
            else:
                expected = None if d["state"] == "approved" else 409
            assert status == expected
            if status is None:
                d["state"] = "paid"

        @precondition(lambda self: bool(self.model))
        @rule(data=st.data(), who=st.sampled_from(WHO))
        def request_reversal(self, data: Any, who: str) -> None:
            did = self._pick(data)
            d = self.model[did]
            _, status = self._call(service.request_reversal, users[who], did, "冲销")
            if who not in FINANCE:
                expected: int | None = 403
            else:  # only paid money, once: a turned-down reversal is not asked for again
                expected = None if d["state"] == "paid" and not d.get("rev_closed") else 409
            assert status == expected
            if status is None:
                d["state"], d["rev_by"] = "reversal_requested", who

        @precondition(lambda self: bool(self.model))
        @rule(data=st.data(), who=st.sampled_from(WHO), approve=st.booleans())
        def decide_reversal(self, data: Any, who: str, approve: bool) -> None:
            did = self._pick(data)
            d = self.model[did]
            if approve:
                _, status = self._call(service.approve_reversal, users[who], did)
            else:
                _, status = self._call(service.reject_reversal, users[who], did, "不冲销")
            if who not in FINANCE or d.get("rev_by") == who:
                expected: int | None = 403
            else:
                expected = None if d["state"] == "reversal_requested" else 409
            assert status == expected
            if status is None:
                d["state"] = "reversed" if approve else "paid"
                d["rev_closed"] = True

        @invariant()
        def nobody_checks_their_own_step(self) -> None:
            """Each ledger line's actor differs from whoever asked for that step."""
            if not hasattr(self, "ag"):
                return
            with Session(get_engine()) as s:
                rows = s.exec(
                    select(DisbursementEntry, Disbursement)
                    .join(Disbursement, Disbursement.id == DisbursementEntry.disbursement_id)
                    .where(Disbursement.agreement_id == self.ag.id)
                ).all()
            asked = {
                e.disbursement_id: e.actor_id for e, _d in rows if e.step == "reversal_request"
            }
            for e, d in rows:
                if e.step in ("decision", "payment"):
                    assert e.actor_id != d.requested_by
                if e.step == "reversal":
                    assert e.actor_id != asked[e.disbursement_id]

        @invariant()
        def money_never_exceeds(self) -> None:
            if not hasattr(self, "ag"):
                return
            with Session(get_engine()) as s:
                totals = totals_by_milestone(s, agreement_id=self.ag.id)
                entries = s.exec(
                    select(DisbursementEntry).where(
                        DisbursementEntry.milestone_id.in_([m.id for m in self.ms])
                    )
                ).all()  # type: ignore[attr-defined]
            for m in self.ms:
                t = totals[m.id]
                assert 0 <= t.paid_fen <= m.amount_fen
                assert t.committed_fen <= m.amount_fen
                assert t.committed_fen == self._committed(m.id)
                assert t.paid_fen == sum(
                    d["amount"]
                    for d in self.model.values()
                    if d["milestone"] == m.id and d["state"] in ("paid", "reversal_requested")
                )
            assert sum(t.paid_fen for t in totals.values()) <= self.ag.grant_fen
            paid = [e.disbursement_id for e in entries if e.kind == "paid"]
            assert len(paid) == len(set(paid))

    Ledger.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    Ledger.TestCase().runTest()


def test_ledger_invariants_hold_under_random_sequences(env: dict[str, Any]) -> None:
    if env["backend"] != "sqlite":
        pytest.skip("the state machine runs on SQLite; PostgreSQL concurrency has its own test")
    run_state_machine(env)
