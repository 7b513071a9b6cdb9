"""Issue 14.13: TOTP step-up. Enrolment (QR code rendered here, first code confirms, recovery
codes shown once and stored hashed), password + current code for signing and money approvals,
no replay of a code within its window, recovery codes work once, roles an administrator requires,
and the audit log names the factor but never holds the code."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from sqlmodel import Session, col, select

from tests.conftest import DEMO_PASSWORD
from tests.funding.conftest import funded_agreement, milestones, post


class Clock:
    """The step-up's clock, moved by the test (a code is accepted once per 30 s step; the test
    moves to the next step instead of waiting for it)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def code(self, secret: str) -> str:
        """A code of the next time step (moves the clock): never one already used."""
        self.now += timedelta(seconds=30)
        return pyotp.TOTP(secret).at(self.now)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from backend.auth import totp

    c = Clock()
    monkeypatch.setattr(totp, "utcnow", lambda: c.now)
    return c


def enrol(client: Any, token_for: Any, username: str, clock: Clock) -> tuple[str, list[str]]:
    """Enrol ``username`` through the API; returns (secret, recovery codes)."""
    h = token_for(username)
    r = client.post("/api/v1/auth/totp/enrolment", json={"password": DEMO_PASSWORD}, headers=h)
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    r = client.post(
        "/api/v1/auth/totp/enrolment/confirm",
        json={"code": clock.code(secret)},
        headers=h,
    )
    assert r.status_code == 200, r.text
    return secret, r.json()["recovery_codes"]


