"""The backend's use of the signing library: the CA under the data dir, organisation seals,
the built-in TSA and verification with our trust anchor and current CRL."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pyhanko.sign.timestamps import TimeStamper
from sqlmodel import Session, select

from backend.audit_log.service import record
from backend.core.config import Settings, get_settings
from backend.core.errors import Conflict, NotFound, ValidationFailed
from backend.orgs.models import Organisation
from signing.appearance import SignatureAppearance
from signing.archive import ArchiveTrust, archive_pdf
from signing.errors import CertificateAuthorityError, CertificateNotFound
from signing.pades import FieldSpec, PadesLevel, SigningRequest, ca_signer, prepare, sign_pdf
from signing.pki import CertificateAuthority, IssuedCertificate
from signing.tsa import InProcessTimeStamper, TimestampAuthority, http_timestamper
from signing.verify import VerificationReport, verify_pdf

CRL_PATH = "/crl/issuing.crl"

SYSTEM_ORGANISATION = "jingpin 系统"
SYSTEM_COMMON_NAME = "jingpin 系统 电子签章"
_seal_lock = threading.Lock()


def system_seal() -> IssuedCertificate:
    """The system's own seal certificate (issued from the CA on first use, renewed when it is
    revoked or expires within a week); it seals verification reports and audit exports."""
    ca = get_ca()
    with _seal_lock:
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
        live = [
            c
            for c in ca.list()
            if c.organisation == SYSTEM_ORGANISATION
            and not c.revoked
            and c.key_in_store
            and c.not_after > soon
        ]
        if live:
            return max(live, key=lambda c: c.not_before)
        return ca.issue(organisation=SYSTEM_ORGANISATION, common_name=SYSTEM_COMMON_NAME)


def ca_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_dir / "ca"


def font_cache_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_dir / "fonts"


def init_ca(settings: Settings | None = None) -> CertificateAuthority:
    """Create the CA (root, issuing CA, TSA) on first use; idempotent."""
    s = settings or get_settings()
    return CertificateAuthority.init(
        ca_dir(s),
        kek=s.secret("kek").encode(),
        root_passphrase=s.secret("ca_root_passphrase").encode(),
        organisation="jingpin 微短剧精品创作传播计划",
        crl_url=s.base_url.rstrip("/") + CRL_PATH,
    )


@lru_cache
def _ca_for(directory: str, kek: str, generation: int) -> CertificateAuthority:
    return CertificateAuthority.open(directory, kek=kek.encode())


def _generation(directory: Path) -> int:
    # A TSA or root rollover (maybe by another process: `jingpin ca roll-tsa`, `archive renew`)
    # rewrites tsa.pem: its change time tells every process to reopen the CA.
    return (directory / "tsa.pem").stat().st_mtime_ns


def get_ca() -> CertificateAuthority:
    s = get_settings()
    directory = ca_dir(s)
    return _ca_for(str(directory), s.secret("kek"), _generation(directory))


def timestamp_authority() -> TimestampAuthority:
    s = get_settings()
    directory = ca_dir(s)
    return _tsa_for(str(directory), s.secret("kek"), _generation(directory))


@lru_cache
def _tsa_for(directory: str, kek: str, generation: int) -> TimestampAuthority:
    # Built once per CA generation: unwrapping the TSA key and preparing its certificate costs
    # ~80 ms.
    ca = _ca_for(directory, kek, generation)
    return TimestampAuthority(ca.tsa_certificate, ca.tsa_private_key(), [ca.root_certificate])


def root_passphrase() -> bytes:
    return get_settings().secret("ca_root_passphrase").encode()


def archive_trust() -> ArchiveTrust:
    """Every root, CA, TSA certificate and CRL that long-term validation data is drawn from."""
    ca = get_ca()
    return ArchiveTrust(
        ca.trust_roots,
        ca.validation_crls(fresh=True),
        ca.validation_certificates(),
        ocsp_for=ca.ocsp_response_der,
    )


def archive_bytes(pdf: bytes) -> bytes:
    """The PAdES B-LTA archive form of a signed PDF (DSS for every signature + document
    timestamp from the built-in TSA)."""
    return archive_pdf(pdf, InProcessTimeStamper(timestamp_authority()), archive_trust())


def timestamper() -> TimeStamper:
    """The built-in TSA in-process, or the external one named in the settings."""
    url = get_settings().external_tsa_url
    return http_timestamper(url) if url else InProcessTimeStamper(timestamp_authority())


def issue_seal(session: Session, org: Organisation, *, actor: object, renew: bool = False) -> str:
    """Issue (or renew) the organisation's seal certificate and remember its serial."""
    ca = get_ca()
    if org.seal_cert_serial and not renew:
        raise Conflict("该机构已有有效的电子印章证书，如需更换请续期", code="seal_exists")
    if renew and org.seal_cert_serial:
        issued = ca.renew(org.seal_cert_serial)
    else:
        issued = ca.issue(organisation=_x509_text(org.name), common_name=_seal_name(org.name))
    org.seal_cert_serial = issued.serial_hex
    session.add(org)
    session.flush()
    record(
        session,
        actor=actor,
        action="certificate.renew" if renew else "certificate.issue",
        object_type="organisation",
        object_id=org.id,
        payload={"serial": issued.serial_hex, "subject": org.name},
    )
    return issued.serial_hex


