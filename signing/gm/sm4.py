"""SM4-GCM (GB/T 32907 block cipher in GCM mode, RFC 8998 ``TLS_SM4_GCM_SM3``) for keys at rest.

``cryptography`` has no ``SM4GCM`` AEAD class, but its ``Cipher(algorithms.SM4(key), modes.GCM(iv))``
runs OpenSSL's SM4-GCM (checked against the RFC 8998 A.1 vector and Tongsuo's SM4GCM in the tests).
:class:`SM4GCM` wraps it with ``AESGCM``'s interface: ``encrypt`` returns ciphertext || 16-byte tag,
``decrypt`` raises :class:`cryptography.exceptions.InvalidTag` on any change.
"""

from __future__ import annotations

import os

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .errors import Sm4KeystoreError

__all__ = ["SM4GCM", "KEY_SIZE", "NONCE_SIZE", "TAG_SIZE"]

KEY_SIZE = 16
NONCE_SIZE = 12
TAG_SIZE = 16


class SM4GCM:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise Sm4KeystoreError("SM4 密钥必须是 128 位")
        self._key = bytes(key)

    @staticmethod
    def generate_key() -> bytes:
        return os.urandom(KEY_SIZE)

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        if len(nonce) != NONCE_SIZE:
            raise Sm4KeystoreError("SM4-GCM 的 nonce 必须是 96 位")
        try:
            encryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        except UnsupportedAlgorithm as exc:
            raise Sm4KeystoreError("当前 OpenSSL 不支持 SM4-GCM") from exc
        if associated_data:
            encryptor.authenticate_additional_data(associated_data)
        ciphertext = encryptor.update(data) + encryptor.finalize()
        return ciphertext + encryptor.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        if len(nonce) != NONCE_SIZE or len(data) < TAG_SIZE:
            raise Sm4KeystoreError("SM4-GCM 密文格式错误")
        ciphertext, tag = data[:-TAG_SIZE], data[-TAG_SIZE:]
        decryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
        if associated_data:
            decryptor.authenticate_additional_data(associated_data)
        return decryptor.update(ciphertext) + decryptor.finalize()
