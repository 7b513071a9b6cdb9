"""Three-party agreement signed online, end to end through the API."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from sqlmodel import Session
from typer.testing import CliRunner

from tests.agreements.conftest import fresh_work, sign


def create(client: Any, token_for: Any, work_id: int, **body: Any) -> Any:
    return client.post(
        "/api/v1/agreements", json={"work_id": work_id, **body}, headers=token_for("ministry")
    )


def test_three_party_flow(
    pool: Any, client: Any, token_for: Any, session: Session, tmp_path: Path
) -> None:
    wid = fresh_work(session)
    r = create(client, token_for, wid)
    assert r.status_code == 201, r.text
    ag = r.json()
    assert ag["status"] == "open" and ag["next_party"] == "yi"
    assert [m["gate"] for m in ag["milestones"]] == [
        "agreement_signed",
        "midterm_check_passed",
        "acceptance_passed",
    ]
    assert sum(m["amount_fen"] for m in ag["milestones"]) == ag["grant_fen"] > 0
    aid = ag["id"]

    # out of turn, wrong password, not a party
    assert sign(client, token_for("ministry"), aid).status_code == 409
    assert sign(client, token_for("unit-zj"), aid).status_code == 409
    r = sign(client, token_for("prod-hz"), aid, "wrong-password")
    assert r.status_code == 403 and r.json()["code"] == "wrong_password"
    assert sign(client, token_for("prod-cd"), aid).status_code == 404
    assert sign(client, token_for("finance-a"), aid).status_code == 404

    for user, status, nxt in (
        ("prod-hz", "signing", "bing"),
        ("unit-zj", "signing", "jia"),
        ("ministry", "fully_signed", None),
    ):
        r = sign(client, token_for(user), aid)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == status and r.json()["next_party"] == nxt
    assert sign(client, token_for("ministry"), aid).status_code == 409

    detail = client.get(f"/api/v1/agreements/{aid}", headers=token_for("auditor")).json()
    assert [s["party"] for s in detail["signatures"]] == ["yi", "bing", "jia"]
    assert "agreement.fully_signed" in [h["action"] for h in detail["history"]]

    pdf = client.get(f"/api/v1/agreements/{aid}/document.pdf", headers=token_for("finance-a"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf.content)

    from backend.cli import app as cli

    result = CliRunner().invoke(cli, ["verify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["indication"] == "TOTAL_PASSED"
    sigs = [s for s in report["signatures"] if s.get("kind", "signature") == "signature"]
    assert [s["field"] for s in sigs] == ["party_yi", "party_bing", "party_jia"]
    orgs = [p["organisation"] for p in detail["parties"]]
    for s, org in zip(sigs, orgs, strict=True):
        assert s["indication"] == "TOTAL_PASSED"
        assert org[:10] in json.dumps(s["signer"], ensure_ascii=False)

    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True)
    assert out.stdout.count("Signature is Valid.") == 3, out.stdout

    z = client.get(f"/api/v1/agreements/{aid}/evidence.zip", headers=token_for("auditor"))
    assert z.status_code == 200
    with zipfile.ZipFile(io.BytesIO(z.content)) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        assert {
            "verification-report.json",
            "verification-report.txt",
            "audit-trail.jsonl",
            "ca-chain.pem",
            "tsa.pem",
            "issuing-ca.crl",
            "manifest.json",
        } <= names
        import hashlib

        for name, meta in manifest["files"].items():
            assert hashlib.sha256(zf.read(name)).hexdigest() == meta["sha256"]
            assert meta["sm3"]
        assert json.loads(zf.read("verification-report.json"))["indication"] == "TOTAL_PASSED"