def _x509_text(value: str, limit: int = 64) -> str:
    """X.520 names are limited to 64 (cryptography counts UTF-8 bytes)."""
    while len(value.encode()) > limit:
        value = value[:-1]
    return value


def _seal_name(org_name: str) -> str:
    name = f"{org_name} 电子印章"
    return name if len(name.encode()) <= 64 else _x509_text(org_name)


def revoke_seal(session: Session, serial: str, reason: str, *, actor: object) -> None:
    ca = get_ca()
    try:
        ca.revoke(serial, reason)  # type: ignore[arg-type]
    except CertificateNotFound as exc:
        raise NotFound("未找到该证书", code="certificate_not_found") from exc
    except CertificateAuthorityError as exc:
        raise ValidationFailed("吊销原因无效", fields={"reason": "吊销原因无效"}) from exc
    record(
        session,
        actor=actor,
        action="certificate.revoke",
        object_type="certificate",
        object_id=serial,
        payload={"reason": reason},
    )


def ensure_seals(session: Session, *, actor: object) -> int:
    """Every organisation gets a seal certificate; returns how many were issued."""
    issued = 0
    for org in session.exec(select(Organisation).where(Organisation.seal_cert_serial == None)):  # noqa: E711
        issue_seal(session, org, actor=actor)
        issued += 1
    return issued


def usable_seal(org: Organisation | None) -> IssuedCertificate:
    """The organisation's seal certificate, if it can sign now (409 when missing or revoked)."""
    if org is None or not org.seal_cert_serial:
        raise Conflict("签署机构没有电子印章证书，请联系管理员签发", code="no_certificate")
    try:
        issued = get_ca().get(org.seal_cert_serial)
    except CertificateNotFound as exc:
        raise Conflict("签署机构的电子印章证书不存在", code="no_certificate") from exc
    if issued.revoked:
        raise Conflict("签署机构的电子印章证书已吊销，请先续期后再签署", code="certificate_revoked")
    return issued


def verify_bytes(data: bytes) -> VerificationReport:
    """Verify a PDF against our root and the current CRL (offline)."""
    ca = get_ca()
    # every root (an older one still anchors signatures made before a rollover) and every CRL
    return verify_pdf(data, trust_roots=ca.trust_roots, crls=ca.validation_crls())


def seal_with_system(
    pdf: bytes, field: str, box: tuple[float, float, float, float], *, reason: str
) -> bytes:
    """Add the system's visible seal (PAdES B-T, certifying) to a PDF the system produced, in a
    new signature field on the last page (``box`` in points from the lower left)."""
    seal = system_seal()
    prepared = prepare(pdf, [FieldSpec(field, -1, box)])
    request = SigningRequest(
        field=field,
        signer=ca_signer(get_ca(), seal.serial),
        level=PadesLevel.B_T,
        timestamper=timestamper(),
        certify=True,
        appearance=SignatureAppearance(organisation=SYSTEM_ORGANISATION, signer_name="验证服务"),
        font_cache_dir=font_cache_dir(),
        reason=reason,
        location="中国",
    )
    return sign_pdf(prepared, request)


def roll_tsa(session: Session, *, actor: object) -> RolledCertificate:
    """Give the built-in TSA a new key and certificate now (the old certificate stays available
    for validation); audit-logged."""
    ca = get_ca()
    old = ca.tsa_certificate
    new = ca.roll_tsa(root_passphrase())
    record(
        session,
        actor=actor,
        action="tsa.rolled",
        object_type="certificate",
        object_id=format(new.serial_number, "x"),
        payload={
            "previous_serial": format(old.serial_number, "x"),
            "not_after": new.not_valid_after_utc.isoformat(),
        },
    )
    return RolledCertificate(format(new.serial_number, "x"), new.not_valid_after_utc)


def roll_root(session: Session, *, actor: object) -> RolledCertificate:
    """Introduce a new root (the issuing CA is re-certified under it, the TSA rolled under it);
    the old root stays a trust anchor. Audit-logged; returns the new root's serial and expiry."""
    ca = get_ca()
    old = ca.root_certificate
    new = ca.roll_root(root_passphrase())
    record(
        session,
        actor=actor,
        action="ca.root_rolled",
        object_type="certificate",
        object_id=format(new.serial_number, "x"),
        payload={
            "previous_serial": format(old.serial_number, "x"),
            "not_after": new.not_valid_after_utc.isoformat(),
            "tsa_serial": format(ca.tsa_certificate.serial_number, "x"),
        },
    )
    return RolledCertificate(format(new.serial_number, "x"), new.not_valid_after_utc)


@dataclass(frozen=True)
class RolledCertificate:
    """Serial (hex) and expiry of a certificate made by a rollover."""

    serial: str
    not_after: dt.datetime
