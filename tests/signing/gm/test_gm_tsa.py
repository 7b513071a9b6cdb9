"""The SM2 RFC 3161 timestamp authority."""

from __future__ import annotations

import pytest
from asn1crypto import tsp
from cryptography.hazmat.primitives import hashes, serialization

from signing.gm.tsa import GmTimestampAuthority
from signing.tsa import parse_response
from tests.signing.gm.crosscheck import both_verify


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def request(digest: str = "sm3", length: int = 32, **extra) -> bytes:
    return tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": digest},
                "hashed_message": bytes(range(length)),
            },
            "nonce": 12345,
            "cert_req": True,
            **extra,
        }
    ).dump()


def test_token_is_sm2_with_sm3_and_its_signature_checks_out_in_openssl_and_pysmx(gm_tsa):
    response = parse_response(gm_tsa.respond(request()))
    assert response["status"]["status"].native == "granted"
    signed_data = response["time_stamp_token"]["content"]
    signer = signed_data["signer_infos"][0]
    assert signer["digest_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.401"
    assert signer["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"
    tst = signed_data["encap_content_info"]["content"].parsed
    assert tst["nonce"].native == 12345
    attrs = {a["type"].native: a["values"][0] for a in signer["signed_attrs"]}
    assert attrs["message_digest"].native == sm3(tst.dump())
    cert_der = gm_tsa.certificate.public_bytes(serialization.Encoding.DER)
    ess = attrs["signing_certificate_v2"]["certs"][0]
    assert ess["hash_algorithm"]["algorithm"].native == "sm3"
    assert ess["cert_hash"].native == sm3(cert_der)
    serial = signer["sid"].chosen["serial_number"].native
    (tsa_cert,) = [
        c.chosen for c in signed_data["certificates"] if c.chosen.serial_number == serial
    ]
    point = bytes(tsa_cert.public_key["public_key"])
    signed_attrs = signer["signed_attrs"].untag().dump()  # what was signed: the SET OF
    assert both_verify(point, signed_attrs, signer["signature"].native) == (True, True)


@pytest.mark.parametrize(
    ("raw", "failure"),
    [
        (b"not DER", "bad_data_format"),
        (request("md5", 16), "bad_alg"),
        (request("sm3", 20), "bad_data_format"),
        (request(req_policy="1.2.3.4"), "unaccepted_policy"),
    ],
    ids=["not-der", "md5", "short-imprint", "other-policy"],
)
def test_bad_requests_are_rejected_with_the_rfc_3161_failure(gm_tsa, raw, failure):
    response = parse_response(gm_tsa.respond(raw))
    assert response["status"]["status"].native == "rejection"
    assert failure in response["status"]["fail_info"].native


def test_an_international_digest_can_be_timestamped_by_the_sm2_tsa(gm_tsa):
    response = parse_response(gm_tsa.respond(request("sha256", 32)))
    assert response["status"]["status"].native == "granted"


def test_tsa_refuses_a_non_sm2_key(gm_ca):
    from cryptography.hazmat.primitives.asymmetric import ec

    with pytest.raises(Exception, match="SM2"):
        GmTimestampAuthority(gm_ca.tsa_certificate, ec.generate_private_key(ec.SECP256R1()))  # type: ignore[arg-type]
