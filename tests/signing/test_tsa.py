from __future__ import annotations

import hashlib

from asn1crypto import algos, cms, tsp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from signing.tsa import parse_response


def _request(
    digest: bytes,
    *,
    algo: str = "sha256",
    nonce: int | None = 1234567,
    cert_req: bool = True,
    policy: str | None = None,
) -> bytes:
    fields = {
        "version": 1,
        "message_imprint": {
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": algo}),
            "hashed_message": digest,
        },
        "cert_req": cert_req,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    if policy:
        fields["req_policy"] = policy
    return tsp.TimeStampReq(fields).dump()


def test_tsa_token_verifies_against_tsa_certificate_and_echoes_nonce(tsa):
    digest = hashlib.sha256(b"document").digest()
    resp = parse_response(tsa.respond(_request(digest, nonce=987654321)))
    assert resp["status"]["status"].native == "granted"
    token = resp["time_stamp_token"]
    signed_data = token["content"]
    # signed attributes are signed as a SET (tag 0x31), stored as [0] IMPLICIT; take the bytes
    # before touching .native (asn1crypto may re-encode after that)
    signed_attrs_der = b"\x31" + signed_data["signer_infos"][0]["signed_attrs"].dump()[1:]
    tst = signed_data["encap_content_info"]["content"].parsed
    assert tst["nonce"].native == 987654321
    assert tst["message_imprint"]["hashed_message"].native == digest
    signer_info = signed_data["signer_infos"][0]
    signed_attrs = signer_info["signed_attrs"]
    md = next(a for a in signed_attrs if a["type"].native == "message_digest")["values"][0].native
    assert md == hashlib.sha256(signed_data["encap_content_info"]["content"].contents).digest()
    tsa.certificate.public_key().verify(
        signer_info["signature"].native, signed_attrs_der, ec.ECDSA(hashes.SHA256())
    )
    certs = [c.chosen for c in signed_data["certificates"]]
    assert tsa.certificate.serial_number in {c.serial_number for c in certs}


def test_tsa_omits_certificates_when_not_requested(tsa):
    resp = parse_response(tsa.respond(_request(hashlib.sha256(b"x").digest(), cert_req=False)))
    assert not resp["time_stamp_token"]["content"]["certificates"]


def test_tsa_rejects_garbage_with_bad_data_format(tsa):
    status = parse_response(tsa.respond(b"\x30\x03garbage"))["status"]
    assert status["status"].native == "rejection"
    assert "bad_data_format" in status["fail_info"].native


def test_tsa_rejects_wrong_digest_length(tsa):
    status = parse_response(tsa.respond(_request(b"short")))["status"]
    assert status["status"].native == "rejection"


def test_tsa_rejects_unknown_digest_algorithm(tsa):
    status = parse_response(tsa.respond(_request(hashlib.md5(b"x").digest(), algo="md5")))["status"]  # noqa: S324
    assert "bad_alg" in status["fail_info"].native


def test_tsa_rejects_foreign_policy(tsa):
    status = parse_response(tsa.respond(_request(hashlib.sha256(b"x").digest(), policy="1.2.3.4")))[
        "status"
    ]
    assert "unaccepted_policy" in status["fail_info"].native


def test_tsa_token_is_a_cms_signed_data(tsa):
    token = parse_response(tsa.respond(_request(hashlib.sha256(b"y").digest())))["time_stamp_token"]
    assert isinstance(token, cms.ContentInfo)
    assert token["content_type"].native == "signed_data"
