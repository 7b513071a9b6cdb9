"""The backend's use of the signing library: the CAs under the data dir, organisation seals,
the built-in TSAs and verification with our trust anchors and current CRLs.

Crypto profile (密码算法配置, ``JINGPIN_CRYPTO_PROFILE``, overridable per organisation):
``intl`` signs with an ECDSA P-256 seal (``var/ca``), ``gm`` with an SM2 seal (国密,
``var/ca-gm``, signing/gm), ``dual`` with both. The ECDSA CA always exists (the system seal and
the 申请书 online signing use it); ``jingpin init`` adds the SM2 CA when the deployment's
profile needs it, and choosing gm/dual for one organisation creates it on demand."""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import TimeStamper
from sqlmodel import Session, select

from backend.audit_log.service import record
from backend.core.config import Settings, get_settings
from backend.core.errors import Conflict, NotFound, ValidationFailed
from backend.documents.store import get_store
from backend.orgs.models import Organisation
from backend.pki import shared
from signing.appearance import SignatureAppearance
from signing.archive import ArchiveTrust, archive_pdf
from signing.errors import CertificateAuthorityError, CertificateNotFound
from signing.fonts import font_for_text
from signing.gm.pki import GmCertificateAuthority
from signing.gm.signer import gm_signer
from signing.gm.tsa import GmInProcessTimeStamper, GmTimestampAuthority
from signing.gm.validation import GmSignatureValidator
from signing.pades import FieldSpec, PadesLevel, SigningRequest, ca_signer, prepare, sign_pdf
from signing.pkcs11_key import TokenKey
from signing.pki import CertificateAuthority, IssuedCertificate
from signing.seal import round_seal_png
from signing.tsa import InProcessTimeStamper, TimestampAuthority, http_timestamper
from signing.verify import VerificationReport, verify_pdf

CRL_PATH = "/crl/issuing.crl"
SM2_CRL_PATH = "/crl/issuing-sm2.crl"


class CryptoProfile(StrEnum):
    """密码算法配置: which seals an organisation signs with."""

    intl = "intl"  # 国际算法 ECDSA P-256 / SHA-256
    gm = "gm"  # 国密算法 SM2 / SM3
    dual = "dual"  # 双算法：SM2 与 ECDSA 各签一次

    @property
    def label(self) -> str:
        return {
            "intl": "国际算法（ECDSA）",
            "gm": "国密算法（SM2）",
            "dual": "双算法（SM2 + ECDSA）",
        }[self.value]


class SealAlgorithm(StrEnum):
    ecdsa = "ecdsa"
    sm2 = "sm2"

    @property
    def label(self) -> str:
        return {"ecdsa": "国际 ECDSA", "sm2": "国密 SM2"}[self.value]


# In signing order: in dual the ECDSA signature comes first (it certifies the document for
# Acrobat/pdfsig users), the SM2 one after it.
PROFILE_ALGORITHMS = {
    CryptoProfile.intl: (SealAlgorithm.ecdsa,),
    CryptoProfile.gm: (SealAlgorithm.sm2,),
    CryptoProfile.dual: (SealAlgorithm.ecdsa, SealAlgorithm.sm2),
}


def deployment_profile() -> CryptoProfile:
    return CryptoProfile(get_settings().crypto_profile)


def profile_of(org: Organisation) -> CryptoProfile:
    """The organisation's own profile, or the deployment's."""
    return CryptoProfile(org.crypto_profile or get_settings().crypto_profile)


def single_signature_algorithm(org: Organisation) -> SealAlgorithm:
    """The seal of a document one signature seals (申请书, 版权承诺书): SM2 in gm, ECDSA in intl
    and dual (dual's extra signature is for the three-party agreement)."""
    return SealAlgorithm.sm2 if profile_of(org) == CryptoProfile.gm else SealAlgorithm.ecdsa


def seal_serial(org: Organisation, algorithm: SealAlgorithm) -> str | None:
    return org.sm2_seal_cert_serial if algorithm == SealAlgorithm.sm2 else org.seal_cert_serial


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


SYSTEM_SIGNATURE_ALGORITHM = "ecdsa-p256-sha256"


