"""The demo leaves one agreement fully signed (real signatures) and one waiting for 丙方."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select


def test_demo_agreements(session: Session, client: Any, token_for: Any) -> None:
    from backend.agreements.models import Agreement

    rows = {a.status: a for a in session.exec(select(Agreement)).all()}
    assert "fully_signed" in rows and "signing" in rows
    assert rows["signing"].next_party == "bing"
    home = client.get("/api/v1/agreements", headers=token_for("unit-sc")).json()
    assert any(a["next_party"] == "bing" for a in home)
    pdf = client.get(f"/api/v1/agreements/{rows['fully_signed'].id}/document.pdf",
                     headers=token_for("auditor")).content
    r = client.post("/api/v1/verify", files={"file": ("a.pdf", pdf, "application/pdf")},
                    headers=token_for("auditor")).json()
    assert r["indication"] == "TOTAL_PASSED" and len(r["signatures"]) >= 3
