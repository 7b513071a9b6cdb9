"""电子印章 (GB/T 38540-2020): an organisation's SES_Seal, made by the admin from its seal picture
and signed by the SM2 CA's seal maker (制章者); the SES_Signature of each SM2 PDF signature, made
when the party signs (signing.gm.ses builds both; the DER goes into the content-addressed store).
"""

from __future__ import annotations

import datetime as dt
from io import BytesIO

from cryptography.hazmat.primitives import serialization
from PIL import Image, UnidentifiedImageError
from sqlmodel import Session, col, select

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.service import require_role
from backend.core.db import utcnow
from backend.core.errors import NotFound, ValidationFailed
from backend.documents.store import get_store
from backend.orgs.models import Organisation
from backend.pki.models import ElectronicSeal
from backend.pki.schemas import ElectronicSealRead, OrganisationSeals
from backend.pki.service import (
    CryptoProfile,
    SealAlgorithm,
    gm_timestamp_authority,
    profile_of,
    require_gm_ca,
    set_profile,
    usable_seal,
)
from signing.gm.ses import SesSeal, build_seal, build_signature, pdf_signed_bytes
from signing.hashes import sm3_hex

MAX_PICTURE_BYTES = 512 * 1024
MAX_PICTURE_PIXELS = 2000
SEAL_READERS = (Role.admin, Role.auditor, Role.ministry_officer)


def readable_organisations(session: Session, user: User) -> list[Organisation]:
    """Seal readers see every organisation; anyone else only their own."""
    query = select(Organisation).order_by(col(Organisation.id))
    if user.role not in SEAL_READERS:
        query = query.where(Organisation.id == user.organisation_id)
    return list(session.exec(query).all())


