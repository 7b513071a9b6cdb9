"""Private keys at rest: envelope encryption under a caller-held key-encryption key (KEK).

Each private key (PKCS#8 DER) is encrypted with its own random 256-bit data-encryption key (DEK)
using AES-256-GCM; the DEK is in turn wrapped with the KEK (AES-256-GCM, key id as associated
data). Rotating the KEK rewraps the DEKs only: keys and certificates stay as they are.

The KEK is any high-entropy byte string (32 random bytes recommended); it is stretched with
HKDF-SHA256 so its length does not matter. The key file (JSON) records a short KEK fingerprint so
that a wrong KEK is reported as such rather than as corruption.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import KeystoreError, WrongKeyEncryptionKey

__all__ = ["EncryptedKeyStore", "kek_fingerprint", "atomic_write"]

_FORMAT = "jingpin-envelope-v1"


def _derive(kek: bytes, info: bytes) -> bytes:
    if len(kek) < 16:
        raise KeystoreError("the key-encryption key must be at least 16 bytes")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(kek)


def kek_fingerprint(kek: bytes) -> str:
    """Short public identifier of a KEK (not usable to recover it)."""
    return _derive(kek, b"jingpin kek fingerprint")[:8].hex()


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


class EncryptedKeyStore:
    """A directory of envelope-encrypted private keys, one JSON file per key id."""

    def __init__(self, directory: Path, kek: bytes) -> None:
        self.directory = Path(directory)
        self._wrap_key = _derive(kek, b"jingpin kek wrap")
        self._kek_id = kek_fingerprint(kek)

    def path(self, key_id: str) -> Path:
        if not key_id or "/" in key_id or key_id.startswith("."):
            raise KeystoreError(f"invalid key id {key_id!r}")
        return self.directory / f"{key_id}.key.json"

    def exists(self, key_id: str) -> bool:
        return self.path(key_id).exists()

    def store(self, key_id: str, key: PrivateKeyTypes) -> None:
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        dek = AESGCM.generate_key(bit_length=256)
        aad = key_id.encode()
        key_nonce, dek_nonce = os.urandom(12), os.urandom(12)
        record = {
            "format": _FORMAT,
            "key_id": key_id,
            "kek_id": self._kek_id,
            "wrapped_dek": _b64(dek_nonce + AESGCM(self._wrap_key).encrypt(dek_nonce, dek, aad)),
            "ciphertext": _b64(key_nonce + AESGCM(dek).encrypt(key_nonce, der, aad)),
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path(key_id), json.dumps(record, indent=1).encode())

    def _read(self, key_id: str) -> dict[str, Any]:
        try:
            record: dict[str, Any] = json.loads(self.path(key_id).read_bytes())
        except FileNotFoundError as exc:
            raise KeystoreError(f"no stored key {key_id!r}") from exc
        except ValueError as exc:
            raise KeystoreError(f"key file for {key_id!r} is corrupt") from exc
        if record.get("format") != _FORMAT or record.get("key_id") != key_id:
            raise KeystoreError(f"key file for {key_id!r} has an unknown format")
        return record

    def _unwrap_dek(self, record: dict[str, Any]) -> bytes:
        if record["kek_id"] != self._kek_id:
            raise WrongKeyEncryptionKey("the key-encryption key does not match the stored keys")
        blob = _unb64(record["wrapped_dek"])
        try:
            return AESGCM(self._wrap_key).decrypt(blob[:12], blob[12:], record["key_id"].encode())
        except InvalidTag as exc:
            raise KeystoreError(
                f"wrapped DEK of {record['key_id']!r} fails authentication"
            ) from exc

    def load_pkcs8(self, key_id: str) -> bytes:
        record = self._read(key_id)
        dek = self._unwrap_dek(record)
        blob = _unb64(record["ciphertext"])
        try:
            return AESGCM(dek).decrypt(blob[:12], blob[12:], key_id.encode())
        except InvalidTag as exc:
            raise KeystoreError(f"ciphertext of {key_id!r} fails authentication") from exc

    def load(self, key_id: str) -> PrivateKeyTypes:
        return serialization.load_der_private_key(self.load_pkcs8(key_id), password=None)

    def key_ids(self) -> list[str]:
        if not self.directory.exists():
            return []
        return sorted(p.name[: -len(".key.json")] for p in self.directory.glob("*.key.json"))

    def rewrap_all(self, new_kek: bytes) -> int:
        """Rewrap every DEK under ``new_kek``; returns the number of keys rewrapped.

        All DEKs are unwrapped first, so a wrong old KEK changes nothing on disk.
        """
        new_wrap = _derive(new_kek, b"jingpin kek wrap")
        new_id = kek_fingerprint(new_kek)
        records = [(key_id, self._read(key_id)) for key_id in self.key_ids()]
        deks = [self._unwrap_dek(record) for _, record in records]
        for (key_id, record), dek in zip(records, deks, strict=True):
            nonce = os.urandom(12)
            record["wrapped_dek"] = _b64(
                nonce + AESGCM(new_wrap).encrypt(nonce, dek, key_id.encode())
            )
            record["kek_id"] = new_id
            atomic_write(self.path(key_id), json.dumps(record, indent=1).encode())
        self._wrap_key, self._kek_id = new_wrap, new_id
        return len(records)
