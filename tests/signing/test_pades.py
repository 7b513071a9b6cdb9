from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from io import BytesIO

import pytest
from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from signing.errors import PdfSigningError, SignatureFieldError
from signing.pades import (
    PadesLevel,
    SigningRequest,
    async_sign_pdf,
    ca_signer,
    sign_pdf,
    signature_bytes_reserved,
    to_asn1_cert,
)
from signing.verify import TOTAL_PASSED, describe_zh, exit_code
from tests.signing.conftest import PARTIES


def test_pyhanko_sees_three_intact_trusted_signatures_with_only_form_filling_after(
    ca, three_signed
):
    reader = PdfFileReader(BytesIO(three_signed))
    sigs = reader.embedded_signatures
    assert [s.field_name for s in sigs] == [p[0] for p in PARTIES]
    vc = ValidationContext(
        trust_roots=[to_asn1_cert(ca.root_certificate)], crls=[ca.crl_der()], allow_fetching=False
    )
    for i, sig in enumerate(sigs):
        status = validate_pdf_signature(sig, vc)
        assert status.intact and status.valid and status.trusted, status.pretty_print_details()
        assert status.timestamp_validity is not None and status.timestamp_validity.valid
        expected = ModificationLevel.NONE if i == len(sigs) - 1 else ModificationLevel.FORM_FILLING
        assert status.modification_level == expected
        assert status.docmdp_ok
    assert sigs[0].docmdp_level == MDPPerm.FILL_FORMS


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler's pdfsig is not installed")
def test_pdfsig_reports_all_three_valid_and_last_covering_whole_document(tmp_path, three_signed):
    path = tmp_path / "signed.pdf"
    path.write_bytes(three_signed)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    assert out.count("Signature is Valid.") == 3
    blocks = re.split(r"Signature #\d+:", out)[1:]
    assert "Total document signed" in blocks[-1]
    assert "Not total document signed" in blocks[0]


def test_our_verifier_passes_the_three_party_document(verify, three_signed):
    report = verify(three_signed)
    assert report.indication == TOTAL_PASSED and exit_code(report) == 0
    assert [s.indication for s in report.signatures] == [TOTAL_PASSED] * 3
    first = report.signatures[0]
    assert first.signer.organisation == "杭州某某影视有限公司"
    assert first.timestamp is not None and first.certifying
    assert "party_bing" in first.modified_after
    assert report.signatures[-1].coverage == "ENTIRE_FILE"
    assert report.signatures[-1].modified_after is None
    d = report.to_dict()
    for key in ("indication", "sub_indication", "file_sha256", "file_sm3", "signatures"):
        assert key in d
    for key in (
        "field",
        "signer",
        "signed_at",
        "timestamp",
        "indication",
        "sub_indication",
        "intact",
        "trusted",
        "coverage",
        "modified_after",
        "revocation",
        "docmdp_ok",
        "revision",
    ):
        assert key in d["signatures"][0]
    assert describe_zh(report)[0].startswith("总体结论：验证通过")


@pytest.mark.parametrize("level", [PadesLevel.B_B, PadesLevel.B_LT, PadesLevel.B_LTA])
def test_each_pades_level_verifies(level, prepared_pdf, seals, sign_as, verify):
    signed = sign_as(prepared_pdf, "party_yi", seals["party_yi"], level=level, visible=False)
    report = verify(signed)
    assert report.indication == TOTAL_PASSED, report.to_dict()
    sig = report.signatures[0]
    assert (sig.timestamp is None) == (level == PadesLevel.B_B)
    if level == PadesLevel.B_LTA:
        assert report.signatures[-1].kind == "document_timestamp"
    if level in (PadesLevel.B_LT, PadesLevel.B_LTA):
        assert b"/DSS" in signed


def _assert_one_signature_appended(original: bytes, signed: bytes, verify) -> None:
    """``signed`` is ``original`` plus one incremental update filling party_yi with a signature
    that our verifier passes against the test CA's root."""
    assert signed != original and len(signed) > len(original)
    assert signed.startswith(original)  # incremental: every byte of the input is kept as is
    revisions = PdfFileReader(BytesIO(original)).xrefs.total_revisions
    assert PdfFileReader(BytesIO(signed)).xrefs.total_revisions == revisions + 1
    report = verify(signed)
    assert report.indication == TOTAL_PASSED and exit_code(report) == 0, report.to_dict()
    assert [(s.field, s.kind) for s in report.signatures] == [("party_yi", "signature")]
    sig = report.signatures[0]
    assert sig.intact and sig.trusted and sig.coverage == "ENTIRE_FILE"
    assert sig.revision == revisions and sig.timestamp is not None
    assert sig.signer is not None and sig.signer.organisation == "杭州某某影视有限公司"


