"""Checking SM2 signatures through pyHanko's ``SignatureValidator`` hook.

pyhanko-certvalidator routes every signature check — certificates, CRLs, OCSP responses, CMS
signer infos, timestamp tokens — through ``ValidationContext.sig_validator``.
:class:`GmSignatureValidator` checks SM2-with-SM3 itself and hands every other algorithm to
pyHanko's default, so one context validates SM2, ECDSA and mixed (``dual``) documents.
:func:`gm_validation_context` is the offline context the verifier needs (no fetching).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asn1crypto import algos, keys
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import InvalidSignature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import AlgorithmNotSupported
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    DefaultSignatureValidator,
    SignatureValidationContext,
    SignatureValidator,
)

from . import oids
from .errors import Sm2Error
from .sm2 import Sm2PublicKey, is_sm2_key

__all__ = ["GmSignatureValidator", "gm_validation_context"]

oids.install()


class GmSignatureValidator(SignatureValidator):
    """SM2-with-SM3 (GM/T 0009 default user id) here; everything else to pyHanko's default."""

    def __init__(self, fallback: SignatureValidator | None = None) -> None:
        self._fallback = fallback or DefaultSignatureValidator()

    def validate_signature(
        self,
        signature: bytes,
        signed_data: bytes,
        public_key_info: keys.PublicKeyInfo,
        signature_algorithm: algos.SignedDigestAlgorithm,
        context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT,
    ) -> None:
        name = signature_algorithm["algorithm"].native
        sm2_key = is_sm2_key(public_key_info)
        if name not in oids.SM2_SIGNATURE_NAMES:
            if sm2_key:  # an SM2 key cannot have made an ECDSA/RSA signature
                raise InvalidSignature
            self._fallback.validate_signature(
                signature, signed_data, public_key_info, signature_algorithm, context
            )
            return
        if not sm2_key:
            raise InvalidSignature
        if name == "sm2" and context.contextual_md_algorithm not in (None, "sm3"):
            raise AlgorithmNotSupported(
                f"SM2 with {context.contextual_md_algorithm} is not a GM/T 0009 signature"
            )
        if context.prehashed:
            # SM2 hashes Z || M itself; a signature without signed attributes over a bare
            # digest cannot be checked (and pyHanko's signer never makes one).
            raise AlgorithmNotSupported("SM2 signatures over a precomputed digest")
        try:
            key = Sm2PublicKey.from_public_key_info(public_key_info)
        except Sm2Error as exc:
            raise InvalidSignature from exc
        if not key.verify(signature, signed_data):
            raise InvalidSignature


def gm_validation_context(
    trust_roots: Iterable[asn1_x509.Certificate],
    *,
    crls: Iterable[asn1_crl.CertificateList] = (),
    other_certs: Iterable[asn1_x509.Certificate] = (),
    ocsps: Iterable[Any] = (),
    revocation_mode: str = "hard-fail",
) -> ValidationContext:
    """An offline validation context whose signature checks understand SM2."""
    return ValidationContext(
        trust_roots=list(trust_roots),
        other_certs=list(other_certs),
        crls=list(crls),
        ocsps=list(ocsps),
        allow_fetching=False,
        revocation_mode=revocation_mode,
        signature_validator=GmSignatureValidator(),
    )
