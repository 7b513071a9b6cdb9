"""The backend's trust services: CA made by init, seals, TSA over HTTP, CRL, verify, registry."""

from __future__ import annotations

import json
import subprocess

from asn1crypto import crl as asn1_crl
from asn1crypto import tsp
from cryptography import x509
from sqlmodel import select
from typer.testing import CliRunner

from backend.cli import app as cli
from backend.orgs.models import Organisation, OrgKind
from backend.pki.service import get_ca

runner = CliRunner()


def test_every_demo_organisation_has_a_seal_certificate_from_our_ca(env, session):
    ca = get_ca()
    orgs = session.exec(select(Organisation)).all()
    assert orgs and all(o.seal_cert_serial for o in orgs)
    producer = next(o for o in orgs if o.kind == OrgKind.producer)
    cert = ca.get(producer.seal_cert_serial).certificate
    assert cert.issuer == ca.issuing_certificate.subject
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment


def test_export_root_writes_a_pem_that_openssl_reads(env, tmp_path):
    out = tmp_path / "root.pem"
    result = runner.invoke(cli, ["ca", "export-root", str(out)])
    assert result.exit_code == 0, result.output
    text = subprocess.run(
        ["openssl", "x509", "-in", str(out), "-noout", "-subject"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Root CA" in text


def test_timestamp_authority_answers_rfc3161_queries_over_http(client):
    import hashlib
    import os

    req = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(b"jingpin").digest(),
            },
            "nonce": int.from_bytes(os.urandom(8), "big"),
            "cert_req": True,
        }
    )
    r = client.post(
        "/tsa", content=req.dump(), headers={"content-type": "application/timestamp-query"}
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/timestamp-reply"
    resp = tsp.TimeStampResp.load(r.content)
    assert resp["status"]["status"].native == "granted"
    info = resp["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["nonce"].native == req["nonce"].native


def test_timestamp_authority_refuses_the_wrong_content_type(client):
    r = client.post("/tsa", content=b"x", headers={"content-type": "text/plain"})
    assert r.status_code == 400 and r.json()["code"] == "unsupported_media_type"


def test_revoked_seal_appears_in_the_published_crl(env, client, session):
    org = session.exec(select(Organisation).where(Organisation.kind == OrgKind.producer)).first()
    result = runner.invoke(
        cli, ["ca", "revoke", org.seal_cert_serial, "--reason", "key_compromise"]
    )
    assert result.exit_code == 0, result.output
    r = client.get("/crl/issuing.crl")
    crl = asn1_crl.CertificateList.load(r.content)
    serials = {
        format(e["user_certificate"].native, "x")
        for e in crl["tbs_cert_list"]["revoked_certificates"]
    }
    assert org.seal_cert_serial.lstrip("0") in serials


def test_revoking_an_unknown_serial_is_a_clear_cli_error(env):
    result = runner.invoke(cli, ["ca", "revoke", "abcdef", "--reason", "superseded"])
    assert result.exit_code == 1 and "未找到该证书" in result.output


def test_verify_cli_says_3_for_a_file_that_is_not_a_pdf(env, tmp_path):
    f = tmp_path / "fake.pdf"
    f.write_bytes(b"\x89PNG\r\n\x1a\n....")
    result = runner.invoke(cli, ["verify", str(f), "--json"])
    assert result.exit_code == 3
    body = json.loads(result.output)
    assert body["indication"] != "TOTAL_PASSED" and body["registry"]["known"] is False


def test_verify_api_refuses_an_empty_upload(client, token_for):
    r = client.post(
        "/api/v1/verify",
        files={"file": ("a.pdf", b"", "application/pdf")},
        headers=token_for("auditor"),
    )
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"


def test_registry_rejects_malformed_hashes_and_misses_foreign_ones(client, token_for):
    h = token_for("auditor")
    assert client.get("/api/v1/registry/xyz", headers=h).status_code == 422
    r = client.get("/api/v1/registry/" + "ab" * 32, headers=h)
    assert r.status_code == 200 and r.json()["known"] is False