@dataclass(frozen=True)
class SystemSignature:
    """A detached signature by the system seal (audit exports, audit checkpoints)."""

    algorithm: str
    signature_b64: str
    certificate_pem: str


def sign_as_system(data: bytes) -> SystemSignature:
    seal = system_seal()
    key = get_ca().private_key(seal.serial)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateAuthorityError("the system seal key is not an ECDSA key")
    signature = key.sign(data, ec.ECDSA(hashes.SHA256()))
    return SystemSignature(
        SYSTEM_SIGNATURE_ALGORITHM,
        base64.b64encode(signature).decode(),
        seal.certificate_pem.decode(),
    )


def system_certificates() -> list[x509.Certificate]:
    """Every system seal certificate this CA issued: what a system signature is pinned to (not
    any certificate of the issuing CA, which also issues every organisation's seal)."""
    return [c.certificate for c in get_ca().list() if c.organisation == SYSTEM_ORGANISATION]


def check_system_signature(
    data: bytes,
    sig: SystemSignature,
    *,
    pinned: list[x509.Certificate] | None = None,
    revoked_serials: set[int] | None = None,
) -> str | None:
    """None when ``sig`` is the system seal's signature over ``data``; else why not (Chinese)."""
    if sig.algorithm != SYSTEM_SIGNATURE_ALGORITHM:
        return f"不支持的签名算法：{sig.algorithm}"
    try:
        cert = x509.load_pem_x509_certificate(sig.certificate_pem.encode())
        signature = base64.b64decode(sig.signature_b64, validate=True)
    except (ValueError, TypeError):
        return "签名或证书格式错误"
    der = cert.public_bytes(serialization.Encoding.DER)
    allowed = system_certificates() if pinned is None else pinned
    if all(der != c.public_bytes(serialization.Encoding.DER) for c in allowed):
        return "签名证书不是本系统的系统印章证书"
    if revoked_serials and cert.serial_number in revoked_serials:
        return "签名证书已被吊销"
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        return "签名证书的密钥类型不正确"
    try:
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "签名值无效：内容已被改动或签名不是本系统所签"
    return None


def checkpoint_signer(data: bytes) -> tuple[str, str, str]:
    """The audit checkpoints' signer (installed by backend.wiring)."""
    sig = sign_as_system(data)
    return sig.algorithm, sig.signature_b64, sig.certificate_pem


def system_signature_checker() -> Callable[[bytes, str, str, str], str | None]:
    """A checker of audit checkpoints pinned to this installation's system seal certificates."""
    pinned = system_certificates()

    def check(data: bytes, algorithm: str, signature: str, certificate: str) -> str | None:
        return check_system_signature(
            data, SystemSignature(algorithm, signature, certificate), pinned=pinned
        )

    return check


def ca_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_dir / "ca"


def font_cache_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_dir / "fonts"


def gm_ca_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_dir / "ca-gm"


CA_ORGANISATION = "jingpin 微短剧精品创作传播计划"


def issuing_token(settings: Settings | None = None) -> TokenKey | None:
    """The issuing CA's key in a PKCS#11 token, when JINGPIN_PKCS11_LIB is set."""
    s = settings or get_settings()
    if not s.pkcs11_lib:
        return None
    if not s.pkcs11_token or not s.pkcs11_pin:
        raise CertificateAuthorityError("JINGPIN_PKCS11_TOKEN and JINGPIN_PKCS11_PIN are needed")
    return TokenKey(s.pkcs11_lib, s.pkcs11_token, s.pkcs11_pin, s.pkcs11_issuing_key_label)


def init_ca(settings: Settings | None = None) -> CertificateAuthority:
    """Create the CAs (root, issuing CA, TSA) the deployment's profile needs; idempotent. The
    ECDSA CA always; the SM2 CA too in gm and dual."""
    s = settings or get_settings()
    kek = s.secret("kek").encode()
    args: dict[str, Any] = {
        "kek": kek,
        "root_passphrase": s.secret("ca_root_passphrase").encode(),
        "organisation": CA_ORGANISATION,
        "crl_url": s.base_url.rstrip("/") + CRL_PATH,
    }
    if s.ca_shared:  # several hosts: the CA's files live in the database (backend.pki.shared)
        shared.init_shared(ca_dir(s), **args)
        ca: CertificateAuthority = shared.open_shared(ca_dir(s), kek)
    else:
        ca = CertificateAuthority.init(ca_dir(s), **args, issuing_token=issuing_token(s))
    if s.crypto_profile != CryptoProfile.intl:
        init_gm_ca(s)
    return ca


