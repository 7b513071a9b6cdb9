"""Document fingerprints for the registry: SHA-256 and SM3 (GB/T 32905-2016)."""

from __future__ import annotations

import hashlib

__all__ = ["sha256_hex", "sm3_hex"]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sm3_cryptography(data: bytes) -> str | None:
    try:
        from cryptography.hazmat.primitives import hashes

        digest = hashes.Hash(hashes.SM3())
    except Exception:  # SM3 not compiled into this OpenSSL
        return None
    digest.update(data)
    return digest.finalize().hex()


def sm3_hex(data: bytes) -> str:
    """SM3 digest as lowercase hex; OpenSSL's SM3 when available, gmssl's otherwise."""
    result = _sm3_cryptography(data)
    if result is not None:
        return result
    from gmssl import sm3

    return str(sm3.sm3_hash(list(data)))
