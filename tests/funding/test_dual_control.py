"""Issue 14.12: dual control on every money step. Whoever requested a disbursement can neither
approve nor pay it; a reversal (冲销) is requested by one finance user and approved (or turned
down) by another, through the API and the pages."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session

from tests.funding.conftest import funded_agreement, milestones, post
from tests.funding.test_pages import login

PAY = {"voucher_no": "PZ-D", "bank_reference": "BR-D"}


def _paid(client: Any, token_for: Any, milestone_id: int, amount: int = 500) -> int:
    d = post(
        client, "/api/v1/disbursements", token_for("finance-a"),
        {"milestone_id": milestone_id, "amount_fen": amount},
    ).json()["id"]  # fmt: skip
    assert post(client, f"/api/v1/disbursements/{d}/approve", token_for("finance-b")).is_success
    assert post(client, f"/api/v1/disbursements/{d}/pay", token_for("finance-b"), PAY).is_success
    return int(d)


def _paid_total(client: Any, token_for: Any, agreement_id: int) -> int:
    f = client.get(f"/api/v1/agreements/{agreement_id}/funding", headers=token_for("auditor"))
    return int(f.json()["totals"]["paid_fen"])


def test_requester_cannot_record_the_payment(session: Session, client: Any, token_for: Any) -> None:
    m1 = milestones(session, funded_agreement(session).id)[0]
    d = post(
        client, "/api/v1/disbursements", token_for("finance-a"),
        {"milestone_id": m1.id, "amount_fen": 100},
    ).json()["id"]  # fmt: skip
    assert post(client, f"/api/v1/disbursements/{d}/approve", token_for("finance-b")).is_success
    r = post(client, f"/api/v1/disbursements/{d}/pay", token_for("finance-a"), PAY)
    assert r.status_code == 403 and r.json()["code"] == "maker_checker", r.text
    got = client.get(f"/api/v1/disbursements/{d}", headers=token_for("auditor")).json()
    assert got["state"] == "approved"
    assert post(client, f"/api/v1/disbursements/{d}/pay", token_for("finance-b"), PAY).is_success


def test_reversal_needs_a_second_finance_user(
    session: Session, client: Any, token_for: Any
) -> None:
    ag = funded_agreement(session)
    d = _paid(client, token_for, milestones(session, ag.id)[0].id)
    before = _paid_total(client, token_for, ag.id)
    r = post(
        client, f"/api/v1/disbursements/{d}/reverse", token_for("finance-b"), {"reason": "退票"}
    )
    assert r.status_code == 200 and r.json()["state"] == "reversal_requested"
    assert _paid_total(client, token_for, ag.id) == before  # nothing moves on a request
    again = post(
        client, f"/api/v1/disbursements/{d}/reverse", token_for("finance-a"), {"reason": "x"}
    )
    assert again.status_code == 409 and again.json()["code"] == "reversal_pending"
    for step in ("approve", "reject"):
        own = post(
            client, f"/api/v1/disbursements/{d}/reversal/{step}", token_for("finance-b"),
            {"reason": "自己批"} if step == "reject" else {},
        )  # fmt: skip
        assert own.status_code == 403 and own.json()["code"] == "maker_checker", own.text
    ok = post(client, f"/api/v1/disbursements/{d}/reversal/approve", token_for("finance-a"))
    assert ok.status_code == 200 and ok.json()["state"] == "reversed"
    kinds = [(e["kind"], e["actor"]) for e in ok.json()["entries"]]
    assert kinds[-2:] == [("reversal_requested", "finance-b"), ("reversed", "finance-a")]
    assert ok.json()["entries"][-1]["paid_delta_fen"] == -500
    assert _paid_total(client, token_for, ag.id) == before - 500
    audit = client.get(f"/api/v1/agreements/{ag.id}/funding", headers=token_for("auditor")).json()
    actions = [e["action"] for e in audit["timeline"]]
    assert "funding.disbursement_reversal_requested" in actions
    assert "funding.disbursement_reversed" in actions


def test_turned_down_reversal_leaves_the_payment_and_closes_reversal(
    session: Session, client: Any, token_for: Any
) -> None:
    ag = funded_agreement(session)
    d = _paid(client, token_for, milestones(session, ag.id)[0].id)
    before = _paid_total(client, token_for, ag.id)
    post(
        client, f"/api/v1/disbursements/{d}/reverse", token_for("finance-a"), {"reason": "疑似重复"}
    )
    empty = post(client, f"/api/v1/disbursements/{d}/reversal/reject", token_for("finance-b"), {})
    assert empty.status_code == 422 and "reason" in empty.json()["fields"]
    r = post(
        client, f"/api/v1/disbursements/{d}/reversal/reject", token_for("finance-b"),
        {"reason": "银行回单确认已到账"},
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["state"] == "paid", r.text
    assert _paid_total(client, token_for, ag.id) == before
    late = post(client, f"/api/v1/disbursements/{d}/reversal/approve", token_for("finance-b"))
    assert late.status_code == 409 and late.json()["code"] == "not_pending"
    anew = post(
        client, f"/api/v1/disbursements/{d}/reverse", token_for("finance-b"), {"reason": "x"}
    )
    assert anew.status_code == 409 and anew.json()["code"] == "reversal_closed"


def _row(page: str, d_id: int) -> str:
    m = re.search(rf'<tr id="disbursement-{d_id}">(.*?)</tr>', page, re.S)
    assert m, d_id
    return m.group(1)


def test_pages_offer_each_step_only_to_the_other_finance_user(
    session: Session, client: Any, token_for: Any
) -> None:
    ag = funded_agreement(session)
    m1 = milestones(session, ag.id)[0]
    approved = post(
        client, "/api/v1/disbursements", token_for("finance-a"),
        {"milestone_id": m1.id, "amount_fen": 100},
    ).json()["id"]  # fmt: skip
    post(client, f"/api/v1/disbursements/{approved}/approve", token_for("finance-b"))
    paid = _paid(client, token_for, m1.id)
    post(
        client, f"/api/v1/disbursements/{paid}/reverse", token_for("finance-b"), {"reason": "退票"}
    )

    login(client, "finance-a")  # requested both; did not ask for the reversal
    page = client.get(f"/finance/agreements/{ag.id}").text
    assert "confirm/pay" not in _row(page, approved) and "须由申请人以外" in _row(page, approved)
    assert "confirm/approve_reversal" in _row(page, paid)
    login(client, "finance-b")
    page = client.get(f"/finance/agreements/{ag.id}").text
    assert "confirm/pay" in _row(page, approved)
    assert "confirm/approve_reversal" not in _row(page, paid)
    assert "冲销须由另一名财务人员批准" in _row(page, paid)

    login(client, "finance-a")
    page = client.get(f"/finance/agreements/{ag.id}").text
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": csrf, "idempotency_key": f"rev-{paid}", "disbursement_id": str(paid)}
    confirm = client.post(
        f"/finance/agreements/{ag.id}/confirm/approve_reversal", data={**form, "note": ""}
    )
    assert confirm.status_code == 200 and "确认批准冲销" in confirm.text
    done = client.post(
        f"/finance/agreements/{ag.id}/actions/approve_reversal", data={**form, "note": ""},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303 and "error=" not in done.headers["location"]
    got = client.get(f"/api/v1/disbursements/{paid}").json()
    assert got["state"] == "reversed"
