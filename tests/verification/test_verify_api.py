"""POST /api/v1/verify through the worker pool, the report downloads, the registry."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlmodel import Session

from tests.verification.conftest import revisions, signed_agreement


def _verify(client: Any, headers: dict[str, str], data: bytes, name: str = "a.pdf") -> Any:
    return client.post(
        "/api/v1/verify", files={"file": (name, data, "application/pdf")}, headers=headers
    )


def test_signed_agreement_passes_with_three_signatures_in_order_and_is_known(
    client: Any, token_for: Any, session: Session, verification_pool: Any
) -> None:
    pdf = revisions(session, signed_agreement(session))[-1]
    r = _verify(client, token_for("auditor"), pdf)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["indication"] == "TOTAL_PASSED"
    assert [s["field"] for s in body["signatures"]] == ["party_yi", "party_bing", "party_jia"]
    assert all(
        s["signer"]["serial"] and s["timestamp"] and s["revocation"] == "good"
        for s in body["signatures"]
    )
    assert body["registry"]["status"] == "issued"
    assert body["registry"]["documents"][0]["agreement"]["revision"]["party"] == "jia"
    assert body["summary_zh"][0].startswith("总体结论")


def test_tampered_copy_fails_and_is_not_issued_but_extends_nothing(
    client: Any, token_for: Any, session: Session, verification_pool: Any
) -> None:
    pdf = bytearray(revisions(session, signed_agreement(session))[-1])
    pdf[2000] ^= 0x01
    body = _verify(client, token_for("auditor"), bytes(pdf)).json()
    assert body["indication"] == "TOTAL_FAILED"
    assert body["registry"]["status"] == "unknown"


def test_registry_hits_every_revision_and_misses_a_foreign_file(
    client: Any, token_for: Any, session: Session
) -> None:
    ag = signed_agreement(session)
    h = token_for("auditor")
    revs = revisions(session, ag)
    for index, data in enumerate(revs):
        r = client.get(f"/api/v1/registry/{hashlib.sha256(data).hexdigest()}", headers=h)
        assert r.status_code == 200
        body = r.json()
        assert body["known"] is True
        info = body["documents"][0]["agreement"]
        assert info["number"] == ag.number and info["version"] == ag.version
        assert info["revision"]["index"] == index
        assert info["revision"]["party"] == [None, "yi", "bing", "jia"][index]
        assert body["status"] == ("issued" if index == len(revs) - 1 else "earlier_revision")
        assert len(info["revision"]["later_revisions"]) == len(revs) - 1 - index
    foreign = client.get(
        "/api/v1/registry/" + hashlib.sha256(b"foreign").hexdigest(), headers=h
    ).json()
    assert foreign["known"] is False and foreign["status"] == "unknown"


def test_incremental_update_on_a_known_revision_is_recognised_as_extending_it(
    client: Any, token_for: Any, session: Session, verification_pool: Any
) -> None:
    from io import BytesIO

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    signed = revisions(session, signed_agreement(session))[-1]
    w = IncrementalPdfFileWriter(BytesIO(signed))
    w.root["/jingpinTest"] = w.root.get("/Type")
    w.update_root()
    out = BytesIO()
    w.write(out)
    body = _verify(client, token_for("auditor"), out.getvalue()).json()
    reg = body["registry"]
    assert reg["status"] == "extends_known"
    assert reg["extends"][0]["agreement"]["revision"]["party"] == "jia"
    assert reg["extends"][0]["appended_bytes"] == len(out.getvalue()) - len(signed)


def test_upload_limits_give_json_codes(client: Any, token_for: Any, monkeypatch: Any) -> None:
    from backend.core.config import get_settings

    h = token_for("auditor")
    assert _verify(client, h, b"").status_code == 422
    monkeypatch.setattr(get_settings(), "upload_max_bytes", 1000)
    r = _verify(client, h, b"%PDF-1.7\n" + b"x" * 2000)
    assert r.status_code == 413 and r.json()["code"] == "file_too_large"


def test_report_json_and_sealed_pdf_download(
    client: Any, token_for: Any, session: Session, verification_pool: Any, office: Any
) -> None:
    from backend.pki.service import verify_bytes

    pdf = revisions(session, signed_agreement(session))[-1]
    h = token_for("auditor")
    body = _verify(client, h, pdf, "协议.pdf").json()
    sha = body["file_sha256"]
    again = client.get(f"/api/v1/verify/{sha}/report.json", headers=h).json()
    assert again["indication"] == "TOTAL_PASSED" and again["file_name"] == "协议.pdf"
    r = client.get(f"/api/v1/verify/{sha}/report.pdf", headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    report = verify_bytes(r.content)
    assert report.indication == "TOTAL_PASSED", report
    assert report.signatures[0].signer is not None
    assert report.signatures[0].signer.organisation == "jingpin 系统"
    assert report.signatures[0].timestamp
    from io import BytesIO

    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(BytesIO(r.content)).pages)
    assert "电子签名验证报告" in text and sha in text.replace("\n", "") and "通过" in text
    missing = client.get("/api/v1/verify/" + "0" * 64 + "/report.pdf", headers=h)
    assert missing.status_code == 404


def test_evidence_package_carries_the_sealed_verification_report(
    client: Any, token_for: Any, session: Session, office: Any
) -> None:
    import zipfile
    from io import BytesIO

    from backend.pki.service import verify_bytes

    ag = signed_agreement(session)
    z = client.get(f"/api/v1/agreements/{ag.id}/evidence.zip", headers=token_for("auditor"))
    assert z.status_code == 200, z.text
    with zipfile.ZipFile(BytesIO(z.content)) as zf:
        report_pdf = zf.read("verification-report.pdf")
        assert "verification-report.pdf" in zf.read("manifest.json").decode()
    sealed = verify_bytes(report_pdf)
    assert sealed.indication == "TOTAL_PASSED"
    assert sealed.signatures[0].signer.organisation == "jingpin 系统"
