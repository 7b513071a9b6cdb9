"""SM4-GCM and the SM4 key store (keys at rest in the 国密 profile)."""

from __future__ import annotations

import json

import pytest
from cryptography.exceptions import InvalidTag
from tongsuopy.crypto.ciphers.aead import SM4GCM as TongsuoSM4GCM

from signing.errors import KeystoreError, WrongKeyEncryptionKey
from signing.gm.keystore import Sm4KeyStore
from signing.gm.sm2 import Sm2PrivateKey
from signing.gm.sm4 import SM4GCM

# RFC 8998, Appendix A.1 (SM4-GCM test vector)
KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
IV = bytes.fromhex("00001234567800000000ABCD")
AAD = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
PLAINTEXT = bytes.fromhex(
    "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
    "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
)
CIPHERTEXT = bytes.fromhex(
    "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
    "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
)
TAG = bytes.fromhex("83DE3541E4C2B58177E065A9BF7B62EC")


def test_sm4_gcm_matches_the_rfc_8998_vector_and_tongsuo():
    sealed = SM4GCM(KEY).encrypt(IV, PLAINTEXT, AAD)
    assert sealed == CIPHERTEXT + TAG
    assert TongsuoSM4GCM(KEY).encrypt(IV, PLAINTEXT, AAD) == sealed
    assert SM4GCM(KEY).decrypt(IV, sealed, AAD) == PLAINTEXT


@pytest.mark.parametrize("where", ["ciphertext", "tag", "aad"])
def test_sm4_gcm_refuses_any_change(where):
    sealed, aad = bytearray(CIPHERTEXT + TAG), AAD
    if where == "ciphertext":
        sealed[0] ^= 1
    elif where == "tag":
        sealed[-1] ^= 1
    else:
        aad = AAD + b"x"
    with pytest.raises(InvalidTag):
        SM4GCM(KEY).decrypt(IV, bytes(sealed), aad)


def test_key_store_round_trips_an_sm2_key_encrypted_with_sm4(tmp_path):
    store = Sm4KeyStore(tmp_path, b"k" * 32)
    key = Sm2PrivateKey.generate()
    store.store("seal", key)
    record = json.loads((tmp_path / "seal.key.json").read_text())
    assert record["cipher"] == "SM4-GCM" and record["kdf"] == "HKDF-SM3"
    assert key.pkcs8() not in (tmp_path / "seal.key.json").read_bytes()
    assert store.load("seal").public_key == key.public_key


def test_wrong_kek_is_named_and_tampering_is_detected(tmp_path):
    Sm4KeyStore(tmp_path, b"k" * 32).store("seal", Sm2PrivateKey.generate())
    with pytest.raises(WrongKeyEncryptionKey):
        Sm4KeyStore(tmp_path, b"x" * 32).load("seal")
    path = tmp_path / "seal.key.json"
    record = json.loads(path.read_text())
    record["key_id"] = "other"
    (tmp_path / "other.key.json").write_text(json.dumps(record))
    with pytest.raises(KeystoreError, match="fails authentication"):
        Sm4KeyStore(tmp_path, b"k" * 32).load("other")  # the key id is authenticated


def test_rewrap_changes_only_the_wrapping_and_a_wrong_old_kek_changes_nothing(tmp_path):
    store = Sm4KeyStore(tmp_path, b"k" * 32)
    key = Sm2PrivateKey.generate()
    store.store("a", key)
    store.store("b", Sm2PrivateKey.generate())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(WrongKeyEncryptionKey):
        Sm4KeyStore(tmp_path, b"wrong" * 8).rewrap_all(b"n" * 32)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert store.rewrap_all(b"n" * 32) == 2
    assert Sm4KeyStore(tmp_path, b"n" * 32).load("a").public_key == key.public_key
    with pytest.raises(WrongKeyEncryptionKey):
        Sm4KeyStore(tmp_path, b"k" * 32).load("a")
