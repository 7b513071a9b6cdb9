"""机构与印章管理 for the system administrator (issue 15.6): each organisation's seal
certificates with their state and validity, 签发 / 续期 / 吊销 (a reason from a Chinese list that
maps to the RFC 5280 CRL reasons), and the seal picture (印章图片) the visible signature shows
instead of the generated round seal. Every change is audit-logged; services only flush."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from io import BytesIO

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlmodel import Session

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.service import require_role
from backend.core.db import utcnow
from backend.core.errors import Conflict, ValidationFailed
from backend.documents.store import get_store
from backend.orgs.models import Organisation
from backend.pki.service import (
    SealAlgorithm,
    get_ca,
    get_gm_ca,
    issue_seal,
    seal_serial,
)
from signing.errors import CertificateNotFound
from signing.gm.pki import GmCertificateAuthority
from signing.pki import CertificateAuthority, IssuedCertificate, RevocationReason

ADMIN_ONLY = "只有系统管理员可以管理机构的印章"
# Under the default request body limit (backend.core.limits), so the page answers the field.
MAX_UPLOAD_BYTES = 512 * 1024
MIN_PICTURE_PIXELS, MAX_PICTURE_PIXELS = 100, 2000
# Near-white pixels of a picture without transparency (a scanned or photographed seal, JPEG)
# become transparent, so the seal does not cover the page with a white square.
WHITE_THRESHOLD = 235


# 吊销原因: what the admin picks → the RFC 5280 CRLReason written into the CRL. Only the
# reasons that fit an organisation's seal (no CA compromise, no temporary hold).
REVOCATION_REASONS: dict[str, tuple[str, RevocationReason]] = {
    "key_compromise": ("密钥泄露或疑似泄露（如保管介质丢失）", "key_compromise"),
    "affiliation_changed": ("机构名称、隶属关系等信息变更", "affiliation_changed"),
    "superseded": ("已由新的印章证书替代", "superseded"),
    "cessation_of_operation": ("机构注销或停止使用该印章", "cessation_of_operation"),
    "privilege_withdrawn": ("签章权限被撤销", "privilege_withdrawn"),
    "unspecified": ("其他原因", "unspecified"),
}
REASON_LABELS: dict[str, str] = {rfc: label for label, rfc in REVOCATION_REASONS.values()}


class CertificateState(StrEnum):
    missing = "missing"
    valid = "valid"
    expiring = "expiring"  # within 30 days
    expired = "expired"
    revoked = "revoked"

    @property
    def label(self) -> str:
        return {
            "missing": "未签发",
            "valid": "有效",
            "expiring": "即将到期",
            "expired": "已过期",
            "revoked": "已吊销",
        }[self.value]


@dataclass(frozen=True)
class SealCertificate:
    """One of the organisation's seal certificates (current or earlier), for the pages."""

    algorithm: SealAlgorithm
    serial: str
    state: CertificateState
    not_before: dt.datetime
    not_after: dt.datetime
    revoked_at: dt.datetime | None
    revocation_reason: str | None  # Chinese label
    current: bool


@dataclass(frozen=True)
class AlgorithmSeals:
    """The organisation's certificates of one algorithm: the current one first, then the ones
    it renewed (walking renewed_from), and what the admin may do now."""

    algorithm: SealAlgorithm
    available: bool  # the CA of this algorithm exists
    state: CertificateState
    certificates: list[SealCertificate]

    @property
    def can_issue(self) -> bool:
        return self.available and self.state is CertificateState.missing

    @property
    def can_renew(self) -> bool:
        return self.available and self.state is not CertificateState.missing

    @property
    def can_revoke(self) -> bool:
        return self.state in (CertificateState.valid, CertificateState.expiring)


def grouped(serial: str) -> str:
    """A serial for people: groups of eight hex digits (it wraps on a phone, reads aloud)."""
    return " ".join(serial[i : i + 8] for i in range(0, len(serial), 8))


def _state(issued: IssuedCertificate, now: dt.datetime) -> CertificateState:
    if issued.revoked:
        return CertificateState.revoked
    if issued.not_after <= now:
        return CertificateState.expired
    if issued.not_after <= now + dt.timedelta(days=30):
        return CertificateState.expiring
    return CertificateState.valid


