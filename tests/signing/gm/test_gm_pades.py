"""SM2 PAdES signatures made through pyHanko and verified with the SM2-aware verifier."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.errors import PdfSigningError
from signing.gm.pki import GmCertificateAuthority
from signing.gm.ses import pdf_signed_bytes
from signing.gm.signer import Sm2Signer, gm_signer
from signing.pades import PadesLevel, SigningRequest, ca_signer, sign_pdf, to_asn1_cert
from signing.verify import INDETERMINATE, TOTAL_FAILED, TOTAL_PASSED, verify_pdf
from tests.signing.conftest import KEK, PARTIES, ROOT_PASSPHRASE
from tests.signing.gm.crosscheck import (
    both_verify,
    openssl_verify,
    private_scalar,
    pysmx_sign,
)


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def signer_point(signed_data: cms.SignedData, signer: cms.SignerInfo) -> bytes:
    serial = signer["sid"].chosen["serial_number"].native
    (cert,) = [c.chosen for c in signed_data["certificates"] if c.chosen.serial_number == serial]
    return bytes(cert.public_key["public_key"])


def test_three_party_sm2_agreement_verifies_with_sm2_signatures_and_sm2_timestamps(
    gm_three_signed, gm_verify
):
    report = gm_verify(gm_three_signed)
    assert report.indication == TOTAL_PASSED, report.to_dict()
    assert [s.field for s in report.signatures] == [field for field, *_ in PARTIES]
    for sig in report.signatures:
        assert (sig.indication, sig.intact, sig.trusted, sig.revocation) == (
            TOTAL_PASSED,
            True,
            True,
            "good",
        )
        assert (sig.algorithm, sig.algorithm_name, sig.timestamp_algorithm) == (
            "国密 SM2",
            "SM2/SM3",
            "SM2/SM3",
        )
        assert sig.timestamp is not None
    assert report.signatures[0].certifying
    assert report.to_dict()["signatures"][0]["algorithm"] == "国密 SM2"


def test_every_sm2_signature_and_timestamp_in_the_pdf_checks_out_in_openssl_and_pysmx(
    gm_three_signed,
):
    reader = PdfFileReader(BytesIO(gm_three_signed))
    checked = 0
    for embedded in reader.embedded_signatures:
        signed_data, signer = embedded.signed_data, embedded.signer_info
        assert signer["digest_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.401"
        assert signer["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"
        attrs = {a["type"].native: a["values"][0].native for a in signer["signed_attrs"]}
        covered = pdf_signed_bytes(gm_three_signed, embedded.field_name)
        assert attrs["message_digest"] == sm3(covered)
        signed_attrs = signer["signed_attrs"].untag().dump()
        point = signer_point(signed_data, signer)
        assert both_verify(point, signed_attrs, signer["signature"].native) == (True, True)
        (token_attr,) = [
            a for a in signer["unsigned_attrs"] if a["type"].native == "signature_time_stamp_token"
        ]
        token = token_attr["values"][0]["content"]
        tsa_signer = token["signer_infos"][0]
        tsa_point = signer_point(token, tsa_signer)
        tsa_attrs = tsa_signer["signed_attrs"].untag().dump()
        assert both_verify(tsa_point, tsa_attrs, tsa_signer["signature"].native) == (True, True)
        checked += 2
    assert checked == 6


def test_a_flipped_byte_in_the_signed_content_is_hash_failure(gm_three_signed, gm_verify):
    at = gm_three_signed.index(b"Three-party agreement")
    tampered = bytearray(gm_three_signed)
    tampered[at] ^= 0x01
    report = gm_verify(bytes(tampered))
    assert report.indication == TOTAL_FAILED
    assert {s.sub_indication for s in report.signatures} == {"HASH_FAILURE"}


def test_a_flipped_byte_in_the_sm2_signature_value_is_sig_crypto_failure(
    gm_three_signed, gm_verify
):
    reader = PdfFileReader(BytesIO(gm_three_signed))
    signature = reader.embedded_signatures[-1].signer_info["signature"].native
    tampered = bytearray(gm_three_signed)
    for encoded in (signature.hex().encode(), signature.hex().upper().encode()):
        at = gm_three_signed.find(encoded)
        if at >= 0:
            nibble = at + 20  # inside r
            tampered[nibble] = ord("0") if tampered[nibble] != ord("0") else ord("1")
            break
    else:
        pytest.fail("signature value not found in /Contents")
    report = gm_verify(bytes(tampered))
    last = report.signatures[-1]
    assert (last.indication, last.sub_indication) == (TOTAL_FAILED, "SIG_CRYPTO_FAILURE")
    assert [s.indication for s in report.signatures[:-1]] == [TOTAL_PASSED, TOTAL_PASSED]


class WrongUserIdSigner(Sm2Signer):
    """Signs with the right key but the user id 'wrong user id' (pysmx computes Z with it)."""

    def __init__(self, ca: GmCertificateAuthority, serial: int) -> None:
        key = ca.private_key(serial)
        super().__init__(
            to_asn1_cert(ca.get(serial).certificate),
            key,
            SimpleCertificateStore.from_certs([to_asn1_cert(ca.issuing_certificate)]),
        )
        self._scalar = private_scalar(key.pkcs8())

    async def async_sign_raw(self, data, digest_algorithm, dry_run=False):
        if dry_run:
            return bytes(72)
        self.last = (data, pysmx_sign(self._scalar, data, b"wrong user id"))
        return self.last[1]


def test_a_signature_under_another_user_id_is_sig_crypto_failure(
    prepared_pdf, gm_ca, gm_seals, gm_tsa, gm_verify
):
    from signing.gm.tsa import GmInProcessTimeStamper

    field = PARTIES[0][0]
    signer = WrongUserIdSigner(gm_ca, gm_seals[field].serial)
    pdf = sign_pdf(
        prepared_pdf,
        SigningRequest(
            field=field,
            signer=signer,
            digest_algorithm="sm3",
            timestamper=GmInProcessTimeStamper(gm_tsa),
        ),
    )
    data, signature = signer.last
    point = gm_ca.private_key(gm_seals[field].serial).public_key.point
    assert openssl_verify(point, data, signature, distid="wrong user id")  # a real SM2 signature…
    assert not openssl_verify(point, data, signature)  # …for another user id
    (sig,) = gm_verify(pdf).signatures
    assert (sig.indication, sig.sub_indication) == (TOTAL_FAILED, "SIG_CRYPTO_FAILURE")


def test_an_sm2_certificate_from_an_unknown_root_is_no_certificate_chain_found(
    gm_three_signed, tmp_path
):
    stranger = GmCertificateAuthority.init(tmp_path, kek=KEK, root_passphrase=ROOT_PASSPHRASE)
    report = verify_pdf(
        gm_three_signed, trust_roots=[stranger.root_certificate], crls=[stranger.crl_der()]
    )
    assert report.indication == INDETERMINATE
    assert {s.sub_indication for s in report.signatures} == {"NO_CERTIFICATE_CHAIN_FOUND"}
    assert all(s.intact and not s.trusted for s in report.signatures)


def test_a_revoked_sm2_seal_is_revoked(prepared_pdf, gm_ca, gm_sign_as, gm_verify):
    seal = gm_ca.issue(organisation="已吊销的影视公司")
    pdf = gm_sign_as(prepared_pdf, PARTIES[0][0], seal, visible=False)
    # Revoked before it signed (long-term rules: a revocation after the signature timestamp
    # is weighed by its reason, see tests/signing/test_verify_long_term.py).
    gm_ca.revoke(
        seal.serial, "key_compromise", revoked_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    )
    (sig,) = gm_verify(pdf).signatures
    assert (sig.indication, sig.sub_indication, sig.revocation) == (
        TOTAL_FAILED,
        "REVOKED",
        "revoked",
    )


def test_sm2_signer_refuses_a_sha256_cms_digest(prepared_pdf, gm_ca, gm_seals):
    field = PARTIES[0][0]
    request = SigningRequest(field=field, signer=gm_signer(gm_ca, gm_seals[field].serial))
    request.level = PadesLevel.B_B
    with pytest.raises(PdfSigningError, match="SM3"):
        sign_pdf(prepared_pdf, request)


def test_an_sm2_and_an_ecdsa_signature_on_one_agreement_both_verify_with_their_algorithms(
    prepared_pdf, gm_ca, gm_seals, gm_sign_as, ca, seals, timestamper
):
    (yi, *_), (bing, *_) = PARTIES[0], PARTIES[1]
    pdf = gm_sign_as(prepared_pdf, yi, gm_seals[yi], certify=True, visible=False)
    pdf = sign_pdf(
        pdf,
        SigningRequest(
            field=bing, signer=ca_signer(ca, seals[bing].serial), timestamper=timestamper
        ),
    )
    report = verify_pdf(
        pdf,
        trust_roots=[gm_ca.root_certificate, ca.root_certificate],
        crls=[gm_ca.crl_der(), ca.crl_der()],
    )
    assert report.indication == TOTAL_PASSED, report.to_dict()
    assert [(s.algorithm, s.algorithm_name, s.timestamp_algorithm) for s in report.signatures] == [
        ("国密 SM2", "SM2/SM3", "SM2/SM3"),
        ("国际 ECDSA", "ECDSA P-256/SHA-256", "ECDSA P-256/SHA-256"),
    ]


def test_garbage_is_a_format_failure_not_an_exception(gm_verify):
    report = gm_verify(b"%PDF-1.7\n garbage")
    assert (report.readable, report.sub_indication) == (False, "FORMAT_FAILURE")
