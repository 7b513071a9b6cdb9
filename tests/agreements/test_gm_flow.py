"""Three-party agreement in the 国密 profiles (gm: SM2 seals; dual: an ECDSA and an SM2 signature
per party), end to end through the API, every SM2 signature checked by OpenSSL and pysmx."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from sqlmodel import Session, select
from typer.testing import CliRunner

from tests.agreements.conftest import fresh_work, sign
from tests.agreements.gm_profile import crosscheck_sm2, profile, profile_template

__all__ = ["profile"]  # a fixture
template = profile_template("gm", "dual")  # this module runs on the gm and dual data dirs

FIELDS = {
    "gm": ["party_yi_sm2", "party_bing_sm2", "party_jia_sm2"],
    "dual": [
        "party_yi",
        "party_yi_sm2",
        "party_bing",
        "party_bing_sm2",
        "party_jia",
        "party_jia_sm2",
    ],
}
ALGORITHMS = {"gm": ["国密 SM2"], "dual": ["国际 ECDSA", "国密 SM2"]}


def signed_agreement(client: Any, token_for: Any, session: Session) -> int:
    r = client.post(
        "/api/v1/agreements", json={"work_id": fresh_work(session)}, headers=token_for("ministry")
    )
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    for user in ("prod-hz", "unit-zj", "ministry"):
        r = sign(client, token_for(user), aid)
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "fully_signed"
    return int(aid)


def test_init_creates_the_roots_of_the_profile_and_seals_of_its_algorithms(
    env: dict[str, Any], session: Session, profile: str
) -> None:
    from backend.orgs.models import Organisation
    from backend.pki.service import get_ca, get_gm_ca

    data_dir: Path = env["data_dir"]
    assert (data_dir / "ca-gm" / "root.pem").exists()
    gm = get_gm_ca()
    assert gm is not None
    orgs = session.exec(select(Organisation)).all()
    assert orgs and all(o.sm2_seal_cert_serial for o in orgs)
    for org in orgs:
        seal = gm.get(org.sm2_seal_cert_serial or "")
        assert seal.organisation[:10] == org.name[:10]
    # dual: the ECDSA seal as well; gm: the ECDSA CA remains for the system seal only
    assert all(bool(o.seal_cert_serial) == (profile == "dual") for o in orgs)
    assert get_ca().root_certificate != gm.root_certificate


def test_three_party_flow_signs_with_the_profile_and_verifies(
    pool: Any, client: Any, token_for: Any, session: Session, profile: str, tmp_path: Path
) -> None:
    aid = signed_agreement(client, token_for, session)
    detail = client.get(f"/api/v1/agreements/{aid}", headers=token_for("auditor")).json()
    assert [s["party"] for s in detail["signatures"]] == ["yi", "bing", "jia"]
    for s in detail["signatures"]:
        assert s["crypto_profile"] == profile
        assert s["algorithms"] == ALGORITHMS[profile]
        assert s["sm2_cert_serial"]
    pdf = client.get(f"/api/v1/agreements/{aid}/document.pdf", headers=token_for("auditor"))
    assert pdf.status_code == 200

    # every SM2 signature and SM2 timestamp, checked outside Tongsuo; the last is the archive
    # form's SM2 document timestamp (PAdES B-LTA)
    sm2_fields = [f for f in FIELDS[profile] if f.endswith("_sm2")]
    checked = crosscheck_sm2(pdf.content)
    assert checked[:-1] == sm2_fields and len(checked) == len(sm2_fields) + 1

    # the app's verify API: all signatures pass, each says its algorithm
    r = client.post(
        "/api/v1/verify",
        files={"file": ("a.pdf", pdf.content, "application/pdf")},
        headers=token_for("auditor"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["indication"] == "TOTAL_PASSED", body["summary_zh"]
    parties = [s for s in body["signatures"] if s["kind"] == "signature"]
    assert [s["field"] for s in parties] == FIELDS[profile]
    # The archive form (PAdES B-LTA) ends with an SM2 document timestamp over an SM3 digest.
    archive = body["signatures"][len(parties) :]
    assert [s["kind"] for s in archive] == ["document_timestamp"]
    assert (archive[0]["indication"], archive[0]["algorithm"]) == ("TOTAL_PASSED", "国密 SM2")
    for s in parties:
        expected = "国密 SM2" if s["field"].endswith("_sm2") else "国际 ECDSA"
        assert (s["indication"], s["algorithm"]) == ("TOTAL_PASSED", expected)
        assert s["timestamp_algorithm"] == (
            "SM2/SM3" if expected == "国密 SM2" else "ECDSA P-256/SHA-256"
        )
    assert body["registry"]["known"]
    assert any("国密 SM2" in line for line in body["summary_zh"])

    # the CLI says the same (exit 0)
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf.content)
    from backend.cli import app as cli

    result = CliRunner().invoke(cli, ["verify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    cli_parties = [s for s in json.loads(result.output)["signatures"] if s["kind"] == "signature"]
    assert [s["algorithm"] for s in cli_parties] == [
        "国密 SM2" if f.endswith("_sm2") else "国际 ECDSA" for f in FIELDS[profile]
    ]

    # pdfsig (NSS) knows ECDSA, not SM2: in dual the three ECDSA signatures are valid for it
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True)
    assert out.stdout.count("Signature is Valid.") == (3 if profile == "dual" else 0), out.stdout

    # the evidence package carries the SM2 chain and CRL beside the ECDSA ones
    z = client.get(f"/api/v1/agreements/{aid}/evidence.zip", headers=token_for("auditor"))
    with zipfile.ZipFile(io.BytesIO(z.content)) as zf:
        assert {"ca-chain-sm2.pem", "root-ca-sm2.pem", "tsa-sm2.pem", "issuing-ca-sm2.crl"} <= set(
            zf.namelist()
        )
        assert json.loads(zf.read("verification-report.json"))["indication"] == "TOTAL_PASSED"

    # the agreement page says which algorithm each party signed with
    page = client.get(f"/agreements/{aid}", headers=token_for("auditor"))
    assert page.status_code == 200
    assert page.text.count("签名算法 " + " + ".join(ALGORITHMS[profile])) == 3


def test_archive_renew_keeps_sm2_archives_in_their_profile_and_says_when_it_cannot(
    pool: Any, client: Any, token_for: Any, session: Session, profile: str
) -> None:
    """An SM2 archive is renewed with the SM2 TSA (never the ECDSA one); that TSA's certificate
    lives ten years and does not roll yet, so a window reaching past it is refused with the
    reason, and the file is left as it was."""
    import datetime as dt

    import pytest

    from backend.agreements.archive import ArchiveSetupError, renew_agreement
    from backend.agreements.models import Agreement
    from backend.pki.service import require_gm_ca

    aid = signed_agreement(client, token_for, session)
    session.commit()
    before = session.get(Agreement, aid)
    assert before is not None
    stored = before.current_pdf_sha256
    expires = require_gm_ca().tsa_certificate.not_valid_after_utc
    tsa_left = (expires - dt.datetime.now(dt.UTC)).days
    assert not renew_agreement(session, aid, within_days=365, actor="test")  # not due yet
    with pytest.raises(ArchiveSetupError, match="国密时间戳证书"):
        renew_agreement(session, aid, within_days=tsa_left + 30, actor="test")
    session.rollback()
    after = session.get(Agreement, aid)
    assert after is not None and after.current_pdf_sha256 == stored
