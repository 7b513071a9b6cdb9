"""Gates open only from real events: the verified full signature, a passed review, or a ministry
officer's recorded manual decision — each opening keeps its evidence."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from backend.funding.demo import demo_pdf
from tests.agreements.conftest import fresh_work, sign
from tests.funding.conftest import funded_agreement, milestones, post


def test_real_full_signature_opens_first_gate_with_event_as_evidence(
    pool: Any, session: Session, client: Any, token_for: Any
) -> None:
    wid = fresh_work(session)
    r = client.post("/api/v1/agreements", json={"work_id": wid}, headers=token_for("ministry"))
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    for who in ("prod-hz", "unit-zj"):
        assert sign(client, token_for(who), aid).status_code == 200
        ms = client.get(
            f"/api/v1/agreements/{aid}/milestones", headers=token_for("finance-a")
        ).json()
        assert {m["status"] for m in ms} == {"locked"}
    assert sign(client, token_for("ministry"), aid).json()["status"] == "fully_signed"
    ms = client.get(f"/api/v1/agreements/{aid}/milestones", headers=token_for("finance-a")).json()
    assert [m["status"] for m in ms] == ["due", "locked", "locked"]
    history = client.get(f"/api/v1/agreements/{aid}", headers=token_for("auditor")).json()[
        "history"
    ]
    signed_seq = next(h["seq"] for h in history if h["action"] == "agreement.fully_signed")
    assert ms[0]["gate_opening"]["source"] == "agreement_signed"
    assert ms[0]["gate_opening"]["evidence_audit_seq"] == signed_seq
    r = post(
        client,
        "/api/v1/disbursements",
        token_for("finance-a"),
        {"milestone_id": ms[0]["id"], "amount_fen": ms[0]["amount_fen"]},
    )
    assert r.status_code == 201, r.text


def _record(
    client: Any,
    token_for: Any,
    aid: int,
    result: str,
    *,
    files: Any = None,
    who: str = "ministry",
    **extra: Any,
) -> Any:
    data = {
        "kind": "acceptance",
        "held_on": "2026-12-10",
        "result": result,
        "reviewers": "张专家，赵专家",
        "opinion": "意见",
        **extra,
    }
    files = (
        files
        if files is not None
        else [("files", ("验收意见.pdf", demo_pdf("t"), "application/pdf"))]
    )
    return client.post(
        f"/api/v1/agreements/{aid}/reviews", data=data, files=files, headers=token_for(who)
    )


def test_failed_acceptance_keeps_final_locked_and_a_passing_re_review_opens_it(
    session: Session, client: Any, token_for: Any
) -> None:
    ag = funded_agreement(session)
    final = milestones(session, ag.id)[2]
    r = post(
        client,
        f"/api/v1/agreements/{ag.id}/review-requests",
        token_for("prod-hz"),
        {"kind": "acceptance", "note": "成片完成"},
    )
    assert r.status_code == 201, r.text
    assert (
        post(
            client,
            f"/api/v1/agreements/{ag.id}/review-requests",
            token_for("prod-cd"),
            {"kind": "acceptance"},
        ).status_code
        == 404
    )
    assert (
        post(
            client,
            f"/api/v1/agreements/{ag.id}/review-requests",
            token_for("unit-zj"),
            {"kind": "acceptance"},
        ).status_code
        == 403
    )

    failed = _record(client, token_for, ag.id, "failed", request_id=str(r.json()["id"]))
    assert failed.status_code == 201, failed.text
    assert failed.json()["attachments"][0]["sha256"]
    ms = client.get(f"/api/v1/agreements/{ag.id}/milestones", headers=token_for("prod-hz")).json()
    assert ms[2]["status"] == "locked"
    assert (
        post(
            client,
            "/api/v1/disbursements",
            token_for("finance-a"),
            {"milestone_id": final.id, "amount_fen": 100},
        ).status_code
        == 409
    )

    assert (
        _record(client, token_for, ag.id, "passed_with_conditions").status_code == 422
    )  # no conditions
    not_pdf = [("files", ("x.pdf", b"hello, not a pdf", "application/pdf"))]
    assert _record(client, token_for, ag.id, "passed", files=not_pdf).status_code == 422
    assert _record(client, token_for, ag.id, "passed", who="finance-a").status_code == 403

    passed = _record(client, token_for, ag.id, "passed_with_conditions", conditions="补交字幕文件")
    assert passed.status_code == 201, passed.text
    assert passed.json()["conditions"] == ["补交字幕文件"]
    ms = client.get(f"/api/v1/agreements/{ag.id}/milestones", headers=token_for("prod-hz")).json()
    assert ms[2]["status"] == "due"
    assert ms[2]["gate_opening"] == {
        **ms[2]["gate_opening"],
        "source": "review",
        "review_id": passed.json()["id"],
    }
    assert ms[1]["status"] == "locked"  # an acceptance does not open the midterm gate
    funding = client.get(f"/api/v1/agreements/{ag.id}/funding", headers=token_for("auditor")).json()
    assert [rv["result"] for rv in funding["reviews"]] == ["failed", "passed_with_conditions"]


def test_ministry_opens_a_gate_manually_with_a_reason(
    session: Session, client: Any, token_for: Any
) -> None:
    mid = milestones(session, funded_agreement(session).id)[1]
    url = f"/api/v1/milestones/{mid.id}/open-manually"
    assert post(client, url, token_for("finance-a"), {"reason": "x"}).status_code == 403
    assert post(client, url, token_for("ministry"), {"reason": " "}).status_code == 422
    r = post(
        client, url, token_for("ministry"), {"reason": "中期检查已于线下完成（会议纪要第12号）"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "due" and r.json()["gate_opening"]["source"] == "manual"
    assert r.json()["gate_opening"]["reason"].startswith("中期检查")
    assert post(client, url, token_for("ministry"), {"reason": "again"}).status_code == 409
