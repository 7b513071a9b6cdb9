"""jingpin signing library: in-house PKI, RFC 3161 TSA, PAdES signing and verification.

A pure library (no web framework, no database); see signing/README.md.
"""

from . import hexstrings
from .appearance import SignatureAppearance
from .errors import SigningError
from .hashes import sha256_hex, sm3_hex
from .pades import (
    FieldSpec,
    PadesLevel,
    SigningRequest,
    async_sign_pdf,
    ca_signer,
    prepare,
    sign_pdf,
)
from .pki import CertificateAuthority, IssuedCertificate, rotate_kek
from .tsa import InProcessTimeStamper, TimestampAuthority, http_timestamper
from .verify import (
    VerificationLimits,
    VerificationReport,
    async_verify_pdf,
    describe_zh,
    exit_code,
    verify_pdf,
)

# pyHanko's byte-at-a-time hex-string reader was a fifth of verification; see hexstrings.py.
hexstrings.install()

__all__ = [
    "CertificateAuthority",
    "FieldSpec",
    "InProcessTimeStamper",
    "IssuedCertificate",
    "PadesLevel",
    "SignatureAppearance",
    "SigningError",
    "SigningRequest",
    "TimestampAuthority",
    "VerificationLimits",
    "VerificationReport",
    "async_sign_pdf",
    "async_verify_pdf",
    "ca_signer",
    "describe_zh",
    "exit_code",
    "http_timestamper",
    "prepare",
    "rotate_kek",
    "sha256_hex",
    "sign_pdf",
    "sm3_hex",
    "verify_pdf",
]
