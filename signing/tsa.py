"""Built-in RFC 3161 timestamp authority (时间戳服务) and pyHanko timestampers.

:class:`TimestampAuthority` turns a DER ``TimeStampReq`` into a DER ``TimeStampResp``; it is
written on ``cryptography`` (ECDSA signature) and ``asn1crypto`` (structures). The web app serves
it at ``POST /tsa``; the signer calls it in-process through :class:`InProcessTimeStamper`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper

from .errors import TimestampError
from .pki import POLICY_TSA, CertificateAuthority

__all__ = [
    "TimestampAuthority",
    "InProcessTimeStamper",
    "http_timestamper",
    "ACCEPTED_DIGESTS",
    "parse_response",
]

ACCEPTED_DIGESTS: dict[str, int] = {"sha256": 32, "sha384": 48, "sha512": 64, "sm3": 32}
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class _TimeStampResp(core.Sequence):
    """TimeStampResp with the token optional, as RFC 3161 says (asn1crypto marks it mandatory)."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def parse_response(response_der: bytes) -> _TimeStampResp:
    """Parse a DER ``TimeStampResp``, including rejections that carry no token."""
    return _TimeStampResp.load(response_der)


class _Rejected(Exception):
    def __init__(self, failure: str, text: str) -> None:
        super().__init__(text)
        self.failure = failure
        self.text = text


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class TimestampAuthority:
    """An RFC 3161 TSA with an ECDSA key and a certificate whose only EKU is timeStamping."""

    def __init__(
        self,
        certificate: x509.Certificate,
        private_key: ec.EllipticCurvePrivateKey,
        chain: list[x509.Certificate] | None = None,
        *,
        policy_oid: str = POLICY_TSA,
        clock: Callable[[], dt.datetime] | None = None,
        accuracy_seconds: int = 1,
    ) -> None:
        if not isinstance(private_key, ec.EllipticCurvePrivateKey):
            raise TimestampError("the TSA key must be an ECDSA key")
        self.certificate = certificate
        self._key = private_key
        self._policy = policy_oid
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._accuracy = accuracy_seconds
        self._cert_asn1 = _to_asn1(certificate)
        self._chain_asn1 = [_to_asn1(c) for c in chain or []]
        cert_der = certificate.public_bytes(serialization.Encoding.DER)
        self._ess_attr = cms.CMSAttribute(
            {
                "type": "signing_certificate_v2",
                "values": [
                    {
                        "certs": [
                            {
                                "hash_algorithm": {"algorithm": "sha256"},
                                "cert_hash": hashlib.sha256(cert_der).digest(),
                                "issuer_serial": {
                                    "issuer": [
                                        asn1_x509.GeneralName(
                                            name="directory_name", value=self._cert_asn1.issuer
                                        )
                                    ],
                                    "serial_number": self._cert_asn1.serial_number,
                                },
                            }
                        ]
                    }
                ],
            }
        )
        self._sid = cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value=cms.IssuerAndSerialNumber(
                {"issuer": self._cert_asn1.issuer, "serial_number": self._cert_asn1.serial_number}
            ),
        )
        self._tsa_name = asn1_x509.GeneralName(name="directory_name", value=self._cert_asn1.subject)
        # Pre-encoded pieces: asn1crypto re-encodes freshly built structures on every dump, which
        # costs milliseconds for certificates; reloading from DER keeps their encoding cached.
        self._certset_der = cms.CertificateSet([self._cert_asn1, *self._chain_asn1]).dump()
        self._ess_der = self._ess_attr.dump()
        self._sid_der = self._sid.dump()
        self._tsa_name_der = self._tsa_name.dump()

    @classmethod
    def from_ca(cls, ca: CertificateAuthority, **kwargs: object) -> TimestampAuthority:
        return cls(
            ca.tsa_certificate,
            ca.tsa_private_key(),
            [ca.root_certificate],
            **kwargs,  # type: ignore[arg-type]
        )

    @property
    def certificates(self) -> list[x509.Certificate]:
        return [self.certificate]

    # ----------------------------------------------------------------- protocol
    def respond(self, request_der: bytes) -> bytes:
        """Answer a DER ``TimeStampReq`` with a DER ``TimeStampResp`` (never raises for bad input)."""
        try:
            request = self._parse(request_der)
            token = self._token(request)
        except _Rejected as rej:
            return self._rejection(rej.failure, rej.text)
        except Exception:
            return self._rejection("system_failure", "internal error")
        return tsp.TimeStampResp(
            {"status": {"status": "granted"}, "time_stamp_token": token}
        ).dump()

    def _parse(self, request_der: bytes) -> tsp.TimeStampReq:
        if not isinstance(request_der, bytes | bytearray) or len(request_der) > 64 * 1024:
            raise _Rejected("bad_data_format", "request too large or not bytes")
        try:
            request = tsp.TimeStampReq.load(bytes(request_der), strict=True)
            request.native  # noqa: B018 - forces a full parse of the lazy structure
        except Exception as exc:
            raise _Rejected("bad_data_format", "request is not a DER TimeStampReq") from exc
        if request["version"].native not in (1, "v1"):
            raise _Rejected("bad_request", "unsupported request version")
        imprint = request["message_imprint"]
        algo = imprint["hash_algorithm"]["algorithm"].native
        if algo not in ACCEPTED_DIGESTS:
            raise _Rejected("bad_alg", f"digest algorithm {algo} not accepted")
        if len(imprint["hashed_message"].native) != ACCEPTED_DIGESTS[algo]:
            raise _Rejected("bad_data_format", "message imprint has the wrong length")
        policy = request["req_policy"].native
        if policy is not None and policy != self._policy:
            raise _Rejected("unaccepted_policy", f"policy {policy} not supported")
        if request["extensions"].native:
            raise _Rejected("unaccepted_extension", "request extensions are not supported")
        return request

    def _token(self, request: tsp.TimeStampReq) -> cms.ContentInfo:
        gen_time = self._clock().astimezone(dt.UTC)
        tst_fields: dict[str, object] = {
            "version": 1,
            "policy": self._policy,
            "message_imprint": request["message_imprint"],
            "serial_number": secrets.randbits(120) | (1 << 120),
            "gen_time": gen_time,
            "accuracy": {"seconds": self._accuracy},
            "ordering": False,
            # "tsa" (optional) omitted: its explicitly tagged Name makes asn1crypto re-encode
            # the token pathologically slowly when pyHanko embeds it.
        }
        nonce = request["nonce"].native
        if nonce is not None:
            tst_fields["nonce"] = nonce
        tst_info = tsp.TSTInfo(tst_fields)
        content = tst_info.dump()
        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute(
                    {"type": "signing_time", "values": [cms.Time(name="utc_time", value=gen_time)]}
                ),
                cms.CMSAttribute(
                    {"type": "message_digest", "values": [hashlib.sha256(content).digest()]}
                ),
                cms.CMSAttribute.load(self._ess_der),
            ]
        )
        signature = self._key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier.load(self._sid_der),
                "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "signed_attrs": signed_attrs,
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
                "signature": signature,
            }
        )
        certificates = None
        if request["cert_req"].native:
            certificates = cms.CertificateSet.load(self._certset_der)
        signed_data = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
                "encap_content_info": {
                    "content_type": "tst_info",
                    "content": core.ParsableOctetString(content),
                },
                "certificates": certificates,
                "signer_infos": [signer_info],
            }
        )
        return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})

    @staticmethod
    def _rejection(failure: str, text: str) -> bytes:
        return _TimeStampResp(
            {
                "status": {
                    "status": "rejection",
                    "status_string": [text],
                    "fail_info": tsp.PKIFailureInfo({failure}),
                }
            }
        ).dump()


class InProcessTimeStamper(TimeStamper):
    """pyHanko timestamper that asks a :class:`TimestampAuthority` directly (no HTTP)."""

    def __init__(self, authority: TimestampAuthority, include_nonce: bool = True) -> None:
        super().__init__(include_nonce=include_nonce)
        self.authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        response = parse_response(self.authority.respond(req.dump()))
        status = response["status"]
        if status["status"].native not in ("granted", "granted_with_mods"):
            raise TimestampError(f"timestamp refused: {status['status_string'].native}")
        return tsp.TimeStampResp.load(response.dump())


def http_timestamper(url: str, *, timeout: int = 10) -> TimeStamper:
    """An external RFC 3161 TSA reached over HTTP (pyHanko's ``HTTPTimeStamper``)."""
    return HTTPTimeStamper(url, timeout=timeout)
