"""Signed export of an audit trail (审计轨迹导出): JSON Lines, one event per line, a checkpoint
line, and a final line with the system's detached signature over every byte before it.

Lines: ``{"jingpin_audit_export": {...}}`` (what and when), the events, then
``{"jingpin_audit_checkpoint": {...}}`` — the signed checkpoint of the whole chain written for
this export (backend.audit_log.checkpoints), a copy of the anchor outside the database — and
last ``{"jingpin_signature": {...}}`` with the algorithm (ECDSA P-256 / SHA-256), the sha256 and
length of the signed bytes, the signature (base64 DER) and the system seal certificate (PEM).

:func:`verify_export` pins the system seal: the signing certificate must be one of this
installation's system seal certificates (not merely any certificate of the issuing CA, which
also issues every organisation's seal), not revoked, and the checkpoint must be signed the same
way and cover every exported event. A change of any single byte makes verification fail.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlmodel import Session

from backend.audit_log.checkpoints import STATEMENT_TYPE, as_dict, write
from backend.audit_log.models import AuditEvent
from backend.audit_log.service import event_dict
from backend.core.db import utcnow
from backend.pki.service import (
    SystemSignature,
    check_system_signature,
    get_ca,
    sign_as_system,
)

SIGNATURE_KEY = "jingpin_signature"
CHECKPOINT_KEY = "jingpin_audit_checkpoint"


def export_lines(
    session: Session, events: list[AuditEvent], *, object_type: str, object_id: str
) -> bytes:
    """The trail as signed JSON Lines (header, events, checkpoint, signature). The checkpoint
    is written in ``session``'s transaction: the request may hold the audit writers' lock."""
    cp = write(session, reason="export")
    checkpoint = as_dict(cp) if cp else None
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
        for x in [header, *(event_dict(e) for e in events), {CHECKPOINT_KEY: checkpoint}]
    ).encode()
    sig = sign_as_system(body)
    trailer = {
        SIGNATURE_KEY: {
            "algorithm": sig.algorithm,
            "signed_bytes": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "signature": sig.signature_b64,
            "certificate": sig.certificate_pem,
            "issuer_certificate": get_ca()
            .issuing_certificate.public_bytes(serialization.Encoding.PEM)
            .decode(),
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
    pinned: list[x509.Certificate],
    revoked_serials: set[int] | None = None,
) -> ExportCheck:
    """Check a signed export against this installation's system seal certificates."""
    if not data.endswith(b"\n"):
        return _fail("文件不完整：缺少结尾的签名行")
    cut = data.rfind(b"\n", 0, len(data) - 1) + 1
    body, last = data[:cut], data[cut:]
    try:
        trailer: dict[str, Any] = json.loads(last)[SIGNATURE_KEY]
        sig = SystemSignature(
            str(trailer["algorithm"]), str(trailer["signature"]), str(trailer["certificate"])
        )
        claimed_len, claimed_sha = int(trailer["signed_bytes"]), str(trailer["sha256"])
        cert = x509.load_pem_x509_certificate(sig.certificate_pem.encode())
    except (ValueError, KeyError, TypeError, AttributeError):
        return _fail("签名行缺失或格式错误，无法核验")
    if claimed_len != len(body) or claimed_sha != hashlib.sha256(body).hexdigest():
        return _fail("导出内容与签名时不一致：文件已被改动")
    problem = check_system_signature(body, sig, pinned=pinned, revoked_serials=revoked_serials)
    if problem:
        return _fail(problem)
    try:
        lines = [json.loads(x) for x in body.splitlines()]
        header = lines[0]["jingpin_audit_export"]
        checkpoint = lines[-1][CHECKPOINT_KEY]
    except (ValueError, KeyError, IndexError, TypeError):
        return _fail("导出内容格式错误")
    events = lines[1:-1]
    if header.get("events") != len(events):
        return _fail("事件条数与导出说明不符")
    covered = _check_checkpoint(checkpoint, pinned, revoked_serials)
    if isinstance(covered, str):
        return _fail(covered)
    if any(int(e.get("seq", 0)) > covered for e in events):
        return _fail("导出的事件超出了检查点覆盖的范围")
    who = cert.subject.rfc4514_string()
    return ExportCheck(
        True,
        f"签名有效：审计轨迹（{header.get('object_type')} {header.get('object_id')}，"
        f"共 {len(events)} 条事件）由本系统导出并签名，签名证书 {who}，"
        f"序列号 {cert.serial_number:x}；导出时审计日志共 {covered} 条事件（签名检查点）",
        len(events),
    )


def _check_checkpoint(
    cp: Any, pinned: list[x509.Certificate], revoked: set[int] | None
) -> int | str:
    """The seq the export's checkpoint covers, or why it does not hold."""
    try:
        statement = str(cp["statement"])
        body = json.loads(statement)
        sig = SystemSignature(
            str(cp["signature_algorithm"]), str(cp["signature"]), str(cp["certificate_pem"])
        )
        seq = int(body["seq"])
        if body.get("type") != STATEMENT_TYPE:
            raise ValueError(body.get("type"))
    except (ValueError, KeyError, TypeError):
        return "检查点缺失或格式错误"
    problem = check_system_signature(
        statement.encode(), sig, pinned=pinned, revoked_serials=revoked
    )
    return f"检查点签名无效：{problem}" if problem else seq
