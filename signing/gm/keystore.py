"""Private keys at rest in the 国密 profile: the envelope of :mod:`signing.keystore`, in SM4-GCM.

Each private key (PKCS#8 DER) is encrypted under its own random 128-bit SM4 data-encryption key
(DEK) with SM4-GCM; the DEK is wrapped with SM4-GCM under a key derived from the KEK with
HKDF-SM3 (the key id is the associated data of both). Rotating the KEK rewraps the DEKs only.
The file records a short KEK fingerprint (HKDF-SM3 as well), so a wrong KEK is reported as such.

Same interface as :class:`signing.keystore.EncryptedKeyStore` except that it stores PKCS#8 bytes
(cryptography cannot hold SM2 keys): ``store(key_id, Sm2PrivateKey)``, ``load(key_id)``.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import KeystoreError, WrongKeyEncryptionKey
from ..keystore import atomic_write
from .sm2 import Sm2PrivateKey
from .sm4 import KEY_SIZE, NONCE_SIZE, SM4GCM

__all__ = ["Sm4KeyStore", "gm_kek_fingerprint"]

_FORMAT = "jingpin-envelope-sm4-v1"


def _derive(kek: bytes, info: bytes) -> bytes:
    if len(kek) < 16:
        raise KeystoreError("the key-encryption key must be at least 16 bytes")
    return HKDF(algorithm=hashes.SM3(), length=KEY_SIZE, salt=None, info=info).derive(kek)


def gm_kek_fingerprint(kek: bytes) -> str:
    """Short public identifier of a KEK in the 国密 profile (not usable to recover it)."""
    return _derive(kek, b"jingpin gm kek fingerprint")[:8].hex()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _seal(key: bytes, data: bytes, aad: bytes) -> str:
    nonce = os.urandom(NONCE_SIZE)
    return _b64(nonce + SM4GCM(key).encrypt(nonce, data, aad))


def _open(key: bytes, blob_b64: str, aad: bytes) -> bytes:
    blob = _unb64(blob_b64)
    return SM4GCM(key).decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], aad)


class Sm4KeyStore:
    """A directory of SM4-GCM envelope-encrypted private keys, one JSON file per key id."""

    def __init__(self, directory: Path, kek: bytes) -> None:
        self.directory = Path(directory)
        self._wrap_key = _derive(kek, b"jingpin gm kek wrap")
        self._kek_id = gm_kek_fingerprint(kek)

    def path(self, key_id: str) -> Path:
        if not key_id or "/" in key_id or key_id.startswith("."):
            raise KeystoreError(f"invalid key id {key_id!r}")
        return self.directory / f"{key_id}.key.json"

    def exists(self, key_id: str) -> bool:
        return self.path(key_id).exists()

    def store(self, key_id: str, key: Sm2PrivateKey) -> None:
        dek = SM4GCM.generate_key()
        aad = key_id.encode()
        record = {
            "format": _FORMAT,
            "cipher": "SM4-GCM",
            "kdf": "HKDF-SM3",
            "key_id": key_id,
            "kek_id": self._kek_id,
            "wrapped_dek": _seal(self._wrap_key, dek, aad),
            "ciphertext": _seal(dek, key.pkcs8(), aad),
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
        try:
            return _open(self._wrap_key, record["wrapped_dek"], record["key_id"].encode())
        except InvalidTag as exc:
            raise KeystoreError(
                f"wrapped DEK of {record['key_id']!r} fails authentication"
            ) from exc

    def load_pkcs8(self, key_id: str) -> bytes:
        record = self._read(key_id)
        dek = self._unwrap_dek(record)
        try:
            return _open(dek, record["ciphertext"], key_id.encode())
        except InvalidTag as exc:
            raise KeystoreError(f"ciphertext of {key_id!r} fails authentication") from exc

    def load(self, key_id: str) -> Sm2PrivateKey:
        return Sm2PrivateKey.from_pkcs8(self.load_pkcs8(key_id))

    def key_ids(self) -> list[str]:
        if not self.directory.exists():
            return []
        return sorted(p.name[: -len(".key.json")] for p in self.directory.glob("*.key.json"))

    def rewrap_all(self, new_kek: bytes) -> int:
        """Rewrap every DEK under ``new_kek``; all are unwrapped first, so a wrong old KEK changes
        nothing on disk. Returns the number of keys rewrapped."""
        new_wrap = _derive(new_kek, b"jingpin gm kek wrap")
        new_id = gm_kek_fingerprint(new_kek)
        records = [(key_id, self._read(key_id)) for key_id in self.key_ids()]
        deks = [self._unwrap_dek(record) for _, record in records]
        for (key_id, record), dek in zip(records, deks, strict=True):
            record["wrapped_dek"] = _seal(new_wrap, dek, key_id.encode())
            record["kek_id"] = new_id
            atomic_write(self.path(key_id), json.dumps(record, indent=1).encode())
        self._wrap_key, self._kek_id = new_wrap, new_id
        return len(records)
