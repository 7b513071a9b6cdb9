"""An organisation's own crypto profile in an intl deployment: the admin switches one party to
gm, the SM2 CA is created on demand, and the agreement carries that party's SM2 signature
beside the others' ECDSA ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session
from typer.testing import CliRunner

from tests.agreements.conftest import fresh_work, sign


def test_one_party_on_gm_in_an_intl_deployment_signs_with_sm2_and_the_agreement_verifies(
    pool: Any, client: Any, token_for: Any, session: Session, env: dict[str, Any]
) -> None:
    from backend.works.models import Work

    data_dir: Path = env["data_dir"]
    assert not (data_dir / "ca-gm").exists()  # intl: jingpin init made no SM2 CA
    wid = fresh_work(session)
    work = session.get(Work, wid)
    assert work is not None
    org_id = work.organisation_id  # prod-hz's company, party 乙
    r = client.put(
        f"/api/v1/organisations/{org_id}/crypto-profile",
        json={"crypto_profile": "gm"},
        headers=token_for("admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["sm2_cert_serial"] and (data_dir / "ca-gm" / "root.pem").exists()

    r = client.post("/api/v1/agreements", json={"work_id": wid}, headers=token_for("ministry"))
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    for user in ("prod-hz", "unit-zj", "ministry"):
        r = sign(client, token_for(user), aid)
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "fully_signed"
    assert [s["algorithms"] for s in r.json()["signatures"]] == [
        ["国密 SM2"],
        ["国际 ECDSA"],
        ["国际 ECDSA"],
    ]
    pdf = client.get(f"/api/v1/agreements/{aid}/document.pdf", headers=token_for("auditor"))
    body = client.post(
        "/api/v1/verify",
        files={"file": ("a.pdf", pdf.content, "application/pdf")},
        headers=token_for("auditor"),
    ).json()
    assert body["indication"] == "TOTAL_PASSED", body["summary_zh"]
    sigs = [s for s in body["signatures"] if s["kind"] == "signature"]
    assert [(s["field"], s["algorithm"]) for s in sigs] == [
        ("party_yi_sm2", "国密 SM2"),
        ("party_bing", "国际 ECDSA"),
        ("party_jia", "国际 ECDSA"),
    ]


def test_the_ca_cli_exports_the_sm2_root_and_sets_a_profile(
    env: dict[str, Any], session: Session, tmp_path: Path
) -> None:
    from backend.cli import app as cli
    from backend.orgs.models import Organisation

    runner = CliRunner()
    out = tmp_path / "root-sm2.pem"
    r = runner.invoke(cli, ["ca", "export-root", str(out), "--sm2"])
    assert r.exit_code == 1 and "国密" in r.output  # no SM2 CA in an intl deployment yet
    org = session.get(Organisation, 1)
    assert org is not None
    r = runner.invoke(cli, ["ca", "profile", "--org", str(org.id), "fancy"])
    assert r.exit_code == 2
    r = runner.invoke(cli, ["ca", "profile", "--org", str(org.id), "dual"])
    assert r.exit_code == 0, r.output
    assert "双算法" in r.output and "新签发印章证书" in r.output
    r = runner.invoke(cli, ["ca", "export-root", str(out), "--sm2"])
    assert r.exit_code == 0 and out.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    listing = runner.invoke(cli, ["ca", "list"]).output
    assert "  SM2  " in listing and "  ECDSA  " in listing
    session.rollback()
    org = session.get(Organisation, 1)
    assert org is not None and org.crypto_profile == "dual" and org.sm2_seal_cert_serial


def test_without_an_sm2_ca_its_trust_services_are_a_json_404(client: Any) -> None:
    for r in (
        client.get("/ca/root-sm2.pem"),
        client.get("/crl/issuing-sm2.crl"),
        client.post(
            "/tsa/sm2", content=b"x", headers={"Content-Type": "application/timestamp-query"}
        ),
    ):
        assert r.status_code == 404 and r.json()["code"] == "no_gm_ca"
