"""GB/T 38540-2020 SES_Seal / SES_Signature, checked by the independent DER reader in
ses_checker.py (shares nothing with signing.gm.ses)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization

from signing.errors import SigningError
from signing.gm.ses import SesSeal, SesSignature, build_seal, build_signature, pdf_signed_bytes
from tests.signing.conftest import PARTIES
from tests.signing.gm.ses_checker import check_seal, check_signature

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f4b1a00000000049454e44ae426082"
)


# ------------------------------------------------------------------------------- the tests
def _der(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def seal(gm_ca, gm_seals) -> tuple[bytes, bytes]:
    yi_cert = _der(gm_seals[PARTIES[0][0]].certificate)
    now = dt.datetime.now(dt.UTC)
    der = build_seal(
        es_id="3301000000001",
        name="杭州某某影视有限公司合同专用章",
        picture=PNG,
        picture_type="PNG",
        width_mm=40,
        height_mm=40,
        signer_certificates=[yi_cert],
        maker_certificate=_der(gm_ca.seal_maker_certificate),
        maker_key=gm_ca.seal_maker_private_key(),
        valid_start=now,
        valid_end=now + dt.timedelta(days=365),
        created=now,
    )
    return der, yi_cert


def test_ses_seal_round_trips_through_the_independent_checker(seal, gm_ca):
    der, yi_cert = seal
    found = check_seal(der)
    assert found["vid"] == "jingpin" and found["es_id"] == "3301000000001"
    assert found["name"] == "杭州某某影视有限公司合同专用章" and found["type"] == 1
    assert found["certs"] == [yi_cert]
    assert found["picture"] == ("PNG", PNG, 40, 40)
    assert found["maker"] == _der(gm_ca.seal_maker_certificate)
    assert found["valid"][1] - found["valid"][0] == dt.timedelta(days=365)
    assert SesSeal.load(der).dump(force=True) == der  # asn1crypto definitions re-encode it alike


def test_ses_signature_of_a_pdf_signature_round_trips_through_the_independent_checker(
    seal, gm_ca, gm_seals, gm_tsa, gm_three_signed
):
    seal_der, yi_cert = seal
    field = PARTIES[0][0]
    covered = pdf_signed_bytes(gm_three_signed, field)
    when = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC)
    der = build_signature(
        seal=seal_der,
        signed_bytes=covered,
        signer_certificate=yi_cert,
        signer_key=gm_ca.private_key(gm_seals[field].serial),
        property_info=f"PDF /{field}",
        time_info=when,
        timestamp_authority=gm_tsa,
    )
    found = check_signature(der, covered, seal_der)
    assert found == {"time": when, "property": f"PDF /{field}", "cert": yi_cert, "stamped": True}
    assert SesSignature.load(der).dump(force=True) == der


def test_the_checker_catches_a_changed_document_and_a_changed_seal(seal, gm_ca, gm_seals):
    seal_der, yi_cert = seal
    key = gm_ca.private_key(gm_seals[PARTIES[0][0]].serial)
    der = build_signature(
        seal=seal_der, signed_bytes=b"original", signer_certificate=yi_cert, signer_key=key,
        property_info="x",
    )  # fmt: skip
    with pytest.raises(AssertionError, match="dataHash"):
        check_signature(der, b"changed", seal_der)
    tampered = bytearray(seal_der)
    at = tampered.index("杭州".encode())
    tampered[at + 2] ^= 0x01
    with pytest.raises(AssertionError):
        check_seal(bytes(tampered))


def test_a_certificate_the_seal_does_not_list_cannot_sign_with_it(seal, gm_ca, gm_seals):
    seal_der, _ = seal
    other = gm_seals[PARTIES[1][0]]
    with pytest.raises(SigningError, match="证书列表"):
        build_signature(
            seal=seal_der,
            signed_bytes=b"x",
            signer_certificate=_der(other.certificate),
            signer_key=gm_ca.private_key(other.serial),
            property_info="x",
        )