def _ca(algorithm: SealAlgorithm) -> CertificateAuthority | GmCertificateAuthority | None:
    return get_gm_ca() if algorithm is SealAlgorithm.sm2 else get_ca()


def seal_certificates(org: Organisation, *, history: int = 10) -> list[AlgorithmSeals]:
    now = utcnow()
    out = []
    for algorithm in SealAlgorithm:
        ca = _ca(algorithm)
        serial = seal_serial(org, algorithm)
        chain: list[SealCertificate] = []
        while ca is not None and serial and len(chain) < history:
            try:
                issued = ca.get(serial)
            except (CertificateNotFound, ValueError):
                break
            chain.append(
                SealCertificate(
                    algorithm=algorithm,
                    serial=issued.serial_hex,
                    state=_state(issued, now),
                    not_before=issued.not_before,
                    not_after=issued.not_after,
                    revoked_at=issued.revoked_at,
                    revocation_reason=(
                        REASON_LABELS.get(issued.revocation_reason, issued.revocation_reason)
                        if issued.revocation_reason
                        else None
                    ),
                    current=not chain,
                )
            )
            serial = format(issued.renewed_from, "x") if issued.renewed_from else None
        state = chain[0].state if chain else CertificateState.missing
        out.append(AlgorithmSeals(algorithm, ca is not None, state, chain))
    return out


def algorithm_of(value: str) -> SealAlgorithm:
    try:
        return SealAlgorithm(value)
    except ValueError:
        raise ValidationFailed(
            "请选择印章证书的算法", fields={"algorithm": "请选择印章证书的算法"}
        ) from None


def seals_of(org: Organisation, algorithm: SealAlgorithm) -> AlgorithmSeals:
    return next(s for s in seal_certificates(org, history=1) if s.algorithm is algorithm)


def issue(session: Session, admin: User, org: Organisation, algorithm: SealAlgorithm) -> str:
    """签发: the organisation's first certificate of this algorithm."""
    require_role(admin, Role.admin, message=ADMIN_ONLY)
    seals = seals_of(org, algorithm)
    if seals.state is not CertificateState.missing:
        raise Conflict("该机构已有此类印章证书，如需更换请续期", code="seal_exists")
    if not seals.available:
        raise Conflict(f"{algorithm.label}证书机构尚未建立", code="no_ca")
    return issue_seal(session, org, actor=admin, algorithm=algorithm)


def renew(session: Session, admin: User, org: Organisation, algorithm: SealAlgorithm) -> str:
    """续期: a new certificate with a new key for the same subject; the old one stays valid
    until it expires or is revoked (signatures already made keep verifying)."""
    require_role(admin, Role.admin, message=ADMIN_ONLY)
    if not seal_serial(org, algorithm):
        raise Conflict("该机构尚无此类印章证书，请先签发", code="no_certificate")
    return issue_seal(session, org, actor=admin, algorithm=algorithm, renew=True)


def reason_of(value: str) -> RevocationReason:
    if value not in REVOCATION_REASONS:
        raise ValidationFailed("请选择吊销原因", fields={"reason": "请选择吊销原因"})
    return REVOCATION_REASONS[value][1]


def revoke(
    session: Session,
    admin: User,
    org: Organisation,
    algorithm: SealAlgorithm,
    reason: str,
    note: str = "",
) -> str:
    """吊销 the current certificate of this algorithm: the CRL lists it with the reason from
    now on, so it can no longer sign; what it signed before stays verifiable (the archive
    form carries the validation data of the time of signing)."""
    require_role(admin, Role.admin, message=ADMIN_ONLY)
    rfc_reason = reason_of(reason)
    if len(note.strip()) > 200:
        raise ValidationFailed("说明最多 200 个字", fields={"note": "说明最多 200 个字"})
    seals = seals_of(org, algorithm)
    if not seals.can_revoke:
        raise Conflict(
            f"该机构的{algorithm.label}印章证书{seals.state.label}，无需吊销",
            code="certificate_not_revocable",
        )
    serial = seals.certificates[0].serial
    ca = _ca(algorithm)
    assert ca is not None  # can_revoke: a current certificate of this CA exists
    ca.revoke(serial, rfc_reason)
    record(
        session,
        actor=admin,
        action="certificate.revoke",
        object_type="organisation",
        object_id=org.id,
        payload={
            "serial": serial,
            "algorithm": algorithm.value,
            "reason": rfc_reason,
            "note": note.strip(),
        },
    )
    return serial