def init_gm_ca(settings: Settings | None = None) -> GmCertificateAuthority:
    """Create the SM2 CA (root, issuing CA, TSA, seal maker) on first use; idempotent."""
    s = settings or get_settings()
    ca = GmCertificateAuthority.init(
        gm_ca_dir(s),
        kek=s.secret("kek").encode(),
        root_passphrase=s.secret("ca_root_passphrase").encode(),
        organisation=CA_ORGANISATION,
        crl_url=s.base_url.rstrip("/") + SM2_CRL_PATH,
    )
    _gm_ca_for.cache_clear()
    return ca


@lru_cache
def _ca_for(
    directory: str,
    kek: str,
    generation: int,
    token: TokenKey | None = None,
    is_shared: bool = False,
) -> CertificateAuthority:
    if is_shared:
        return shared.open_shared(Path(directory), kek.encode())
    return CertificateAuthority.open(directory, kek=kek.encode(), issuing_token=token)


def _generation(directory: Path) -> int:
    # A TSA or root rollover (maybe by another process: `jingpin ca roll-tsa`, `archive renew`)
    # rewrites tsa.pem: its change time tells every process to reopen the CA.
    path = directory / "tsa.pem"
    return path.stat().st_mtime_ns if path.exists() else 0  # a shared CA not yet copied here


def get_ca() -> CertificateAuthority:
    s = get_settings()
    directory = ca_dir(s)
    return _ca_for(
        str(directory), s.secret("kek"), _generation(directory), issuing_token(s), s.ca_shared
    )


@lru_cache
def _gm_ca_for(directory: str, kek: str) -> GmCertificateAuthority | None:
    if not (Path(directory) / "issuing.pem").exists():
        return None
    return GmCertificateAuthority.open(directory, kek=kek.encode())


def get_gm_ca() -> GmCertificateAuthority | None:
    """The SM2 CA, or None when no profile in use has needed it yet."""
    s = get_settings()
    return _gm_ca_for(str(gm_ca_dir(s)), s.secret("kek"))


def require_gm_ca() -> GmCertificateAuthority:
    ca = get_gm_ca()
    if ca is None:
        raise Conflict("国密（SM2）证书机构尚未建立，请先运行 jingpin init", code="no_gm_ca")
    return ca


def gm_timestamp_authority() -> GmTimestampAuthority:
    s = get_settings()
    return _gm_tsa_for(str(gm_ca_dir(s)), s.secret("kek"))


@lru_cache
def _gm_tsa_for(directory: str, kek: str) -> GmTimestampAuthority:
    return GmTimestampAuthority.from_ca(require_gm_ca())


def trust_roots() -> list[x509.Certificate]:
    """Every root this deployment issues under (ECDSA, and SM2 once it exists)."""
    gm = get_gm_ca()
    return list(get_ca().trust_roots) + ([gm.root_certificate] if gm else [])


def current_crls() -> list[bytes]:
    gm = get_gm_ca()
    return list(get_ca().validation_crls()) + ([gm.crl_der()] if gm else [])


def trust_material() -> tuple[list[bytes], list[bytes]]:
    """(roots as DER, CRLs as DER) for verification in a worker process."""
    return [c.public_bytes(serialization.Encoding.DER) for c in trust_roots()], current_crls()


def timestamp_authority() -> TimestampAuthority:
    s = get_settings()
    directory = ca_dir(s)
    return _tsa_for(str(directory), s.secret("kek"), _generation(directory))


@lru_cache
def _tsa_for(directory: str, kek: str, generation: int) -> TimestampAuthority:
    # Built once per CA generation: unwrapping the TSA key and preparing its certificate costs
    # ~80 ms.
    ca = _ca_for(directory, kek, generation, issuing_token(), get_settings().ca_shared)
    return TimestampAuthority(ca.tsa_certificate, ca.tsa_private_key(), [ca.root_certificate])


