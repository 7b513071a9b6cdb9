"""jingpin signing library: in-house PKI, RFC 3161 TSA, PAdES signing and verification.

A pure library (no web framework, no database); see signing/README.md.
"""

from importlib import import_module
from typing import Any

# Names are loaded on first use (PEP 562): importing a light module such as signing.timefmt must
# not pull in pyHanko (~0.7 s), which the CLI and every backend module would otherwise pay.
_EXPORTS = {
    "SignatureAppearance": "appearance",
    "SigningError": "errors",
    "sha256_hex": "hashes",
    "sm3_hex": "hashes",
    "FieldSpec": "pades",
    "PadesLevel": "pades",
    "SigningRequest": "pades",
    "async_sign_pdf": "pades",
    "ca_signer": "pades",
    "prepare": "pades",
    "sign_pdf": "pades",
    "CertificateAuthority": "pki",
    "IssuedCertificate": "pki",
    "rotate_kek": "pki",
    "InProcessTimeStamper": "tsa",
    "TimestampAuthority": "tsa",
    "http_timestamper": "tsa",
    "VerificationLimits": "verify",
    "VerificationReport": "verify",
    "async_verify_pdf": "verify",
    "describe_zh": "verify",
    "exit_code": "verify",
    "verify_pdf": "verify",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
