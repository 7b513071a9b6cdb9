"""Agreement rules: money checks, decline + re-issue, revoked certificate, tampering,
concurrent signatures (PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.agreements.conftest import fresh_work, sign


def create(client: Any, token_for: Any, work_id: int, **body: Any) -> Any:
    return client.post(
        "/api/v1/agreements", json={"work_id": work_id, **body}, headers=token_for("ministry")
    )


def test_money_rules_and_roles(pool: Any, client: Any, token_for: Any, session: Session) -> None:
    from backend.works.models import Work

    wid = fresh_work(session)
    work = session.get(Work, wid)
    assert work is not None and work.requested_fen > 0
    grant = work.requested_fen
    # producers cannot create
    r = client.post("/api/v1/agreements", json={"work_id": wid}, headers=token_for("prod-hz"))
    assert r.status_code == 403
    # milestones must add up; the difference is named
    bad = [
        {"name": "首期", "amount_fen": grant // 2, "gate": "agreement_signed"},
        {"name": "尾款", "amount_fen": grant // 2 - 100, "gate": "acceptance_passed"},
    ]
    r = create(client, token_for, wid, grant_fen=grant, milestones=bad)
    assert r.status_code == 422, r.text
    assert "milestones" in r.json()["fields"] and "少" in r.json()["fields"]["milestones"]
    # over the requested amount → reason required
    over = grant + 100_00
    ms = [{"name": "全额", "amount_fen": over, "gate": "agreement_signed"}]
    r = create(client, token_for, wid, grant_fen=over, milestones=ms)
    assert r.status_code == 422 and "over_request_reason" in r.json()["fields"]
    r = create(
        client, token_for, wid, grant_fen=over, milestones=ms, over_request_reason="追加扶持"
    )
    assert r.status_code == 201, r.text
    assert r.json()["grant_fen"] == over


def test_zero_grant_when_central_support(
    pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    from backend.agreements.models import Agreement
    from backend.works.models import Work

    wid = fresh_work(session)
    work = session.get(Work, wid)
    assert work is not None and work.requested_fen > 0  # so 0 is the rule, not the request
    work.central_support_received = True
    work.central_support_details = "已获2025年度网络视听节目精品创作传播工程中央财政资金扶持"
    session.add(work)
    session.commit()

    def grants() -> list[int]:
        session.commit()  # a fresh snapshot: the API writes through its own session
        rows = session.exec(select(Agreement).where(Agreement.work_id == wid)).all()
        return sorted(a.grant_fen for a in rows)

    before = grants()
    ms = [{"name": "全额", "amount_fen": work.requested_fen, "gate": "agreement_signed"}]
    r = create(client, token_for, wid, grant_fen=work.requested_fen, milestones=ms)
    assert r.status_code == 422 and "grant_fen" in r.json()["fields"], r.text
    assert grants() == before
    r = create(client, token_for, wid)
    assert r.status_code == 201, r.text
    assert r.json()["grant_fen"] == 0 and r.json()["milestones"] == []
    assert grants() == sorted([*before, 0])


def test_decline_and_reissue(pool: Any, client: Any, token_for: Any, session: Session) -> None:
    wid = fresh_work(session)
    first = create(client, token_for, wid).json()
    assert sign(client, token_for("prod-hz"), first["id"]).status_code == 200
    assert create(client, token_for, wid).status_code == 409  # a live version exists
    r = client.post(
        f"/api/v1/agreements/{first['id']}/decline",
        json={"reason": "金额有误", "password": "jingpin-demo"},
        headers=token_for("unit-zj"),
    )
    assert r.status_code == 200 and r.json()["status"] == "declined"
    assert sign(client, token_for("unit-zj"), first["id"]).status_code == 409
    second = create(client, token_for, wid)
    assert second.status_code == 201
    assert second.json()["version"] == first["version"] + 1
    listed = client.get(f"/api/v1/agreements?work_id={wid}", headers=token_for("prod-hz")).json()
    assert {a["id"] for a in listed} >= {first["id"], second.json()["id"]}
    # other producer sees neither
    other = client.get(f"/api/v1/agreements?work_id={wid}", headers=token_for("prod-cd")).json()
    assert other == []
    assert (
        client.get(f"/api/v1/agreements/{first['id']}", headers=token_for("prod-cd")).status_code
        == 404
    )


def test_revoked_certificate_blocks_signing(
    pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    from backend.auth.models import User
    from backend.orgs.models import Organisation
    from backend.pki.service import get_ca

    wid = fresh_work(session)
    aid = create(client, token_for, wid).json()["id"]
    user = session.exec(select(User).where(User.username == "prod-hz")).one()
    org = session.get(Organisation, user.organisation_id)
    assert org is not None and org.seal_cert_serial
    get_ca().revoke(org.seal_cert_serial, "key_compromise")
    r = sign(client, token_for("prod-hz"), aid)
    assert r.status_code == 409 and r.json()["code"] == "certificate_revoked"


def test_tampered_copy_fails_verification(
    pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    wid = fresh_work(session)
    aid = create(client, token_for, wid).json()["id"]
    for user in ("prod-hz", "unit-zj", "ministry"):
        assert sign(client, token_for(user), aid).status_code == 200
    pdf = client.get(
        f"/api/v1/agreements/{aid}/document.pdf", headers=token_for("ministry")
    ).content
    good = client.post(
        "/api/v1/verify",
        files={"file": ("a.pdf", pdf, "application/pdf")},
        headers=token_for("auditor"),
    )
    assert good.json()["indication"] == "TOTAL_PASSED"
    # flip a byte in the binary comment on line 2: inside every signature's byte range
    nl = pdf.index(b"\n")
    tampered = bytearray(pdf)
    tampered[nl + 2] ^= 0x01
    r = client.post(
        "/api/v1/verify",
        files={"file": ("t.pdf", bytes(tampered), "application/pdf")},
        headers=token_for("auditor"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["indication"] == "TOTAL_FAILED", r.json()


@pytest.mark.postgres
def test_concurrent_sign_same_party(
    pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    from backend.agreements.models import AgreementSignature

    wid = fresh_work(session)
    aid = create(client, token_for, wid).json()["id"]
    headers = token_for("prod-hz")
    results: list[int] = []
    barrier = threading.Barrier(2)

    def go() -> None:
        barrier.wait()
        results.append(sign(client, headers, aid).status_code)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409], results
    session.expire_all()
    rows = session.exec(
        select(AgreementSignature).where(AgreementSignature.agreement_id == aid)
    ).all()
    assert len(rows) == 1
