"""SM2 signatures (GB/T 32918 / GM/T 0003) with SM3, through Tongsuo (``tongsuopy``).

Everything the rest of :mod:`signing.gm` needs from SM2 goes through the two classes here, so the
library underneath can be swapped in one module (README, 国密 profile: why Tongsuo).

* Signatures are DER ``SEQUENCE {r, s}`` over ``SM3(Z || M)`` with ``Z`` computed from the
  GM/T 0009 default user id ``1234567812345678`` (the only one Tongsuo signs with, and the one
  OpenSSL, BouncyCastle and GmSSL use when none is agreed).
* Keys are standard PKCS#8 / SubjectPublicKeyInfo with ``id-ecPublicKey`` and the ``sm2`` named
  curve (GM/T 0015, RFC 8998), readable by OpenSSL 3 (``openssl pkey``).
* Untrusted input never reaches Tongsuo's ASN.1 parser: a public key from a certificate enters as
  its raw point (checked to lie on the curve here), a signature only after a canonical-DER check.
"""

from __future__ import annotations

from asn1crypto import algos, keys
from tongsuopy.crypto import hashes as ts_hashes
from tongsuopy.crypto import serialization as ts_serialization
from tongsuopy.crypto.asymciphers import ec as ts_ec
from tongsuopy.crypto.exceptions import InvalidSignature as _TongsuoInvalidSignature
from tongsuopy.crypto.exceptions import UnsupportedAlgorithm as _TongsuoUnsupported

from . import oids
from .errors import Sm2Error

__all__ = [
    "DEFAULT_USER_ID",
    "CURVE_ORDER",
    "MAX_SIGNATURE_SIZE",
    "Sm2PrivateKey",
    "Sm2PublicKey",
    "is_sm2_key",
]

oids.install()

DEFAULT_USER_ID = b"1234567812345678"
# GB/T 32918.5 recommended curve parameters.
_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
CURVE_ORDER = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
# DER SEQUENCE of two INTEGERs up to 33 bytes each: 2 + (2 + 33) * 2.
MAX_SIGNATURE_SIZE = 72

_ALGORITHM = ts_ec.ECDSA(ts_hashes.SM3())  # Tongsuo: ECDSA on the SM2 curve = SM2 with Z


def is_sm2_key(public_key_info: keys.PublicKeyInfo) -> bool:
    """True for an ``id-ecPublicKey`` key on the SM2 named curve."""
    algorithm = public_key_info["algorithm"]
    if algorithm["algorithm"].native != "ec":
        return False
    params = algorithm["parameters"]
    return params.name == "named" and params.chosen.dotted == oids.SM2_CURVE


def _on_curve(point: bytes) -> bool:
    if len(point) != 65 or point[0] != 4:
        return False
    x, y = int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")
    if not (0 <= x < _P and 0 <= y < _P):
        return False
    return (y * y - (x * x * x + _A * x + _B)) % _P == 0


def _canonical_signature(signature: bytes) -> bool:
    """A DER ``SEQUENCE {r, s}`` with 1 <= r, s < n and nothing else (no BER, no trailing bytes)."""
    if not 8 <= len(signature) <= MAX_SIGNATURE_SIZE:
        return False
    try:
        parsed = algos.DSASignature.load(signature, strict=True)
        r, s = parsed["r"].native, parsed["s"].native
        reencoded = algos.DSASignature({"r": r, "s": s}).dump(force=True)
    except (ValueError, TypeError):
        return False
    return reencoded == signature and 0 < r < CURVE_ORDER and 0 < s < CURVE_ORDER


class Sm2PublicKey:
    """An SM2 public key (verification only)."""

    def __init__(self, point: bytes) -> None:
        point = bytes(point)
        if not _on_curve(point):
            raise Sm2Error("不是 SM2 曲线上的公钥点")
        self.point = point
        self._key = ts_ec.EllipticCurvePublicKey.from_encoded_point(ts_ec.SM2(), point)

    @classmethod
    def from_public_key_info(cls, info: keys.PublicKeyInfo) -> Sm2PublicKey:
        if not is_sm2_key(info):
            raise Sm2Error("不是 SM2 公钥（需要 id-ecPublicKey 与 sm2 曲线）")
        return cls(bytes(info["public_key"]))

    @classmethod
    def from_der(cls, spki_der: bytes) -> Sm2PublicKey:
        try:
            info = keys.PublicKeyInfo.load(spki_der, strict=True)
            return cls.from_public_key_info(info)
        except (ValueError, TypeError) as exc:
            raise Sm2Error(f"SM2 公钥无法解析：{exc}") from exc

    def public_key_info(self) -> keys.PublicKeyInfo:
        return keys.PublicKeyInfo(
            {
                "algorithm": {
                    "algorithm": "ec",
                    "parameters": keys.ECDomainParameters(name="named", value="sm2"),
                },
                "public_key": self.point,
            }
        )

    def der(self) -> bytes:
        return bytes(self.public_key_info().dump())

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True when ``signature`` is this key's SM2 signature over ``data`` (default user id)."""
        if not _canonical_signature(bytes(signature)):
            return False
        try:
            self._key.verify(bytes(signature), bytes(data), _ALGORITHM)
        except _TongsuoInvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sm2PublicKey) and other.point == self.point

    def __hash__(self) -> int:
        return hash(self.point)


class Sm2PrivateKey:
    """An SM2 private key held in memory (load it from the key store, use it, drop it)."""

    def __init__(self, key: ts_ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(key.curve, ts_ec.SM2):
            raise Sm2Error("不是 SM2 私钥")
        self._key = key
        point = key.public_key().public_bytes(
            ts_serialization.Encoding.X962, ts_serialization.PublicFormat.UncompressedPoint
        )
        self.public_key = Sm2PublicKey(point)

    @classmethod
    def generate(cls) -> Sm2PrivateKey:
        return cls(ts_ec.generate_private_key(ts_ec.SM2()))

    @classmethod
    def from_pkcs8(cls, der: bytes) -> Sm2PrivateKey:
        try:
            info = keys.PrivateKeyInfo.load(bytes(der), strict=True)
            algorithm = info["private_key_algorithm"]
            params = algorithm["parameters"]
            if algorithm["algorithm"].native != "ec" or params.chosen.dotted != oids.SM2_CURVE:
                raise Sm2Error("PKCS#8 私钥不是 SM2 私钥")
            key = ts_serialization.load_der_private_key(bytes(der), password=None)
        except Sm2Error:
            raise
        except (ValueError, TypeError, KeyError, _TongsuoUnsupported) as exc:
            raise Sm2Error(f"SM2 私钥无法解析：{exc}") from exc
        return cls(key)

    def pkcs8(self) -> bytes:
        der: bytes = self._key.private_bytes(
            ts_serialization.Encoding.DER,
            ts_serialization.PrivateFormat.PKCS8,
            ts_serialization.NoEncryption(),
        )
        return der

    def sign(self, data: bytes) -> bytes:
        """DER SM2 signature over ``data`` (SM3, default user id)."""
        signature: bytes = self._key.sign(bytes(data), _ALGORITHM)
        return signature
