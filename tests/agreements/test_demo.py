"""The demo leaves one agreement waiting for each party (乙, 丙, 甲) and one fully signed, all with
real certificates and real signatures."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select


def test_demo_leaves_one_agreement_waiting_for_each_party_and_one_fully_signed(
    session: Session,
) -> None:
    from backend.agreements.models import Agreement, AgreementSignature
    from backend.works.models import Work

    rows = session.exec(select(Agreement)).all()
    states = sorted((a.status, a.next_party or "") for a in rows)
    assert states == [("fully_signed", ""), ("open", "yi"), ("signing", "bing"), ("signing", "jia")]
    titles = {a.next_party or "done": session.get(Work, a.work_id).title for a in rows}  # type: ignore[union-attr]
    assert titles == {
        "done": "西湖边的修伞人",
        "bing": "熊猫巡护员",
        "jia": "蜀绣传人",
        "yi": "千岛湖的守鱼人",
    }
    signed = {
        a.next_party or "done": len(
            session.exec(
                select(AgreementSignature).where(AgreementSignature.agreement_id == a.id)
            ).all()
        )
        for a in rows
    }
    assert signed == {"yi": 0, "bing": 1, "jia": 2, "done": 3}


def test_demo_agreements_are_on_each_partys_home_list(client: Any, token_for: Any) -> None:
    for username, party in (("prod-hz", "yi"), ("unit-sc", "bing"), ("ministry", "jia")):
        mine = client.get("/api/v1/agreements", headers=token_for(username)).json()
        assert any(a["next_party"] == party and a["my_party"] == party for a in mine), (
            username,
            mine,
        )


def test_demo_fully_signed_agreement_verifies_total_passed(
    session: Session, client: Any, token_for: Any
) -> None:
    from backend.agreements.models import Agreement

    ag = session.exec(select(Agreement).where(Agreement.status == "fully_signed")).one()
    pdf = client.get(
        f"/api/v1/agreements/{ag.id}/document.pdf", headers=token_for("auditor")
    ).content
    r = client.post(
        "/api/v1/verify",
        files={"file": ("a.pdf", pdf, "application/pdf")},
        headers=token_for("auditor"),
    ).json()
    # the three parties' signatures, then the archive form's document timestamp (PAdES B-LTA)
    kinds = [s["kind"] for s in r["signatures"]]
    assert r["indication"] == "TOTAL_PASSED" and kinds == ["signature"] * 3 + ["document_timestamp"]
    assert all(s["indication"] == "TOTAL_PASSED" and s["timestamp"] for s in r["signatures"])
    assert r["registry"]


def test_demo_waiting_agreements_carry_real_signatures_so_far(session: Session) -> None:
    from backend.agreements.models import Agreement
    from backend.documents.store import get_store
    from backend.pki.service import verify_bytes

    for ag in session.exec(select(Agreement).where(Agreement.status == "signing")).all():
        report = verify_bytes(get_store().get(ag.current_pdf_sha256 or ""))
        assert report.signatures and all(s.intact for s in report.signatures), report
