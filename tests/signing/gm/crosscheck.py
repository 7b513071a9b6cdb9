"""Independent SM2 checks for the tests: OpenSSL 3.0's CLI and pure-Python snowland-smx (pysmx).

Neither shares code with Tongsuo's SM2 (the library under test); both are given only the raw
signature, the signed bytes, the public key and the user id.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pysmx.SM2 as pysmx_sm2
from asn1crypto import algos, keys

DEFAULT_ID = "1234567812345678"


def spki_der(point: bytes) -> bytes:
    return keys.PublicKeyInfo(
        {
            "algorithm": {
                "algorithm": "ec",
                "parameters": keys.ECDomainParameters(name="named", value="1.2.156.10197.1.301"),
            },
            "public_key": point,
        }
    ).dump()


def openssl_verify(point: bytes, data: bytes, signature: bytes, distid: str = DEFAULT_ID) -> bool:
    """`openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:…` (OpenSSL 3.0 calls the
    option -pkeyopt; -sigopt belongs to `openssl x509`/`req`)."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "key.der").write_bytes(spki_der(point))
        (d / "data").write_bytes(data)
        (d / "sig").write_bytes(signature)
        result = subprocess.run(
            [
                "openssl", "pkeyutl", "-verify", "-pubin", "-keyform", "DER",
                "-inkey", str(d / "key.der"), "-rawin", "-digest", "sm3",
                "-in", str(d / "data"), "-sigfile", str(d / "sig"),
                "-pkeyopt", f"distid:{distid}",
            ],
            capture_output=True,
            text=True,
        )  # fmt: skip
    return result.returncode == 0 and "Signature Verified Successfully" in result.stdout


def openssl_sign(pkcs8: bytes, data: bytes, distid: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "key.der").write_bytes(pkcs8)
        (d / "data").write_bytes(data)
        subprocess.run(
            [
                "openssl", "pkeyutl", "-sign", "-keyform", "DER", "-inkey", str(d / "key.der"),
                "-rawin", "-digest", "sm3", "-in", str(d / "data"), "-out", str(d / "sig"),
                "-pkeyopt", f"distid:{distid}",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        return (d / "sig").read_bytes()


def _raw(signature: bytes) -> bytes:
    parsed = algos.DSASignature.load(signature)
    return parsed["r"].native.to_bytes(32, "big") + parsed["s"].native.to_bytes(32, "big")


def pysmx_verify(
    point: bytes, data: bytes, signature: bytes, user_id: bytes = DEFAULT_ID.encode()
) -> bool:
    return bool(pysmx_sm2.Verify(_raw(signature), data, point[1:], 64, uid=user_id))


def pysmx_sign(private_scalar: bytes, data: bytes, user_id: bytes) -> bytes:
    """DER SM2 signature made by pysmx (e.g. with a user id other than the default)."""
    import secrets

    while True:
        raw = pysmx_sm2.Sign(data, private_scalar.hex(), secrets.token_hex(32), 64, uid=user_id)
        if raw:
            r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
            return algos.DSASignature({"r": r, "s": s}).dump()


def private_scalar(pkcs8: bytes) -> bytes:
    info = keys.PrivateKeyInfo.load(pkcs8)
    key = keys.ECPrivateKey.load(info["private_key"].parsed.dump())
    return key["private_key"].native.to_bytes(32, "big")


def both_verify(point: bytes, data: bytes, signature: bytes) -> tuple[bool, bool]:
    return openssl_verify(point, data, signature), pysmx_verify(point, data, signature)
