"""SM2 RFC 3161 timestamp authority (国密时间戳服务): the protocol of :mod:`signing.tsa`, with
SM3 digests and SM2-with-SM3 signatures.

:class:`GmTimestampAuthority` answers a DER ``TimeStampReq`` with a DER ``TimeStampResp`` whose
token is a CMS SignedData: digestAlgorithm SM3, signatureAlgorithm SM2-with-SM3, the ESS
signing-certificate-v2 attribute with an SM3 certificate hash. The message imprint may be SM3 or
SHA-2 (an international signature can be timestamped by the SM2 TSA). Bad requests get a
rejection with the RFC 3161 PKIFailureInfo, never an exception.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pyhanko.sign.timestamps import TimeStamper

from ..errors import TimestampError
from ..pki import POLICY_TSA
from ..tsa import ACCEPTED_DIGESTS, _TimeStampResp, parse_response
from .pki import GmCertificateAuthority
from .sm2 import Sm2PrivateKey

__all__ = ["GmTimestampAuthority", "GmInProcessTimeStamper"]


def _sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


class _Rejected(Exception):
    def __init__(self, failure: str, text: str) -> None:
        super().__init__(text)
        self.failure = failure
        self.text = text


class GmTimestampAuthority:
    """An RFC 3161 TSA with an SM2 key and a certificate whose only EKU is timeStamping."""

    def __init__(
        self,
        certificate: x509.Certificate,
        private_key: Sm2PrivateKey,
        chain: list[x509.Certificate] | None = None,
        *,
        policy_oid: str = POLICY_TSA,
        clock: Callable[[], dt.datetime] | None = None,
        accuracy_seconds: int = 1,
    ) -> None:
        if not isinstance(private_key, Sm2PrivateKey):
            raise TimestampError("the TSA key must be an SM2 key")
        self.certificate = certificate
        self._key = private_key
        self._policy = policy_oid
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._accuracy = accuracy_seconds
        cert_der = certificate.public_bytes(serialization.Encoding.DER)
        cert = asn1_x509.Certificate.load(cert_der)
        chain_asn1 = [
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
            for c in chain or []
        ]
        # Pre-encoded pieces (asn1crypto re-encodes freshly built structures on every dump).
        self._certset_der = cms.CertificateSet([cert, *chain_asn1]).dump()
        self._ess_der = cms.CMSAttribute(
            {
                "type": "signing_certificate_v2",
                "values": [
                    {
                        "certs": [
                            {
                                "hash_algorithm": {"algorithm": "sm3"},
                                "cert_hash": _sm3(cert_der),
                                "issuer_serial": {
                                    "issuer": [
                                        asn1_x509.GeneralName(
                                            name="directory_name", value=cert.issuer
                                        )
                                    ],
                                    "serial_number": cert.serial_number,
                                },
                            }
                        ]
                    }
                ],
            }
        ).dump()
        self._sid_der = cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value=cms.IssuerAndSerialNumber(
                {"issuer": cert.issuer, "serial_number": cert.serial_number}
            ),
        ).dump()

    @classmethod
    def from_ca(cls, ca: GmCertificateAuthority, **kwargs: object) -> GmTimestampAuthority:
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
            token = self._token(self._parse(request_der))
        except _Rejected as rej:
            return self._rejection(rej.failure, rej.text)
        except Exception:
            return self._rejection("system_failure", "internal error")
        return tsp.TimeStampResp(
            {"status": {"status": "granted"}, "time_stamp_token": token}
        ).dump()

    def _parse(self, request_der: bytes) -> tsp.TimeStampReq:
        # The same checks, in the same order, as signing.tsa.TimestampAuthority._parse.
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
        }
        nonce = request["nonce"].native
        if nonce is not None:
            tst_fields["nonce"] = nonce
        content = tsp.TSTInfo(tst_fields).dump()
        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute(
                    {"type": "signing_time", "values": [cms.Time(name="utc_time", value=gen_time)]}
                ),
                cms.CMSAttribute({"type": "message_digest", "values": [_sm3(content)]}),
                cms.CMSAttribute.load(self._ess_der),
            ]
        )
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier.load(self._sid_der),
                "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sm3"}),
                "signed_attrs": signed_attrs,
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sm2_sm3"}),
                "signature": self._key.sign(signed_attrs.dump()),
            }
        )
        certificates = None
        if request["cert_req"].native:
            certificates = cms.CertificateSet.load(self._certset_der)
        signed_data = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sm3"})],
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


class GmInProcessTimeStamper(TimeStamper):
    """pyHanko timestamper that asks a :class:`GmTimestampAuthority` directly (no HTTP)."""

    def __init__(self, authority: GmTimestampAuthority, include_nonce: bool = True) -> None:
        super().__init__(include_nonce=include_nonce)
        self.authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        response = parse_response(self.authority.respond(req.dump()))
        status = response["status"]
        if status["status"].native not in ("granted", "granted_with_mods"):
            raise TimestampError(f"timestamp refused: {status['status_string'].native}")
        return tsp.TimeStampResp.load(response.dump())