def test_async_signing_works_inside_a_running_event_loop(
    ca, prepared_pdf, seals, timestamper, verify
):
    async def main() -> bytes:
        request = SigningRequest(
            field="party_yi",
            signer=ca_signer(ca, seals["party_yi"].serial),
            timestamper=timestamper,
        )
        return await async_sign_pdf(prepared_pdf, request)

    _assert_one_signature_appended(prepared_pdf, asyncio.run(main()), verify)


def test_sync_signing_works_when_called_from_a_running_loop(prepared_pdf, seals, sign_as, verify):
    async def main() -> bytes:
        return sign_as(prepared_pdf, "party_yi", seals["party_yi"], visible=False)

    _assert_one_signature_appended(prepared_pdf, asyncio.run(main()), verify)


def test_signing_an_already_signed_field_is_refused(three_signed, seals, sign_as):
    with pytest.raises(SignatureFieldError):
        sign_as(three_signed, "party_yi", seals["party_yi"])


def test_signing_an_unknown_field_is_refused(prepared_pdf, seals, sign_as):
    with pytest.raises(SignatureFieldError):
        sign_as(prepared_pdf, "party_ding", seals["party_yi"])


def test_only_the_first_signature_may_certify(prepared_pdf, seals, sign_as):
    once = sign_as(prepared_pdf, "party_yi", seals["party_yi"], visible=False)
    with pytest.raises(PdfSigningError):
        sign_as(once, "party_bing", seals["party_bing"], certify=True)


def test_b_t_without_timestamper_is_refused(ca, prepared_pdf, seals):
    from signing.pades import sign_pdf

    with pytest.raises(PdfSigningError):
        sign_pdf(
            prepared_pdf,
            SigningRequest(field="party_yi", signer=ca_signer(ca, seals["party_yi"].serial)),
        )


def test_prepare_puts_all_fields_in_one_revision_before_signing(prepared_pdf):
    reader = PdfFileReader(BytesIO(prepared_pdf))
    from pyhanko.sign.fields import enumerate_sig_fields

    assert sorted(name for name, _, _ in enumerate_sig_fields(reader)) == sorted(
        p[0] for p in PARTIES
    )
    assert reader.xrefs.total_revisions == 2


def test_seal_png_is_embedded_in_the_appearance(
    ca, prepared_pdf, seals, timestamper, font_cache, verify
):
    import struct
    import zlib

    from signing.appearance import SignatureAppearance
    from signing.pades import sign_pdf

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    w = h = 16
    rows = b"".join(b"\x00" + bytes([200, 0, 0, 255] * w) for _ in range(h))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    request = SigningRequest(
        field="party_yi",
        signer=ca_signer(ca, seals["party_yi"].serial),
        timestamper=timestamper,
        appearance=SignatureAppearance("杭州某某影视有限公司", "张三", seal_png=png),
        font_cache_dir=font_cache,
    )
    signed = sign_pdf(prepared_pdf, request)
    assert b"/SMask" in signed and b"/Subtype /Image" in signed
    assert verify(signed).indication == TOTAL_PASSED


@pytest.mark.parametrize("key_algorithm", ["ec-p256", "rsa-3072"])
@pytest.mark.parametrize("level", [PadesLevel.B_B, PadesLevel.B_T])
def test_signature_space_is_sized_from_key_chain_and_token_not_a_dry_run(
    key_algorithm, level, ca, prepared_pdf, timestamper, font_cache, verify
):
    seal = ca.issue(organisation="杭州某某影视有限公司", key_algorithm=key_algorithm)
    signer = ca_signer(ca, seal.serial)
    request = SigningRequest(field="party_yi", signer=signer, level=level, timestamper=timestamper)
    signed = sign_pdf(prepared_pdf, request)
    expected = asyncio.run(
        signature_bytes_reserved(signer, timestamper if level != PadesLevel.B_B else None, "sha256")
    )
    sig = PdfFileReader(BytesIO(signed)).embedded_signatures[0]
    contents = bytes(sig.sig_object["/Contents"])
    cms_len = len(cms.ContentInfo.load(contents).dump())
    # pyHanko's own estimate would reserve 1.5x a dry-run CMS; ours is the computed bound.
    assert expected is not None and len(contents) * 2 == expected
    assert cms_len <= len(contents) < cms_len + 1536
    assert verify(signed).indication == TOTAL_PASSED
