"""Issue 15.3: a 拨付日期 after today (Beijing date) is refused with a field error through the API
and the page, and 冲销 applies only to money that was paid (the page offers it only there)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

from sqlmodel import Session

from backend.core.dates import today_shanghai
from tests.funding.conftest import funded_agreement, milestones, post
from tests.funding.test_pages import hidden, login

PAY = {"voucher_no": "PZ-F", "bank_reference": "BR-F"}


def _approved(client: Any, token_for: Any, milestone_id: int, amount: int = 300) -> int:
    r = post(
        client,
        "/api/v1/disbursements",
        token_for("finance-a"),
        {"milestone_id": milestone_id, "amount_fen": amount},
    )
    assert r.status_code == 201, r.text
    d_id = r.json()["id"]
    assert post(client, f"/api/v1/disbursements/{d_id}/approve", token_for("finance-b")).is_success
    return int(d_id)


def test_future_paid_on_is_422_naming_the_field_and_nothing_is_paid(
    session: Session, client: Any, token_for: Any
) -> None:
    m1 = milestones(session, funded_agreement(session).id)[0]
    d_id = _approved(client, token_for, m1.id)
    tomorrow = (today_shanghai() + timedelta(days=1)).isoformat()
    r = post(
        client, f"/api/v1/disbursements/{d_id}/pay", token_for("finance-b"),
        {**PAY, "paid_on": tomorrow},
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["code"] == "paid_on_in_future", r.text
    assert "拨付日期不能晚于今天" in r.json()["fields"]["paid_on"]
    assert today_shanghai().isoformat() in r.json()["fields"]["paid_on"]
    d = client.get(f"/api/v1/disbursements/{d_id}", headers=token_for("auditor")).json()
    assert d["state"] == "approved" and [e["kind"] for e in d["entries"]] == ["approved"]
    today = post(
        client, f"/api/v1/disbursements/{d_id}/pay", token_for("finance-b"),
        {**PAY, "paid_on": today_shanghai().isoformat()},
    )  # fmt: skip
    assert today.status_code == 200 and today.json()["state"] == "paid"
    assert today.json()["entries"][-1]["paid_on"] == today_shanghai().isoformat()


def test_reversal_of_an_unpaid_request_is_409(
    session: Session, client: Any, token_for: Any
) -> None:
    m1 = milestones(session, funded_agreement(session).id)[0]
    pending = post(
        client, "/api/v1/disbursements", token_for("finance-a"),
        {"milestone_id": m1.id, "amount_fen": 100},
    ).json()  # fmt: skip
    approved = _approved(client, token_for, m1.id, 200)
    for d_id in (pending["id"], approved):
        r = post(
            client, f"/api/v1/disbursements/{d_id}/reverse", token_for("finance-b"),
            {"reason": "不该冲销"},
        )  # fmt: skip
        assert r.status_code == 409 and r.json()["code"] == "not_paid", r.text
        d = client.get(f"/api/v1/disbursements/{d_id}", headers=token_for("auditor")).json()
        assert "reversed" not in [e["kind"] for e in d["entries"]]


def _flash(response: Any) -> str:
    assert response.status_code == 303, response.text
    return parse_qs(urlparse(response.headers["location"]).query)["error"][0]


def test_page_refuses_a_future_paid_on_at_confirm_and_at_act(
    session: Session, client: Any, token_for: Any
) -> None:
    ag = funded_agreement(session)
    d_id = _approved(client, token_for, milestones(session, ag.id)[0].id)
    login(client, "finance-b")
    page = client.get(f"/finance/agreements/{ag.id}").text
    today = today_shanghai().isoformat()
    assert f'name="paid_on" value="{today}" max="{today}"' in page
    form = {
        "csrf_token": hidden(page, "csrf_token"),
        "idempotency_key": "k-" + str(d_id),
        "disbursement_id": str(d_id),
        **PAY,
        "paid_on": (today_shanghai() + timedelta(days=40)).isoformat(),
    }
    for step in ("confirm", "actions"):
        r = client.post(
            f"/finance/agreements/{ag.id}/{step}/pay", data=form, follow_redirects=False
        )
        assert "拨付日期不能晚于今天" in _flash(r)
    d = client.get(f"/api/v1/disbursements/{d_id}").json()
    assert d["state"] == "approved"


def test_page_offers_reversal_only_on_paid_rows(
    session: Session, client: Any, token_for: Any
) -> None:
    ag = funded_agreement(session)
    m1 = milestones(session, ag.id)[0]
    pending = post(
        client, "/api/v1/disbursements", token_for("finance-a"),
        {"milestone_id": m1.id, "amount_fen": 100},
    ).json()["id"]  # fmt: skip
    approved = _approved(client, token_for, m1.id, 200)
    paid = _approved(client, token_for, m1.id, 300)
    assert post(client, f"/api/v1/disbursements/{paid}/pay", token_for("finance-b"), PAY).is_success
    login(client, "finance-b")
    page = client.get(f"/finance/agreements/{ag.id}").text

    def row(d_id: int) -> str:
        m = re.search(rf'<tr id="disbursement-{d_id}">(.*?)</tr>', page, re.S)
        assert m, d_id
        return m.group(1)

    assert "confirm/reverse" not in row(pending) and "confirm/reverse" not in row(approved)
    assert "confirm/reverse" in row(paid)
