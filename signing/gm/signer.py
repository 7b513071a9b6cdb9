"""pyHanko signer for SM2 seals: CMS SignedData with an SM3 digest and an SM2-with-SM3 signature.

pyHanko builds the CMS structure and the PDF incremental update; :class:`Sm2Signer` only supplies
the signature mechanism (``sm2_sm3``) and the raw SM2 signature over the DER signed attributes.
Use it with :func:`signing.pades.sign_pdf` and ``SigningRequest(digest_algorithm="sm3")``::

    request = SigningRequest(field="party_yi", signer=gm_signer(ca, serial),
                             digest_algorithm="sm3", timestamper=GmInProcessTimeStamper(tsa))
"""

from __future__ import annotations

from asn1crypto import algos
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ..errors import PdfSigningError
from ..pades import to_asn1_cert
from .pki import GmCertificateAuthority
from .sm2 import MAX_SIGNATURE_SIZE, Sm2PrivateKey, is_sm2_key

__all__ = ["SM2_MECHANISM", "Sm2Signer", "gm_signer"]

SM2_MECHANISM = "sm2_sm3"


class Sm2Signer(Signer):
    """Signs with an in-memory SM2 key; SM2 fixes the CMS digest to SM3."""

    def __init__(
        self,
        signing_cert: asn1_x509.Certificate,
        signing_key: Sm2PrivateKey,
        cert_registry: SimpleCertificateStore | None = None,
        *,
        embed_roots: bool = True,
    ) -> None:
        if not is_sm2_key(signing_cert.public_key):
            raise PdfSigningError("签名证书不是 SM2 证书")
        if bytes(signing_cert.public_key["public_key"]) != signing_key.public_key.point:
            raise PdfSigningError("SM2 私钥与签名证书不匹配")
        super().__init__(
            signing_cert=signing_cert,
            cert_registry=cert_registry,
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": SM2_MECHANISM}),
            embed_roots=embed_roots,
        )
        self._key = signing_key

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if digest_algorithm != "sm3":
            raise PdfSigningError(
                f"国密 SM2 签名的摘要算法必须是 SM3，收到 {digest_algorithm}"
                "（SigningRequest(digest_algorithm='sm3')）"
            )
        if dry_run:
            return bytes(MAX_SIGNATURE_SIZE)
        return self._key.sign(data)


def gm_signer(ca: GmCertificateAuthority, serial: int | str) -> Sm2Signer:
    """An SM2 signer for a seal certificate whose key the SM2 CA keeps (decrypted with the KEK)."""
    issued = ca.get(serial)
    return Sm2Signer(
        to_asn1_cert(issued.certificate),
        ca.private_key(serial),
        SimpleCertificateStore.from_certs(
            [to_asn1_cert(ca.issuing_certificate), to_asn1_cert(ca.root_certificate)]
        ),
    )
