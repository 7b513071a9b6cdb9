"""Signed export of an audit trail (审计轨迹导出): JSON Lines, one event per line, and a final
line with the system's detached signature over every byte before it.

The last line is ``{"jingpin_signature": {...}}`` with the algorithm (ECDSA P-256 / SHA-256),
the sha256 and length of the signed bytes, the signature (base64 DER), the system certificate and
the issuing CA certificate (PEM). :func:`verify_export` checks the signature, that the certificate
was issued by this installation's issuing CA under its root, and that it is not revoked, so a
change of any single byte makes verification fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from backend.audit_log.models import AuditEvent
from backend.audit_log.service import event_dict
from backend.core.db import utcnow
from backend.pki.service import get_ca, system_seal

SIGNATURE_KEY = "jingpin_signature"
ALGORITHM = "ecdsa-p256-sha256"


def export_lines(events: list[AuditEvent], *, object_type: str, object_id: str) -> bytes:
    """The trail as signed JSON Lines (a header line, the events, the signature line)."""
    header = {
        "jingpin_audit_export": {
            "object_type": object_type,
            "object_id": object_id,
            "events": len(events),
            "exported_at": utcnow().isoformat(),
        }
    }
    body = "".join(
        json.dumps(x, ensure_ascii=False, sort_keys=True) + "\n"
        for x in [header, *(event_dict(e) for e in events)]
    ).encode()
    ca = get_ca()
    seal = system_seal()
    key = ca.private_key(seal.serial)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    signature = key.sign(body, ec.ECDSA(hashes.SHA256()))
    trailer = {
        SIGNATURE_KEY: {
            "algorithm": ALGORITHM,
            "signed_bytes": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "signature": base64.b64encode(signature).decode(),
            "certificate": seal.certificate_pem.decode(),
            "issuer_certificate": ca.issuing_certificate.public_bytes(
                serialization.Encoding.PEM
            ).decode(),
        }
    }
    return body + json.dumps(trailer, sort_keys=True).encode() + b"\n"


@dataclass
class ExportCheck:
    ok: bool
    message: str
    events: int = 0


def _fail(message: str) -> ExportCheck:
    return ExportCheck(False, message)


def verify_export(
    data: bytes,
    *,
    root: x509.Certificate,
    issuing: x509.Certificate,
    revoked_serials: set[int] | None = None,
) -> ExportCheck:
    """Check a signed export against this installation's root and issuing CA."""
    if not data.endswith(b"\n"):
        return _fail("文件不完整：缺少结尾的签名行")
    cut = data.rfind(b"\n", 0, len(data) - 1) + 1
    body, last = data[:cut], data[cut:]
    try:
        trailer: dict[str, Any] = json.loads(last)[SIGNATURE_KEY]
        signature = base64.b64decode(trailer["signature"], validate=True)
        cert = x509.load_pem_x509_certificate(trailer["certificate"].encode())
        claimed_len, claimed_sha = int(trailer["signed_bytes"]), str(trailer["sha256"])
        algorithm = trailer["algorithm"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return _fail("签名行缺失或格式错误，无法核验")
    if algorithm != ALGORITHM:
        return _fail(f"不支持的签名算法：{algorithm}")
    if claimed_len != len(body) or claimed_sha != hashlib.sha256(body).hexdigest():
        return _fail("导出内容与签名时不一致：文件已被改动")
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        return _fail("签名证书的密钥类型不正确")
    try:
        public.verify(signature, body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return _fail("签名值无效：文件已被改动或签名不是本系统所签")
    try:
        cert.verify_directly_issued_by(issuing)
        issuing.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        return _fail("签名证书不是由本系统的证书机构签发")
    if revoked_serials and cert.serial_number in revoked_serials:
        return _fail("签名证书已被吊销")
    try:
        lines = [json.loads(x) for x in body.splitlines()]
        header = lines[0]["jingpin_audit_export"]
    except (ValueError, KeyError, IndexError, TypeError):
        return _fail("导出内容格式错误")
    events = lines[1:]
    if header.get("events") != len(events):
        return _fail("事件条数与导出说明不符")
    who = cert.subject.rfc4514_string()
    return ExportCheck(
        True,
        f"签名有效：审计轨迹（{header.get('object_type')} {header.get('object_id')}，"
        f"共 {len(events)} 条事件）由本系统导出并签名，签名证书 {who}，"
        f"序列号 {cert.serial_number:x}",
        len(events),
    )
