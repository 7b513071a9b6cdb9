"""Errors of the 国密 profile, in the library's one tree (:class:`signing.errors.SigningError`)."""

from __future__ import annotations

from ..errors import CertificateAuthorityError, KeystoreError, SigningError

__all__ = ["Sm2Error", "Sm4KeystoreError", "GmCertificateError"]


class Sm2Error(SigningError):
    """An SM2 key or signature that cannot be used (wrong curve, not parseable)."""

    code = "sm2_error"


class Sm4KeystoreError(KeystoreError):
    """The SM4-GCM key store cannot be used here (e.g. no SM4-GCM in the installed OpenSSL)."""

    code = "sm4_keystore_error"


class GmCertificateError(CertificateAuthorityError):
    """An SM2 certificate or CRL that cannot be built or read."""

    code = "gm_certificate_error"
