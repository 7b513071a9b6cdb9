"""The disbursement API: maker-checker, idempotency, refusals with their status codes, roles."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from tests.funding.conftest import funded_agreement, milestones, post


def _request(
    client: Any,
    token_for: Any,
    milestone_id: int,
    amount: Any,
    who: str = "finance-a",
    key: str | None = None,
) -> Any:
    return post(
        client,
        "/api/v1/disbursements",
        token_for(who),
        {"milestone_id": milestone_id, "amount_fen": amount, "planned_on": "2026-12-01"},
        key,
    )


def test_request_approve_pay_by_two_finance_users(
    session: Session, client: Any, token_for: Any
) -> None:
    ag = funded_agreement(session)
    m1 = milestones(session, ag.id)[0]
    r = _request(client, token_for, m1.id, 25_000_00)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["state"] == "requested" and d["bank_account"] == "1202021109900012345"
    assert (
        post(client, f"/api/v1/disbursements/{d['id']}/approve", token_for("finance-b")).status_code
        == 200
    )
    r = post(
        client,
        f"/api/v1/disbursements/{d['id']}/pay",
        token_for("finance-b"),
        {"voucher_no": "PZ-1", "bank_reference": "BR-1", "paid_on": "2026-12-01"},
    )
    assert r.status_code == 200 and r.json()["state"] == "paid"
    f = client.get(f"/api/v1/agreements/{ag.id}/funding", headers=token_for("auditor")).json()
    assert f["milestones"][0]["paid_fen"] == 25_000_00 and f["milestones"][0]["status"] == "due"
    assert f["milestones"][0]["gate_opening"]["source"] == "agreement_signed"
    assert f["milestones"][1]["status"] == "locked"
    actions = [e["action"] for e in f["timeline"]]
    for a in (
        "agreement.fully_signed",
        "funding.gate_opened",
        "funding.disbursement_requested",
        "funding.disbursement_approved",
        "funding.disbursement_paid",
    ):
        assert a in actions
    assert {e["actor"] for e in f["timeline"]} >= {"finance-a", "finance-b"}


def test_requester_never_approves_own_request(
    session: Session, client: Any, token_for: Any
) -> None:
    m1 = milestones(session, funded_agreement(session).id)[0]
    d = _request(client, token_for, m1.id, 100).json()
    for action in ("approve", "reject"):
        r = post(
            client,
            f"/api/v1/disbursements/{d['id']}/{action}",
            token_for("finance-a"),
            {"reason": "x"} if action == "reject" else {},
        )
        assert r.status_code == 403 and r.json()["code"] == "maker_checker"


def test_replay_returns_first_response_and_key_reuse_is_409(
    session: Session, client: Any, token_for: Any
) -> None:
    m1 = milestones(session, funded_agreement(session).id)[0]
    first = _request(client, token_for, m1.id, 1_000_00, key="k-1")
    again = _request(client, token_for, m1.id, 1_000_00, key="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    other = _request(client, token_for, m1.id, 2_000_00, key="k-1")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    listing = client.get(
        f"/api/v1/disbursements?agreement_id={m1.agreement_id}", headers=token_for("finance-b")
    )
    assert len(listing.json()) == 1
    # the same key is another user's own key
    assert (
        _request(client, token_for, m1.id, 2_000_00, who="finance-b", key="k-1").status_code == 201
    )
    missing = client.post(
        "/api/v1/disbursements",
        json={"milestone_id": m1.id, "amount_fen": 1},
        headers=token_for("finance-a"),
    )
    assert missing.status_code == 422 and missing.json()["code"] == "idempotency_key_missing"


def test_over_request_is_422_stating_what_is_left(
    session: Session, client: Any, token_for: Any
) -> None:
    m1 = milestones(session, funded_agreement(session).id)[0]  # ¥40,000.00
    assert _request(client, token_for, m1.id, 28_000_00).status_code == 201
    r = _request(client, token_for, m1.id, 12_000_01)
    assert r.status_code == 422 and r.json()["message"] == "该节点剩余可申请金额为 ¥12,000.00"
    assert r.json()["remaining_fen"] == 12_000_00


def test_rejected_amount_is_free_again(session: Session, client: Any, token_for: Any) -> None:
    m1 = milestones(session, funded_agreement(session).id)[0]
    d = _request(client, token_for, m1.id, 40_000_00).json()
    assert (
        post(
            client,
            f"/api/v1/disbursements/{d['id']}/reject",
            token_for("finance-b"),
            {"reason": "金额有误"},
        ).status_code
        == 200
    )
    assert _request(client, token_for, m1.id, 40_000_00).status_code == 201


def test_locked_gate_and_zero_grant_are_409(session: Session, client: Any, token_for: Any) -> None:
    ms = milestones(session, funded_agreement(session).id)
    r = _request(client, token_for, ms[1].id, 100)
    assert r.status_code == 409 and r.json()["code"] == "gate_locked"
    zero = funded_agreement(session, grant_fen=0)
    r = _request(client, token_for, milestones(session, zero.id)[0].id, 100)
    assert r.status_code == 409 and r.json()["code"] == "zero_grant"


def test_negative_zero_and_fractional_amounts_are_422(
    session: Session, client: Any, token_for: Any
) -> None:
    m1 = milestones(session, funded_agreement(session).id)[0]
    for amount in (-100, 0, 12.5, 100.0, "100", True):
        assert _request(client, token_for, m1.id, amount).status_code == 422, amount


def test_pay_rejected_or_paid_and_reverse_twice_are_409(
    session: Session, client: Any, token_for: Any
) -> None:
    m1 = milestones(session, funded_agreement(session).id)[0]
    pay = {"voucher_no": "PZ", "bank_reference": "BR"}
    rejected = _request(client, token_for, m1.id, 100).json()
    post(
        client,
        f"/api/v1/disbursements/{rejected['id']}/reject",
        token_for("finance-b"),
        {"reason": "不对"},
    )
    assert (
        post(
            client, f"/api/v1/disbursements/{rejected['id']}/pay", token_for("finance-b"), pay
        ).status_code
        == 409
    )
    d = _request(client, token_for, m1.id, 200).json()
    assert (
        post(
            client, f"/api/v1/disbursements/{d['id']}/pay", token_for("finance-b"), pay
        ).status_code
        == 409
    )
    post(client, f"/api/v1/disbursements/{d['id']}/approve", token_for("finance-b"))
    assert (
        post(
            client, f"/api/v1/disbursements/{d['id']}/pay", token_for("finance-b"), pay
        ).status_code
        == 200
    )
    again = post(client, f"/api/v1/disbursements/{d['id']}/pay", token_for("finance-b"), pay)
    assert again.status_code == 409
    r = post(
        client,
        f"/api/v1/disbursements/{d['id']}/reverse",
        token_for("finance-a"),
        {"reason": "退票"},
    )
    assert r.status_code == 200 and r.json()["state"] == "reversal_requested"
    r = post(client, f"/api/v1/disbursements/{d['id']}/reversal/approve", token_for("finance-b"))
    assert r.status_code == 200 and r.json()["state"] == "reversed"
    assert r.json()["entries"][-1]["paid_delta_fen"] == -200
    r = post(
        client,
        f"/api/v1/disbursements/{d['id']}/reverse",
        token_for("finance-b"),
        {"reason": "再冲"},
    )
    assert r.status_code == 409 and r.json()["code"] == "already_reversed"
    ms = client.get(
        f"/api/v1/agreements/{m1.agreement_id}/milestones", headers=token_for("finance-a")
    ).json()
    assert ms[0]["paid_fen"] == 0 and ms[0]["remaining_fen"] == 40_000_00


def test_auditor_gets_403_on_every_mutating_endpoint(
    session: Session, client: Any, token_for: Any
) -> None:
    ag = funded_agreement(session)
    ms = milestones(session, ag.id)
    d = _request(client, token_for, ms[0].id, 100).json()
    auditor = token_for("auditor")
    calls = [
        ("/api/v1/disbursements", {"milestone_id": ms[0].id, "amount_fen": 100}),
        (f"/api/v1/disbursements/{d['id']}/approve", {}),
        (f"/api/v1/disbursements/{d['id']}/reject", {"reason": "x"}),
        (f"/api/v1/disbursements/{d['id']}/pay", {"voucher_no": "a", "bank_reference": "b"}),
        (f"/api/v1/disbursements/{d['id']}/reverse", {"reason": "x"}),
        (f"/api/v1/disbursements/{d['id']}/reversal/approve", {}),
        (f"/api/v1/disbursements/{d['id']}/reversal/reject", {"reason": "x"}),
        (f"/api/v1/milestones/{ms[1].id}/open-manually", {"reason": "x"}),
        (f"/api/v1/agreements/{ag.id}/review-requests", {"kind": "midterm"}),
    ]
    for url, body in calls:
        r = post(client, url, auditor, body)
        assert r.status_code == 403, (url, r.text)
    r = client.post(
        f"/api/v1/agreements/{ag.id}/reviews",
        headers=auditor,
        data={
            "kind": "midterm",
            "held_on": "2026-12-01",
            "result": "passed",
            "reviewers": "甲",
            "opinion": "好",
        },
        files={"files": ("a.pdf", b"%PDF-1.4 not really", "application/pdf")},
    )
    assert r.status_code == 403
    assert client.get(f"/api/v1/agreements/{ag.id}/funding", headers=auditor).status_code == 200


def test_producer_reads_own_funding_only(session: Session, client: Any, token_for: Any) -> None:
    ag = funded_agreement(session)  # 修伞人: prod-hz
    assert (
        client.get(f"/api/v1/agreements/{ag.id}/funding", headers=token_for("prod-hz")).status_code
        == 200
    )
    assert (
        client.get(f"/api/v1/agreements/{ag.id}/funding", headers=token_for("prod-cd")).status_code
        == 404
    )
    m1 = milestones(session, ag.id)[0]
    assert _request(client, token_for, m1.id, 100, who="prod-hz").status_code == 403
    assert _request(client, token_for, m1.id, 100, who="prod-cd").status_code == 404
    assert client.get("/api/v1/disbursements", headers=token_for("prod-cd")).json() == [] or all(
        d["agreement_id"] != ag.id
        for d in client.get("/api/v1/disbursements", headers=token_for("prod-cd")).json()
    )