# --------------------------------------------------------------------------- seal picture
def normalise_picture(data: bytes) -> bytes:
    """A PNG or JPEG the image library decodes, of a sensible size, as an RGBA PNG (metadata
    dropped; white made transparent when the picture has no transparency of its own)."""
    field = "picture"
    if not data:
        raise ValidationFailed("请选择印章图片", fields={field: "请选择印章图片"})
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed(
            "印章图片过大", fields={field: f"印章图片不能超过 {MAX_UPLOAD_BYTES // 1024} KB"}
        )
    try:
        with Image.open(BytesIO(data)) as probe:
            fmt, size = probe.format, probe.size
            probe.verify()
        if fmt not in ("PNG", "JPEG"):
            raise ValidationFailed(
                "印章图片须为 PNG 或 JPEG 格式", fields={field: "须为 PNG 或 JPEG 格式的图片"}
            )
        if not all(MIN_PICTURE_PIXELS <= side <= MAX_PICTURE_PIXELS for side in size):
            raise ValidationFailed(
                "印章图片尺寸不合适",
                fields={
                    field: f"图片边长须在 {MIN_PICTURE_PIXELS}–{MAX_PICTURE_PIXELS} 像素之间"
                    f"（当前 {size[0]}×{size[1]}）"
                },
            )
        with Image.open(BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened)
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            rgba = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationFailed(
            "无法识别的图片", fields={field: "不是有效的 PNG 或 JPEG 图片"}
        ) from None
    if not has_alpha:
        alpha = rgba.convert("L").point(lambda v: 0 if v > WHITE_THRESHOLD else 255)
        rgba.putalpha(alpha)
    out = BytesIO()
    rgba.save(out, format="PNG", optimize=True)
    return out.getvalue()


def set_picture(session: Session, admin: User, org: Organisation, data: bytes) -> str:
    """Store the uploaded seal picture (content-addressed) for the organisation's visible
    signatures from now on; returns its sha256."""
    require_role(admin, Role.admin, message=ADMIN_ONLY)
    png = normalise_picture(data)
    previous = org.seal_picture_sha256
    org.seal_picture_sha256 = get_store().put(png)
    session.add(org)
    session.flush()
    record(
        session,
        actor=admin,
        action="organisation.seal_picture",
        object_type="organisation",
        object_id=org.id,
        payload={"sha256": org.seal_picture_sha256, "previous": previous, "bytes": len(data)},
    )
    return org.seal_picture_sha256


def clear_picture(session: Session, admin: User, org: Organisation) -> None:
    """Back to the generated round seal."""
    require_role(admin, Role.admin, message=ADMIN_ONLY)
    if org.seal_picture_sha256 is None:
        raise Conflict("该机构使用的已是系统生成的圆形印章", code="no_seal_picture")
    previous, org.seal_picture_sha256 = org.seal_picture_sha256, None
    session.add(org)
    session.flush()
    record(
        session,
        actor=admin,
        action="organisation.seal_picture_cleared",
        object_type="organisation",
        object_id=org.id,
        payload={"previous": previous},
    )


def blocker(org: Organisation, algorithm: SealAlgorithm, action: str) -> str | None:
    """Why ``action`` (issue / renew / revoke) cannot be done now, in Chinese; None if it can."""
    seals = seals_of(org, algorithm)
    if not seals.available:
        return f"{algorithm.label}证书机构尚未建立（可先在印章管理中更改密码算法配置）"
    if action == "issue" and not seals.can_issue:
        return f"该机构已有{algorithm.label}印章证书（{seals.state.label}），如需更换请续期"
    if action == "renew" and not seals.can_renew:
        return "该机构尚无此类印章证书，请先签发"
    if action == "revoke" and not seals.can_revoke:
        return f"该机构的{algorithm.label}印章证书{seals.state.label}，无需吊销"
    return None
