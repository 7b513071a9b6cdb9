"""SM2 certificates and CRLs built with asn1crypto and signed with SM2-with-SM3.

``cryptography`` can read SM2 certificates but not sign them, so the TBSCertificate / TBSCertList
is assembled here and signed with :class:`signing.gm.sm2.Sm2PrivateKey`. Profile: RFC 5280 with
GM/T 0015-2012 for the SM2 parts — signature algorithm ``1.2.156.10197.1.501`` without parameters,
public key ``id-ecPublicKey`` on the ``sm2`` curve (``1.2.156.10197.1.301``). Key identifiers are
the leftmost 160 bits of the SM3 digest of the public key (RFC 7093 method 1, with SM3).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes

from .errors import GmCertificateError
from .sm2 import Sm2PrivateKey, Sm2PublicKey

__all__ = [
    "SM2_SIGNATURE_ALGORITHM",
    "gm_name",
    "key_identifier",
    "random_serial",
    "ca_extensions",
    "signer_extensions",
    "tsa_extensions",
    "build_certificate",
    "RevokedEntry",
    "build_crl",
    "public_key_of",
]

SM2_SIGNATURE_ALGORITHM = {"algorithm": "sm2_sm3"}
_UTC_TIME_LIMIT = dt.datetime(2050, 1, 1, tzinfo=dt.UTC)


def _sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def gm_name(common_name: str, organisation: str | None = None) -> asn1_x509.Name:
    attrs: dict[str, str] = {"country_name": "CN"}
    if organisation:
        attrs["organization_name"] = organisation
    attrs["common_name"] = common_name
    return asn1_x509.Name.build(attrs, use_printable=False)


def _time(moment: dt.datetime) -> asn1_x509.Time:
    """UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5)."""
    moment = moment.astimezone(dt.UTC).replace(microsecond=0)
    if moment < _UTC_TIME_LIMIT:
        return asn1_x509.Time(name="utc_time", value=moment)
    return asn1_x509.Time(name="general_time", value=moment)


def key_identifier(public_key: Sm2PublicKey) -> bytes:
    return _sm3(public_key.point)[:20]


def random_serial() -> int:
    """A positive 159-bit serial (RFC 5280: at most 20 octets, unpredictable)."""
    return secrets.randbits(159) | (1 << 158)


def public_key_of(cert: asn1_x509.Certificate) -> Sm2PublicKey:
    return Sm2PublicKey.from_public_key_info(cert.public_key)


def _ext(name: str, value: Any, critical: bool = False) -> dict[str, Any]:
    return {"extn_id": name, "critical": critical, "extn_value": value}


def _identifiers(subject_key: Sm2PublicKey, issuer_key_id: bytes) -> list[dict[str, Any]]:
    return [
        _ext("key_identifier", key_identifier(subject_key)),
        _ext("authority_key_identifier", {"key_identifier": issuer_key_id}),
    ]


def ca_extensions(
    subject_key: Sm2PublicKey, issuer_key_id: bytes, path_length: int
) -> list[dict[str, Any]]:
    return [
        _ext("basic_constraints", {"ca": True, "path_len_constraint": path_length}, True),
        _ext("key_usage", asn1_x509.KeyUsage({"key_cert_sign", "crl_sign"}), True),
        *_identifiers(subject_key, issuer_key_id),
    ]


def signer_extensions(
    subject_key: Sm2PublicKey, issuer_key_id: bytes, policy: str, crl_url: str | None
) -> list[dict[str, Any]]:
    """End-entity signing certificate (seal, person, seal maker): digitalSignature +
    nonRepudiation, a certificate policy, and the CRL distribution point when there is one."""
    extensions = [
        _ext("basic_constraints", {"ca": False}, True),
        _ext("key_usage", asn1_x509.KeyUsage({"digital_signature", "non_repudiation"}), True),
        *_identifiers(subject_key, issuer_key_id),
        _ext("certificate_policies", [{"policy_identifier": policy}]),
    ]
    if crl_url:
        uri = asn1_x509.GeneralName(name="uniform_resource_identifier", value=crl_url)
        extensions.append(
            _ext("crl_distribution_points", [{"distribution_point": {"full_name": [uri]}}])
        )
    return extensions


def tsa_extensions(
    subject_key: Sm2PublicKey, issuer_key_id: bytes, policy: str
) -> list[dict[str, Any]]:
    """TSA certificate: the only extended key usage is timeStamping, critical (RFC 3161 2.3)."""
    return [
        *signer_extensions(subject_key, issuer_key_id, policy, None),
        _ext("extended_key_usage", ["time_stamping"], True),
    ]


def build_certificate(
    *,
    subject: asn1_x509.Name,
    issuer: asn1_x509.Name,
    public_key: Sm2PublicKey,
    issuer_key: Sm2PrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    extensions: list[dict[str, Any]],
    serial: int | None = None,
) -> asn1_x509.Certificate:
    if not_after <= not_before:
        raise GmCertificateError("证书有效期的结束时间必须晚于开始时间")
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": serial if serial is not None else random_serial(),
            "signature": SM2_SIGNATURE_ALGORITHM,
            "issuer": issuer,
            "validity": {"not_before": _time(not_before), "not_after": _time(not_after)},
            "subject": subject,
            "subject_public_key_info": public_key.public_key_info(),
            "extensions": extensions,
        }
    )
    tbs_der = tbs.dump()
    certificate = asn1_x509.Certificate(
        {
            "tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
            "signature_algorithm": SM2_SIGNATURE_ALGORITHM,
            "signature_value": issuer_key.sign(tbs_der),
        }
    )
    # Reload from DER so the object carries exactly the signed encoding.
    return asn1_x509.Certificate.load(certificate.dump())


@dataclass(frozen=True)
class RevokedEntry:
    serial: int
    revoked_at: dt.datetime
    reason: str = "unspecified"


def build_crl(
    *,
    issuer: asn1_x509.Certificate,
    issuer_key: Sm2PrivateKey,
    number: int,
    this_update: dt.datetime,
    next_update: dt.datetime,
    revoked: Iterable[RevokedEntry],
) -> bytes:
    """A v2 CRL (DER) signed with SM2-with-SM3, with CRL number and authority key identifier."""
    entries = []
    for entry in revoked:
        item: dict[str, Any] = {
            "user_certificate": entry.serial,
            "revocation_date": _time(entry.revoked_at),
        }
        if entry.reason != "unspecified":
            item["crl_entry_extensions"] = [_ext("crl_reason", entry.reason)]
        entries.append(item)
    fields: dict[str, Any] = {
        "version": "v2",
        "signature": SM2_SIGNATURE_ALGORITHM,
        "issuer": issuer.subject,
        "this_update": _time(this_update),
        "next_update": _time(next_update),
        "crl_extensions": [
            _ext("crl_number", number),
            _ext("authority_key_identifier", {"key_identifier": issuer.key_identifier}),
        ],
    }
    if entries:
        fields["revoked_certificates"] = entries
    tbs_der = asn1_crl.TbsCertList(fields).dump()
    return bytes(
        asn1_crl.CertificateList(
            {
                "tbs_cert_list": asn1_crl.TbsCertList.load(tbs_der),
                "signature_algorithm": SM2_SIGNATURE_ALGORITHM,
                "signature": issuer_key.sign(tbs_der),
            }
        ).dump()
    )