def get_organisation(session: Session, user: User, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None or (user.role not in SEAL_READERS and user.organisation_id != org.id):
        raise NotFound("未找到该机构", code="organisation_not_found")
    return org


def organisation_seals(session: Session, org: Organisation) -> OrganisationSeals:
    own = CryptoProfile(org.crypto_profile) if org.crypto_profile else None
    profile = profile_of(org)
    return OrganisationSeals(
        organisation_id=org.id or 0,
        organisation=org.name,
        crypto_profile=profile.value,
        crypto_profile_own=own.value if own else None,
        crypto_profile_label=profile.label,
        ecdsa_cert_serial=org.seal_cert_serial,
        sm2_cert_serial=org.sm2_seal_cert_serial,
        electronic_seals=[
            ElectronicSealRead.model_validate(s) for s in electronic_seals(session, org)
        ],
    )


def change_profile(
    session: Session, user: User, org: Organisation, profile: CryptoProfile | None
) -> list[str]:
    """Admin: the organisation's own crypto profile (None = the deployment's); issues the seal
    certificates it then needs."""
    require_role(user, Role.admin, message="仅系统管理员可以更改机构的密码算法配置")
    return set_profile(session, org, profile, actor=user)


def _check_picture(picture: bytes) -> None:
    """A PNG the image library can decode, of a sensible size (the picture is shown to people
    and embedded in every SES_Signature)."""
    if not picture:
        raise ValidationFailed("请上传印章图片", fields={"picture": "请上传印章图片"})
    if len(picture) > MAX_PICTURE_BYTES:
        raise ValidationFailed(
            f"印章图片不能超过 {MAX_PICTURE_BYTES // 1024} KB",
            fields={"picture": "图片过大"},
        )
    try:
        with Image.open(BytesIO(picture)) as image:
            fmt, size = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationFailed(
            "印章图片不是有效的 PNG 图片", fields={"picture": "不是有效的 PNG 图片"}
        ) from exc
    if fmt != "PNG":
        raise ValidationFailed("印章图片须为 PNG 格式", fields={"picture": "须为 PNG 格式"})
    if max(size) > MAX_PICTURE_PIXELS:
        raise ValidationFailed(
            f"印章图片边长不能超过 {MAX_PICTURE_PIXELS} 像素", fields={"picture": "图片过大"}
        )


def create_electronic_seal(
    session: Session,
    user: User,
    org: Organisation,
    picture: bytes,
    *,
    name: str | None = None,
    width_mm: int = 40,
    height_mm: int = 40,
) -> ElectronicSeal:
    """Admin: an SES_Seal for the organisation from its seal picture, listing its current SM2
    seal certificate, valid until that certificate expires."""
    require_role(user, Role.admin, message="仅系统管理员可以制作电子印章")
    name = (name or f"{org.name}电子印章").strip()
    fields = {}
    if not 1 <= len(name) <= 100:
        fields["name"] = "印章名称须为 1–100 个字"
    if not (10 <= width_mm <= 100 and 10 <= height_mm <= 100):
        fields["size"] = "印章尺寸须在 10–100 毫米之间"
    if fields:
        raise ValidationFailed(next(iter(fields.values())), fields=fields)
    _check_picture(picture)
    issued = usable_seal(org, SealAlgorithm.sm2)  # 409 without a usable SM2 seal certificate
    ca = require_gm_ca()
    count = len(electronic_seals(session, org))
    es_id = f"JP{org.id or 0:06d}{count + 1:04d}"
    now = utcnow()
    der = build_seal(
        es_id=es_id,
        name=name,
        picture=picture,
        picture_type="PNG",
        width_mm=width_mm,
        height_mm=height_mm,
        signer_certificates=[issued.certificate.public_bytes(serialization.Encoding.DER)],
        maker_certificate=ca.seal_maker_certificate.public_bytes(serialization.Encoding.DER),
        maker_key=ca.seal_maker_private_key(),
        valid_start=now,
        valid_end=issued.not_after,
        created=now,
    )
    seal = ElectronicSeal(
        organisation_id=org.id or 0,
        es_id=es_id,
        name=name,
        picture_type="PNG",
        width_mm=width_mm,
        height_mm=height_mm,
        sm2_cert_serial=issued.serial_hex,
        valid_start=now.replace(microsecond=0),
        valid_end=issued.not_after,
        seal_sha256=get_store().put(der),
        seal_sm3=sm3_hex(der),
        created_by=user.id,
    )
    session.add(seal)
    session.flush()
    record(
        session,
        actor=user,
        action="electronic_seal.create",
        object_type="organisation",
        object_id=org.id,
        payload={
            "electronic_seal_id": seal.id,
            "es_id": es_id,
            "name": name,
            "sm2_cert_serial": issued.serial_hex,
            "sha256": seal.seal_sha256,
            "sm3": seal.seal_sm3,
        },
    )
    return seal


def electronic_seals(session: Session, org: Organisation) -> list[ElectronicSeal]:
    """The organisation's electronic seals, newest first."""
    return list(
        session.exec(
            select(ElectronicSeal)
            .where(ElectronicSeal.organisation_id == org.id)
            .order_by(col(ElectronicSeal.id).desc())
        ).all()
    )


def get_electronic_seal(session: Session, user: User, seal_id: int) -> ElectronicSeal:
    """404 unless the seal exists and the user may see it (seal readers, or the organisation's
    own members)."""
    seal = session.get(ElectronicSeal, seal_id)
    if seal is None or (
        user.role not in SEAL_READERS and user.organisation_id != seal.organisation_id
    ):
        raise NotFound("未找到该电子印章", code="electronic_seal_not_found")
    return seal


def seal_der(seal: ElectronicSeal) -> bytes:
    return get_store().get(seal.seal_sha256)


def seal_picture(seal: ElectronicSeal) -> bytes:
    """The seal picture as the SES_Seal carries it."""
    info = SesSeal.load(seal_der(seal))["e_seal_info"]
    return bytes(info["picture"]["data"].native)


def current_seal_for(
    session: Session, org: Organisation, sm2_serial: str, at: dt.datetime | None = None
) -> ElectronicSeal | None:
    """The newest electronic seal of the organisation that lists this SM2 certificate and is
    valid at ``at`` (default now)."""
    at = at or utcnow()
    return session.exec(
        select(ElectronicSeal)
        .where(
            ElectronicSeal.organisation_id == org.id,
            ElectronicSeal.sm2_cert_serial == sm2_serial,
            col(ElectronicSeal.valid_start) <= at,
            col(ElectronicSeal.valid_end) > at,
        )
        .order_by(col(ElectronicSeal.id).desc())
    ).first()


def ses_signature_for(
    session: Session,
    org: Organisation,
    sm2_serial: str,
    pdf: bytes,
    field: str,
    property_info: str,
) -> str | None:
    """The SES_Signature (DER, stored; returns its sha256) of the SM2 PDF signature in
    ``field``: TBS_Sign with the SM3 of the bytes that signature covers, signed with the same
    SM2 seal key and timestamped by the SM2 TSA. None when no electronic seal of the
    organisation lists the certificate."""
    seal = current_seal_for(session, org, sm2_serial)
    if seal is None:
        return None
    ca = require_gm_ca()
    issued = ca.get(sm2_serial)
    der = build_signature(
        seal=seal_der(seal),
        signed_bytes=pdf_signed_bytes(pdf, field),
        signer_certificate=issued.certificate.public_bytes(serialization.Encoding.DER),
        signer_key=ca.private_key(sm2_serial),
        property_info=property_info,
        timestamp_authority=gm_timestamp_authority(),
    )
    return get_store().put(der)
