"""SM2 primitives (signing.gm.sm2) against OpenSSL's CLI and pure-Python pysmx."""

from __future__ import annotations

import subprocess

import pytest
from asn1crypto import algos

from signing.gm.errors import Sm2Error
from signing.gm.sm2 import CURVE_ORDER, Sm2PrivateKey, Sm2PublicKey
from tests.signing.gm.crosscheck import (
    openssl_sign,
    openssl_verify,
    private_scalar,
    pysmx_sign,
    pysmx_verify,
)

MESSAGE = "甲乙丙三方协议".encode() * 10


@pytest.fixture(scope="module")
def key() -> Sm2PrivateKey:
    return Sm2PrivateKey.generate()


def test_signature_verifies_in_openssl_and_pysmx_with_the_default_user_id(key):
    signature = key.sign(MESSAGE)
    point = key.public_key.point
    assert key.public_key.verify(signature, MESSAGE)
    assert openssl_verify(point, MESSAGE, signature)
    assert pysmx_verify(point, MESSAGE, signature)


def test_signature_fails_under_another_user_id_in_both_cross_checks(key):
    signature = key.sign(MESSAGE)
    point = key.public_key.point
    assert not openssl_verify(point, MESSAGE, signature, distid="1234567812345679")
    assert not pysmx_verify(point, MESSAGE, signature, user_id=b"ALICE123@YAHOO.COM")


def test_signatures_made_by_openssl_and_pysmx_verify_here_only_with_the_default_id(key):
    pkcs8 = key.pkcs8()
    assert key.public_key.verify(openssl_sign(pkcs8, MESSAGE, "1234567812345678"), MESSAGE)
    assert not key.public_key.verify(openssl_sign(pkcs8, MESSAGE, "someone-else"), MESSAGE)
    scalar = private_scalar(pkcs8)
    assert key.public_key.verify(pysmx_sign(scalar, MESSAGE, b"1234567812345678"), MESSAGE)
    assert not key.public_key.verify(pysmx_sign(scalar, MESSAGE, b"wrong id"), MESSAGE)


def test_changed_message_or_signature_does_not_verify(key):
    signature = bytearray(key.sign(MESSAGE))
    assert not key.public_key.verify(bytes(signature), MESSAGE + b"x")
    signature[-1] ^= 0x01
    assert not key.public_key.verify(bytes(signature), MESSAGE)


def test_non_canonical_or_out_of_range_signatures_are_rejected_before_tongsuo(key):
    parsed = algos.DSASignature.load(key.sign(MESSAGE))
    r, s = parsed["r"].native, parsed["s"].native
    good = algos.DSASignature({"r": r, "s": s}).dump()
    assert key.public_key.verify(good, MESSAGE)
    assert not key.public_key.verify(good + b"\x00", MESSAGE)  # trailing bytes
    # s + n is the same value mod n: a malleable, out-of-range encoding
    assert not key.public_key.verify(
        algos.DSASignature({"r": r, "s": s + CURVE_ORDER}).dump(), MESSAGE
    )
    long_form = b"\x30\x81" + bytes([len(good) - 2]) + good[2:]  # BER length
    assert not key.public_key.verify(long_form, MESSAGE)
    assert not key.public_key.verify(b"", MESSAGE)


def test_points_off_the_curve_are_refused(key):
    point = bytearray(key.public_key.point)
    point[-1] ^= 0x01
    with pytest.raises(Sm2Error):
        Sm2PublicKey(bytes(point))
    with pytest.raises(Sm2Error):
        Sm2PublicKey(b"\x02" + bytes(point[1:33]))  # compressed points are not accepted


def test_keys_round_trip_as_pkcs8_and_spki_that_openssl_reads(key, tmp_path):
    again = Sm2PrivateKey.from_pkcs8(key.pkcs8())
    assert again.public_key == key.public_key
    assert Sm2PublicKey.from_der(key.public_key.der()) == key.public_key
    (tmp_path / "k.der").write_bytes(key.pkcs8())
    out = subprocess.run(
        ["openssl", "pkey", "-inform", "DER", "-in", str(tmp_path / "k.der"), "-text", "-noout"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "ASN1 OID: SM2" in out


def test_a_p256_pkcs8_key_is_not_taken_for_sm2():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    der = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(Sm2Error):
        Sm2PrivateKey.from_pkcs8(der)
