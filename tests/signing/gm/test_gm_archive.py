"""Archive form (PAdES B-LTA) of an SM2-signed agreement: pyHanko gathers the SM2 chains and
CRL when its validation context checks SM2 (GmSignatureValidator), the document timestamp is an
SM2 token over an SM3 digest, the verifier passes the archive now and after the seals expired,
and a renewal appends a second SM2 document timestamp that validates too."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from asn1crypto import crl as asn1_crl
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore

from signing.archive import ArchiveTrust, archive_pdf, renew_archive
from signing.errors import PdfSigningError
from signing.gm.pki import GmCertificateAuthority
from signing.gm.tsa import GmInProcessTimeStamper, GmTimestampAuthority
from signing.gm.validation import GmSignatureValidator
from signing.pades import to_asn1_cert
from signing.verify import TOTAL_PASSED, verify_pdf

SM3 = "1.2.156.10197.1.401"
SM2_WITH_SM3 = "1.2.156.10197.1.501"


def _trust(ca: GmCertificateAuthority, tsa: GmTimestampAuthority, **kw: object) -> ArchiveTrust:
    return ArchiveTrust(
        [ca.root_certificate],
        [ca.crl_der()],
        [ca.issuing_certificate, *tsa.certificates],
        signature_validator=GmSignatureValidator(),
        digest_algorithm="sm3",
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def gm_archived(gm_three_signed: bytes, gm_ca, gm_tsa) -> bytes:
    return archive_pdf(gm_three_signed, GmInProcessTimeStamper(gm_tsa), _trust(gm_ca, gm_tsa))


def test_the_sm2_archive_has_dss_with_vri_per_signature_and_an_sm2_document_timestamp(
    gm_three_signed: bytes, gm_archived: bytes, gm_ca
) -> None:
    assert gm_archived.startswith(gm_three_signed)  # the parties' signatures are untouched
    reader = PdfFileReader(BytesIO(gm_archived))
    dss = DocumentSecurityStore.read_dss(reader)
    for sig in reader.embedded_regular_signatures:
        vri_key = DocumentSecurityStore.sig_content_identifier(sig.pkcs7_content.hex().encode())
        assert vri_key in dss.vri_entries, sig.field_name
    dss_certs = {c.dump() for c in dss.load_certs()}
    for needed in (gm_ca.root_certificate, gm_ca.issuing_certificate, gm_ca.tsa_certificate):
        assert to_asn1_cert(needed).dump() in dss_certs
    crls = [asn1_crl.CertificateList.load(ref.get_object().data) for ref in dss.crls]
    assert {c.issuer.dump() for c in crls} == {
        to_asn1_cert(gm_ca.issuing_certificate).subject.dump()
    }
    (stamp,) = reader.embedded_timestamp_signatures
    assert stamp.signer_info["signature_algorithm"]["algorithm"].dotted == SM2_WITH_SM3
    imprint = stamp.signed_data["encap_content_info"]["content"].parsed["message_imprint"]
    assert imprint["hash_algorithm"]["algorithm"].dotted == SM3


def test_the_sm2_archive_passes_now_and_three_years_on_after_the_seals_expired(
    gm_archived: bytes, gm_verify, gm_ca
) -> None:
    now = gm_verify(gm_archived)
    assert now.indication == TOTAL_PASSED
    kinds = [s.kind for s in now.signatures]
    assert kinds == ["signature"] * 3 + ["document_timestamp"]
    later = verify_pdf(
        gm_archived,
        trust_roots=[gm_ca.root_certificate],
        crls=[gm_ca.crl_der()],
        at=dt.datetime.now(dt.UTC) + dt.timedelta(days=3 * 365),
    )
    assert later.indication == TOTAL_PASSED, [s.indication for s in later.signatures]


def test_an_sm2_archive_renewed_carries_two_sm2_timestamps_and_still_passes(
    gm_archived: bytes, gm_verify, gm_ca, gm_tsa
) -> None:
    renewed = renew_archive(gm_archived, GmInProcessTimeStamper(gm_tsa), _trust(gm_ca, gm_tsa))
    assert renewed.startswith(gm_archived)
    stamps = PdfFileReader(BytesIO(renewed)).embedded_timestamp_signatures
    assert len(stamps) == 2
    assert all(
        s.signer_info["signature_algorithm"]["algorithm"].dotted == SM2_WITH_SM3 for s in stamps
    )
    assert gm_verify(renewed).indication == TOTAL_PASSED


def test_without_the_sm2_validator_the_sm2_chains_cannot_be_gathered(
    gm_three_signed: bytes, gm_ca, gm_tsa
) -> None:
    plain = ArchiveTrust(
        [gm_ca.root_certificate],
        [gm_ca.crl_der()],
        [gm_ca.issuing_certificate, *gm_tsa.certificates],
        digest_algorithm="sm3",
    )
    with pytest.raises(PdfSigningError):
        archive_pdf(gm_three_signed, GmInProcessTimeStamper(gm_tsa), plain)
