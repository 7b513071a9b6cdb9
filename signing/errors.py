"""Exception tree of the signing library.

Every error the library raises on purpose is a :class:`SigningError`; callers (the backend) map
the subclasses to their own error codes. Verification never raises for a bad document: a hostile
or broken PDF becomes a FORMAT_FAILURE report instead.
"""

from __future__ import annotations


class SigningError(Exception):
    """Root of every error raised by :mod:`signing`."""

    code: str = "signing_error"


class KeystoreError(SigningError):
    """A private key could not be stored, unwrapped or rewrapped."""

    code = "keystore_error"


class WrongKeyEncryptionKey(KeystoreError):
    """The key-encryption key (KEK) does not open the stored keys."""

    code = "wrong_kek"


class CertificateAuthorityError(SigningError):
    """The CA directory is missing, inconsistent, or an operation on it is not allowed."""

    code = "ca_error"


class CertificateNotFound(CertificateAuthorityError):
    code = "certificate_not_found"


class CertificateRevoked(CertificateAuthorityError):
    code = "certificate_revoked"


class WrongRootPassphrase(CertificateAuthorityError):
    code = "wrong_root_passphrase"


class TimestampError(SigningError):
    """The timestamp authority could not produce or obtain a token."""

    code = "timestamp_error"


class PdfSigningError(SigningError):
    """Preparing or signing a PDF failed (unreadable input, unknown field, field already signed...)."""

    code = "pdf_signing_error"


class SignatureFieldError(PdfSigningError):
    code = "signature_field_error"


class FontError(SigningError):
    code = "font_error"
