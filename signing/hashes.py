"""Document fingerprints for the registry: SHA-256 and SM3 (GB/T 32905-2016, from OpenSSL through
`cryptography`)."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import hashes

__all__ = ["sha256_hex", "sm3_hex"]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sm3_hex(data: bytes) -> str:
    """SM3 digest as lowercase hex."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()