def root_passphrase() -> bytes:
    return get_settings().secret("ca_root_passphrase").encode()


def archive_trust(*, gm: bool = False) -> ArchiveTrust:
    """Every root, CA, TSA certificate and CRL that long-term validation data is drawn from;
    ``gm``: an agreement with SM2 signatures — the SM2 CA's chain, TSA and CRL join, SM2 values
    are checked by the 国密 validator and the document timestamp digests with SM3."""
    ca = get_ca()
    if not gm:
        return ArchiveTrust(
            ca.trust_roots,
            ca.validation_crls(fresh=True),
            ca.validation_certificates(),
            ocsp_for=ca.ocsp_response_der,
        )
    sm2 = require_gm_ca()
    return ArchiveTrust(
        [*ca.trust_roots, sm2.root_certificate],
        [*ca.validation_crls(fresh=True), sm2.crl_der()],
        [*ca.validation_certificates(), sm2.issuing_certificate, sm2.tsa_certificate],
        ocsp_for=ca.ocsp_response_der,
        signature_validator=GmSignatureValidator(),
        digest_algorithm="sm3",
    )


def archive_timestamper(*, gm: bool = False) -> TimeStamper:
    """The built-in TSA of the archive's profile (SM2 for agreements signed with SM2)."""
    if gm:
        return GmInProcessTimeStamper(gm_timestamp_authority())
    return InProcessTimeStamper(timestamp_authority())


def archive_bytes(pdf: bytes, *, gm: bool = False) -> bytes:
    """The PAdES B-LTA archive form of a signed PDF (DSS for every signature + document
    timestamp from the built-in TSA of its profile)."""
    return archive_pdf(pdf, archive_timestamper(gm=gm), archive_trust(gm=gm))


def timestamper() -> TimeStamper:
    """The built-in TSA in-process, or the external one named in the settings."""
    url = get_settings().external_tsa_url
    return http_timestamper(url) if url else InProcessTimeStamper(timestamp_authority())


def _ca_of(algorithm: SealAlgorithm) -> CertificateAuthority | GmCertificateAuthority:
    return require_gm_ca() if algorithm == SealAlgorithm.sm2 else get_ca()


def issue_seal(
    session: Session,
    org: Organisation,
    *,
    actor: object,
    renew: bool = False,
    algorithm: SealAlgorithm = SealAlgorithm.ecdsa,
) -> str:
    """Issue (or renew) the organisation's ECDSA or SM2 seal certificate and remember its
    serial."""
    ca = _ca_of(algorithm)
    current = seal_serial(org, algorithm)
    if current and not renew:
        raise Conflict("该机构已有有效的电子印章证书，如需更换请续期", code="seal_exists")
    if renew and current:
        issued = ca.renew(current)
    else:
        issued = ca.issue(organisation=_x509_text(org.name), common_name=_seal_name(org.name))
    if algorithm == SealAlgorithm.sm2:
        org.sm2_seal_cert_serial = issued.serial_hex
    else:
        org.seal_cert_serial = issued.serial_hex
    session.add(org)
    session.flush()
    record(
        session,
        actor=actor,
        action="certificate.renew" if renew else "certificate.issue",
        object_type="organisation",
        object_id=org.id,
        payload={"serial": issued.serial_hex, "subject": org.name, "algorithm": algorithm.value},
    )
    return issued.serial_hex


def issue_profile_seals(session: Session, org: Organisation, *, actor: object) -> list[str]:
    """The seals the organisation's profile needs that it does not have yet."""
    return [
        issue_seal(session, org, actor=actor, algorithm=algorithm)
        for algorithm in PROFILE_ALGORITHMS[profile_of(org)]
        if not seal_serial(org, algorithm)
    ]


def set_profile(
    session: Session, org: Organisation, profile: CryptoProfile | None, *, actor: object
) -> list[str]:
    """Override (or, with None, reset) the organisation's profile and issue the seals it then
    needs (creating the SM2 CA on first use). Returns the serials issued."""
    previous = org.crypto_profile
    org.crypto_profile = profile.value if profile else None
    if profile_of(org) != CryptoProfile.intl and get_gm_ca() is None:
        init_gm_ca()
    session.add(org)
    session.flush()
    record(
        session,
        actor=actor,
        action="organisation.crypto_profile",
        object_type="organisation",
        object_id=org.id,
        payload={"from": previous, "to": org.crypto_profile},
    )
    return issue_profile_seals(session, org, actor=actor)


