"""The demo leaves milestones locked, due, approved and paid, disbursements in every ledger state,
and a failed then a passed 审核验收 on the fully signed agreement."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select


def test_demo_funding_covers_every_state(session: Session, client: Any, token_for: Any) -> None:
    from backend.agreements.models import Agreement
    from backend.audit_log.service import verify_chain

    agreements = session.exec(select(Agreement)).all()
    statuses: set[str] = set()
    states: set[str] = set()
    for ag in agreements:
        f = client.get(f"/api/v1/agreements/{ag.id}/funding", headers=token_for("auditor")).json()
        statuses |= {m["status"] for m in f["milestones"]}
        states |= {d["state"] for d in f["disbursements"]}
        if ag.status == "fully_signed" and f["reviews"]:
            acceptance = [r["result"] for r in f["reviews"] if r["kind"] == "acceptance"]
            assert acceptance[0] == "failed" and acceptance[-1].startswith("passed")
            assert f["totals"]["paid_fen"] <= ag.grant_fen
    assert {"locked", "due", "approved", "paid"} <= statuses
    assert states == {"requested", "approved", "rejected", "paid", "reversed"}
    kinds = {
        e["kind"]
        for ag in agreements
        for d in client.get(
            f"/api/v1/agreements/{ag.id}/funding", headers=token_for("auditor")
        ).json()["disbursements"]
        for e in d["entries"]
    }
    assert {"reversal_requested", "reversed"} <= kinds
    assert verify_chain(session).ok
    assert client.get("/api/v1/disbursements", headers=token_for("prod-cd")).json() == []
