"""The evidence package of an agreement (证据包): the current PDF, the verification report
(JSON, text, and the PDF sealed by the system), the agreement's audit trail, the CA chain, the
TSA certificate, the current CRL, and a manifest with sha256 and SM3 of every file."""

from __future__ import annotations

import io
import json
import zipfile

from cryptography.hazmat.primitives import serialization
from sqlmodel import Session

from backend.agreements import service as agreements
from backend.agreements.models import Agreement, AgreementStatus
from backend.audit_log.service import event_dict
from backend.auth.models import User
from backend.core.db import utcnow
from backend.pki.service import get_ca, get_gm_ca, verify_bytes
from backend.verification.report import render_sealed_report
from backend.verification.service import result_body
from signing.hashes import sha256_hex, sm3_hex
from signing.verify import describe_zh


def evidence_zip(session: Session, user: User, agreement_id: int) -> tuple[Agreement, bytes]:
    """Evidence package: PDF, verification report (JSON + text), audit trail, CA chain, TSA
    certificate, current CRL (of the SM2 CA too, when there is one) and a manifest with sha256
    and SM3 of every file."""
    ag, pdf = agreements.current_pdf(session, user, agreement_id)
    ca = get_ca()
    report = verify_bytes(pdf)
    report_text = (
        "\n".join(
            [
                f"协议编号：{ag.number}（第{ag.version}版）",
                f"状态：{AgreementStatus(ag.status).label}",
                f"文件 SHA-256：{report.file_sha256}",
                f"文件 SM3：{report.file_sm3}",
                f"总体结论：{report.indication}",
                *describe_zh(report),
            ]
        )
        + "\n"
    )
    events = agreements.history(session, ag)
    audit_lines = "".join(json.dumps(event_dict(e), ensure_ascii=False) + "\n" for e in events)
    body = result_body(session, report, pdf, f"agreement-{ag.number}.pdf")
    files: dict[str, bytes] = {
        f"agreement-{ag.number}.pdf": pdf,
        "verification-report.json": json.dumps(
            report.to_dict(), ensure_ascii=False, indent=2
        ).encode(),
        # The same report for people: rendered and sealed by the system (PAdES B-T).
        "verification-report.pdf": render_sealed_report(body.model_dump(mode="json")),
        "verification-report.txt": report_text.encode(),
        "audit-trail.jsonl": audit_lines.encode(),
        "ca-chain.pem": ca.chain_pem(),
        "root-ca.pem": ca.export_root_pem(),
        "tsa.pem": ca.tsa_certificate.public_bytes(serialization.Encoding.PEM),
        "issuing-ca.crl": ca.crl_der(),
    }
    gm = get_gm_ca()
    if gm is not None:  # the SM2 (国密) chain, TSA and CRL beside the ECDSA ones
        files |= {
            "ca-chain-sm2.pem": gm.chain_pem(),
            "root-ca-sm2.pem": gm.export_root_pem(),
            "tsa-sm2.pem": gm.tsa_certificate.public_bytes(serialization.Encoding.PEM),
            "issuing-ca-sm2.crl": gm.crl_der(),
        }
    manifest = {
        "agreement": {"id": ag.id, "number": ag.number, "version": ag.version, "status": ag.status},
        "generated_at": utcnow().isoformat(),
        "files": {
            name: {"sha256": sha256_hex(data), "sm3": sm3_hex(data), "size": len(data)}
            for name, data in files.items()
        },
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return ag, buf.getvalue()