def _x509_text(value: str, limit: int = 64) -> str:
    """X.520 names are limited to 64 (cryptography counts UTF-8 bytes)."""
    while len(value.encode()) > limit:
        value = value[:-1]
    return value


def _seal_name(org_name: str) -> str:
    name = f"{org_name} 电子印章"
    return name if len(name.encode()) <= 64 else _x509_text(org_name)


def revoke_seal(session: Session, serial: str, reason: str, *, actor: object) -> None:
    gm = get_gm_ca()
    cas: list[CertificateAuthority | GmCertificateAuthority] = [get_ca()] + ([gm] if gm else [])
    for ca in cas:
        try:
            ca.get(serial)
        except (CertificateNotFound, ValueError):
            continue
        break
    else:
        raise NotFound("未找到该证书", code="certificate_not_found")
    try:
        ca.revoke(serial, reason)  # type: ignore[arg-type]
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
    """Every organisation gets the seal certificates its profile needs; returns how many were
    issued."""
    issued = 0
    for org in session.exec(select(Organisation).order_by(Organisation.id)):  # type: ignore[arg-type]
        issued += len(issue_profile_seals(session, org, actor=actor))
    return issued


def seal_code(org: Organisation) -> str:
    """The code printed at the bottom of the seal picture: the USCC, else the organisation number."""
    return org.uscc or f"JP{org.id or 0:011d}"


def seal_picture(org: Organisation) -> bytes:
    """The organisation's seal picture for visible signatures: the one the admin uploaded
    (backend.pki.org_seals), else a round red seal drawn from its name and code (signing.seal;
    cached per name and code)."""
    if org.seal_picture_sha256:
        return get_store().get(org.seal_picture_sha256)
    code = seal_code(org)
    font = font_for_text(font_cache_dir(), org.name + code)
    return round_seal_png(org.name, code, str(font))


def usable_seal(
    org: Organisation | None, algorithm: SealAlgorithm = SealAlgorithm.ecdsa
) -> IssuedCertificate:
    """The organisation's seal certificate, if it can sign now (409 when missing or revoked)."""
    serial = seal_serial(org, algorithm) if org is not None else None
    if org is None or not serial:
        raise Conflict(
            f"签署机构没有{algorithm.label}电子印章证书，请联系管理员签发", code="no_certificate"
        )
    try:
        issued = _ca_of(algorithm).get(serial)
    except CertificateNotFound as exc:
        raise Conflict("签署机构的电子印章证书不存在", code="no_certificate") from exc
    if issued.revoked:
        raise Conflict("签署机构的电子印章证书已吊销，请先续期后再签署", code="certificate_revoked")
    return issued


@dataclass(frozen=True)
class SealSigning:
    """What signing with one of an organisation's seals needs (pyHanko signer, CMS digest,
    timestamper of the same algorithm family)."""

    algorithm: SealAlgorithm
    certificate: IssuedCertificate
    signer: Signer
    digest_algorithm: str
    timestamper: TimeStamper


def seal_signing(org: Organisation | None, algorithm: SealAlgorithm) -> SealSigning:
    issued = usable_seal(org, algorithm)
    if algorithm == SealAlgorithm.sm2:
        return SealSigning(
            algorithm,
            issued,
            gm_signer(require_gm_ca(), issued.serial),
            "sm3",
            GmInProcessTimeStamper(gm_timestamp_authority()),
        )
    return SealSigning(
        algorithm, issued, ca_signer(get_ca(), issued.serial), "sha256", timestamper()
    )


def verify_bytes(data: bytes, *, at: dt.datetime | None = None) -> VerificationReport:
    """Verify a PDF against every root (ECDSA ones incl. those before a rollover, SM2) and
    every current CRL (offline), at ``at`` (default now)."""
    return verify_pdf(data, trust_roots=trust_roots(), crls=current_crls(), at=at)


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