def _requested(client: Any, token_for: Any, session: Session, amount: int = 100) -> int:
    m1 = milestones(session, funded_agreement(session).id)[0]
    r = post(
        client, "/api/v1/disbursements", token_for("finance-a"),
        {"milestone_id": m1.id, "amount_fen": amount},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _audit(session: Session, action: str) -> list[dict[str, Any]]:
    from backend.audit_log.models import AuditEvent

    session.expire_all()
    rows = session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()
    session.commit()
    return [json.loads(e.payload) if isinstance(e.payload, str) else e.payload for e in rows]


def test_enrolment_renders_a_local_qr_code_and_stores_nothing_in_clear(
    session: Session, client: Any, token_for: Any, clock: Clock
) -> None:
    from backend.auth.totp import RecoveryCode, TotpAuthenticator

    h = token_for("finance-b")
    assert client.get("/api/v1/auth/totp", headers=h).json()["enrolled"] is False
    wrong = client.post("/api/v1/auth/totp/enrolment", json={"password": "nope"}, headers=h)
    assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_password"
    r = client.post("/api/v1/auth/totp/enrolment", json={"password": DEMO_PASSWORD}, headers=h)
    body = r.json()
    assert (
        body["otpauth_uri"].startswith("otpauth://totp/") and body["secret"] in body["otpauth_uri"]
    )
    assert body["qr_svg"].startswith("<svg") and "<image" not in body["qr_svg"]
    assert "href" not in body["qr_svg"]  # nothing fetched from elsewhere
    bad = client.post("/api/v1/auth/totp/enrolment/confirm", json={"code": "000000"}, headers=h)
    if pyotp.TOTP(body["secret"]).verify(
        "000000", for_time=clock.now, valid_window=2
    ):  # ~1 in 200 000
        return
    assert bad.status_code == 403 and bad.json()["code"] == "totp_invalid"
    assert client.get("/api/v1/auth/totp", headers=h).json()["enrolled"] is False
    ok = client.post(
        "/api/v1/auth/totp/enrolment/confirm",
        json={"code": clock.code(body["secret"])},
        headers=h,
    )
    codes = ok.json()["recovery_codes"]
    assert ok.status_code == 200 and len(codes) == 10 == len(set(codes))
    status = client.get("/api/v1/auth/totp", headers=h).json()
    assert status == {"enrolled": True, "required": False, "recovery_codes_left": 10}
    again = client.post("/api/v1/auth/totp/enrolment", json={"password": DEMO_PASSWORD}, headers=h)
    assert again.status_code == 409

    session.expire_all()
    stored = session.exec(select(TotpAuthenticator)).one()
    hashes = [c.code_hash for c in session.exec(select(RecoveryCode)).all()]
    session.commit()
    assert body["secret"] not in stored.secret_encrypted
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert not any(c in h for c in codes for h in hashes)
    assert _audit(session, "auth.totp_enrolled") == [{"recovery_codes": 10}]


def test_money_approval_needs_password_and_a_fresh_code_once_enrolled(
    session: Session, client: Any, token_for: Any, clock: Clock
) -> None:
    secret, _codes = enrol(client, token_for, "finance-b", clock)
    d1, d2 = _requested(client, token_for, session), _requested(client, token_for, session)
    url = f"/api/v1/disbursements/{d1}/approve"
    none = post(client, url, token_for("finance-b"), {})
    assert none.status_code == 403 and none.json()["code"] == "totp_required"
    code = clock.code(secret)
    bad_pw = post(client, url, token_for("finance-b"), {"password": "x", "totp_code": code})
    assert bad_pw.status_code == 403 and bad_pw.json()["code"] == "wrong_password"
    ok = post(client, url, token_for("finance-b"), {"password": DEMO_PASSWORD, "totp_code": code})
    assert ok.status_code == 200 and ok.json()["state"] == "approved", ok.text
    replay = post(
        client, f"/api/v1/disbursements/{d2}/approve", token_for("finance-b"),
        {"password": DEMO_PASSWORD, "totp_code": code},
    )  # fmt: skip
    assert replay.status_code == 403 and replay.json()["code"] == "totp_invalid"
    assert "已使用" in replay.json()["message"]
    pay = post(
        client, f"/api/v1/disbursements/{d1}/pay", token_for("finance-b"),
        {"voucher_no": "V", "bank_reference": "B", "password": DEMO_PASSWORD,
         "totp_code": clock.code(secret)},
    )  # fmt: skip
    assert pay.status_code == 200 and pay.json()["state"] == "paid", pay.text
    approvals = _audit(session, "funding.disbursement_approved")
    assert approvals[-1]["factor"] == "password+totp"
    assert _audit(session, "funding.disbursement_paid")[-1]["factor"] == "password+totp"
    # finance-a has no TOTP and its role does not require it: unchanged
    a = post(client, f"/api/v1/disbursements/{d1}/reverse", token_for("finance-a"), {"reason": "r"})
    assert a.status_code == 200
    rev = post(
        client, f"/api/v1/disbursements/{d1}/reversal/approve", token_for("finance-b"),
        {"password": DEMO_PASSWORD, "totp_code": (rev_code := clock.code(secret))},
    )  # fmt: skip
    assert rev.status_code == 200 and rev.json()["state"] == "reversed", rev.text
    from backend.audit_log.models import AuditEvent

    session.expire_all()
    everything = " ".join(str(e.payload) for e in session.exec(select(AuditEvent)).all())
    session.commit()
    assert code not in everything and rev_code not in everything


def test_recovery_code_stands_in_for_the_code_once(
    session: Session, client: Any, token_for: Any, clock: Clock
) -> None:
    _secret, codes = enrol(client, token_for, "finance-b", clock)
    d1, d2 = _requested(client, token_for, session), _requested(client, token_for, session)
    body = {"password": DEMO_PASSWORD, "totp_code": codes[3].lower()}
    ok = post(client, f"/api/v1/disbursements/{d1}/approve", token_for("finance-b"), body)
    assert ok.status_code == 200, ok.text
    assert _audit(session, "funding.disbursement_approved")[-1]["factor"] == "password+recovery"
    again = post(client, f"/api/v1/disbursements/{d2}/approve", token_for("finance-b"), body)
    assert again.status_code == 403 and again.json()["code"] == "totp_invalid"
    left = client.get("/api/v1/auth/totp", headers=token_for("finance-b")).json()
    assert left["recovery_codes_left"] == 9


def test_wrong_codes_are_throttled(
    session: Session, client: Any, token_for: Any, clock: Clock
) -> None:
    secret, _codes = enrol(client, token_for, "finance-b", clock)
    d1 = _requested(client, token_for, session)
    valid = {
        pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=s)) for s in (-30, 0, 30, 60)
    }
    wrong = next(c for c in (f"{i:06d}" for i in range(1000)) if c not in valid)
    url = f"/api/v1/disbursements/{d1}/approve"
    statuses = [
        post(
            client, url, token_for("finance-b"), {"password": DEMO_PASSWORD, "totp_code": wrong}
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [403] * 5 + [429]
    right = {"password": DEMO_PASSWORD, "totp_code": clock.code(secret)}
    assert post(client, url, token_for("finance-b"), right).status_code == 429


def test_admin_requires_totp_for_a_role_and_its_users_must_enrol(
    session: Session, client: Any, token_for: Any, clock: Clock
) -> None:
    url = "/api/v1/admin/totp-required-roles"
    assert (
        client.put(url, json={"roles": ["finance"]}, headers=token_for("finance-a")).status_code
        == 403
    )
    r = client.put(url, json={"roles": ["finance", "producer"]}, headers=token_for("admin"))
    assert r.status_code == 200 and r.json()["roles"] == ["finance", "producer"]
    assert client.get(url, headers=token_for("admin")).json()["roles"] == ["finance", "producer"]
    assert _audit(session, "auth.totp_required_roles")[-1]["after"] == ["finance", "producer"]
    d1 = _requested(client, token_for, session)  # requesting money needs no step-up
    refused = post(client, f"/api/v1/disbursements/{d1}/approve", token_for("finance-b"), {})
    assert refused.status_code == 403 and refused.json()["code"] == "totp_enrolment_required"
    assert "绑定" in refused.json()["message"]
    status = client.get("/api/v1/auth/totp", headers=token_for("finance-b")).json()
    assert status["required"] is True and status["enrolled"] is False
    secret, _ = enrol(client, token_for, "finance-b", clock)
    ok = post(
        client, f"/api/v1/disbursements/{d1}/approve", token_for("finance-b"),
        {"password": DEMO_PASSWORD, "totp_code": clock.code(secret)},
    )  # fmt: skip
    assert ok.status_code == 200, ok.text


def _agreement_waiting_for(session: Session, title: str) -> int:
    from backend.agreements.models import Agreement
    from backend.works.models import Work

    ag = session.exec(
        select(Agreement).join(Work, col(Work.id) == Agreement.work_id).where(Work.title == title)
    ).one()
    session.commit()
    return int(ag.id or 0)


def test_signing_needs_the_code_when_enrolled_and_the_audit_names_the_factor(
    session: Session, client: Any, token_for: Any, clock: Clock
) -> None:
    ag_id = _agreement_waiting_for(session, "千岛湖的守鱼人")  # waits for 乙方 prod-hz
    secret, _ = enrol(client, token_for, "prod-hz", clock)
    url = f"/api/v1/agreements/{ag_id}/sign"
    h = token_for("prod-hz")
    no_code = client.post(url, json={"password": DEMO_PASSWORD}, headers=h)
    assert no_code.status_code == 403 and no_code.json()["code"] == "totp_required"
    code = clock.code(secret)
    ok = client.post(url, json={"password": DEMO_PASSWORD, "totp_code": code}, headers=h)
    assert ok.status_code == 200, ok.text
    signed = _audit(session, "agreement.sign")[-1]
    assert signed["factor"] == "password+totp" and code not in json.dumps(signed)


def test_signing_refused_until_a_required_role_enrols(
    session: Session, client: Any, token_for: Any
) -> None:
    ag_id = _agreement_waiting_for(session, "千岛湖的守鱼人")
    client.put(
        "/api/v1/admin/totp-required-roles",
        json={"roles": ["producer"]},
        headers=token_for("admin"),
    )
    r = client.post(
        f"/api/v1/agreements/{ag_id}/sign",
        json={"password": DEMO_PASSWORD},
        headers=token_for("prod-hz"),
    )
    assert r.status_code == 403 and r.json()["code"] == "totp_enrolment_required"
    detail = client.get(f"/api/v1/agreements/{ag_id}", headers=token_for("auditor")).json()
    assert detail["status"] == "open"


def test_enrolment_and_approval_through_the_pages(
    session: Session, client: Any, token_for: Any, clock: Clock
) -> None:
    import re

    from tests.funding.test_pages import hidden, login

    d1 = _requested(client, token_for, session)
    login(client, "finance-b")
    page = client.get("/account/totp").text
    assert "尚未绑定动态口令" in page
    enrol_page = client.post(
        "/account/totp/enrolment",
        data={"csrf_token": hidden(page, "csrf_token"), "password": DEMO_PASSWORD},
    )
    assert enrol_page.status_code == 200 and "<svg" in enrol_page.text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', enrol_page.text).group(1)  # type: ignore[union-attr]
    codes_page = client.post(
        "/account/totp/enrolment/confirm",
        data={"csrf_token": hidden(page, "csrf_token"), "code": clock.code(secret)},
    )
    assert codes_page.status_code == 200 and codes_page.text.count("<li><code>") == 10
    assert "已绑定动态口令" in client.get("/account/totp").text

    from backend.funding.models import Disbursement

    ag_id = session.get(Disbursement, d1).agreement_id  # type: ignore[union-attr]
    session.commit()
    form = {
        "csrf_token": hidden(page, "csrf_token"),
        "idempotency_key": uuid.uuid4().hex,
        "disbursement_id": str(d1),
        "note": "",
    }
    confirm = client.post(f"/finance/agreements/{ag_id}/confirm/approve", data=form)
    assert 'name="password"' in confirm.text and 'name="totp_code"' in confirm.text
    missing = client.post(
        f"/finance/agreements/{ag_id}/actions/approve", data=form, follow_redirects=False
    )
    assert missing.status_code == 303 and "error=" in missing.headers["location"]
    done = client.post(
        f"/finance/agreements/{ag_id}/actions/approve",
        data={**form, "password": DEMO_PASSWORD, "totp_code": clock.code(secret)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and "error=" not in done.headers["location"], done.headers
    replay = client.post(
        f"/finance/agreements/{ag_id}/actions/approve",
        data={**form, "password": DEMO_PASSWORD, "totp_code": clock.code(secret)},
        follow_redirects=False,
    )  # the same form submitted twice acts once and says so
    assert "error=" not in replay.headers["location"]
    assert client.get(f"/api/v1/disbursements/{d1}").json()["state"] == "approved"
