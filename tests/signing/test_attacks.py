"""Tampered and hostile documents get the right ETSI indication (and never crash the verifier)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import struct
import subprocess
import sys
import zlib
from io import BytesIO
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.pades import PadesLevel
from signing.pki import CertificateAuthority
from signing.verify import INDETERMINATE, TOTAL_FAILED, TOTAL_PASSED, exit_code, verify_pdf
from tests.signing.pdfgen import make_pdf


def _incremental(data: bytes, change) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(data))
    change(writer)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _first_page(writer):
    return writer.root["/Pages"]["/Kids"][0]


def test_byte_flipped_inside_signed_range_is_hash_failure(verify, three_signed):
    pos = three_signed.index(b"Three-party")
    tampered = three_signed[:pos] + b"X" + three_signed[pos + 1 :]
    report = verify(tampered)
    assert report.indication == TOTAL_FAILED and report.sub_indication == "HASH_FAILURE"
    assert exit_code(report) == 1


def test_incremental_update_changing_page_content_fails_and_says_so(verify, three_signed):
    def change(w):
        page = _first_page(w)
        stream = generic.StreamObject(
            stream_data=b"BT /F1 14 Tf 72 760 Td (Amount: 9,999,999) Tj ET"
        )
        page["/Contents"] = w.add_object(stream)
        w.update_container(page)

    report = verify(_incremental(three_signed, change))
    assert report.indication == TOTAL_FAILED
    last = report.signatures[-1]
    assert last.sub_indication == "SIG_CONSTRAINTS_FAILURE"
    assert last.modified_after == "第 1 页的内容被替换"  # from the revisions, in Chinese


def test_annotation_overlaid_after_signing_fails(verify, three_signed):
    def change(w):
        page = _first_page(w)
        annot = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Square"),
                pdf_name("/Rect"): generic.ArrayObject(
                    [generic.NumberObject(x) for x in (60, 740, 400, 790)]
                ),
                pdf_name("/IC"): generic.ArrayObject([generic.FloatObject(1)] * 3),
            }
        )
        annots = page.get("/Annots", generic.ArrayObject())
        annots = generic.ArrayObject(list(annots) + [w.add_object(annot)])
        page["/Annots"] = annots
        w.update_container(page)

    report = verify(_incremental(three_signed, change))
    assert report.indication == TOTAL_FAILED
    assert report.signatures[-1].modified_after is not None


def test_shadow_hide_and_replace_of_an_object_fails(verify, three_signed):
    """Overwrite the existing page content stream object in place (same object number)."""

    def change(w):
        page = _first_page(w)
        ref = page.raw_get("/Contents")
        replacement = generic.StreamObject(
            stream_data=b"BT /F1 14 Tf 72 760 Td (Replaced text) Tj ET"
        )
        w.mark_update(ref)
        w.objects[(ref.generation, ref.idnum)] = replacement

    report = verify(_incremental(three_signed, change))
    assert report.indication == TOTAL_FAILED
    assert all(s.indication == TOTAL_FAILED for s in report.signatures)


def test_shadow_replacing_a_signature_appearance_fails(verify, three_signed):
    def change(w):
        from pyhanko.sign.fields import enumerate_sig_fields

        for name, _, field_ref in enumerate_sig_fields(w.prev):
            if name == "party_yi":
                widget = field_ref.get_object()
                ap = generic.StreamObject(
                    {
                        pdf_name("/BBox"): generic.ArrayObject(
                            [generic.NumberObject(v) for v in (0, 0, 210, 80)]
                        ),
                        pdf_name("/Subtype"): pdf_name("/Form"),
                        pdf_name("/Type"): pdf_name("/XObject"),
                    },
                    stream_data=b"",
                )
                widget["/AP"] = generic.DictionaryObject({pdf_name("/N"): w.add_object(ap)})
                w.update_container(widget)

    report = verify(_incremental(three_signed, change))
    assert report.indication == TOTAL_FAILED


def test_revoked_signer_is_revoked(ca, prepared_pdf, sign_as, verify):
    cert = ca.issue(organisation="被吊销机构")
    signed = sign_as(prepared_pdf, "party_yi", cert, visible=False)
    ca.revoke(cert.serial, "key_compromise")
    report = verify(signed)
    assert report.indication == TOTAL_FAILED and report.sub_indication == "REVOKED"
    assert report.signatures[0].revocation == "revoked"


def test_expired_certificate_is_indeterminate(ca, prepared_pdf, sign_as, verify):
    now = dt.datetime.now(dt.UTC)
    cert = ca.issue(
        organisation="过期机构",
        not_before=now - dt.timedelta(days=10),
        not_after=now - dt.timedelta(days=1),
    )
    signed = sign_as(prepared_pdf, "party_yi", cert, level=PadesLevel.B_B, visible=False)
    report = verify(signed)
    assert report.indication == INDETERMINATE
    assert report.sub_indication in {"OUT_OF_BOUNDS_NO_POE", "EXPIRED", "OUT_OF_BOUNDS_NOT_REVOKED"}
    assert exit_code(report) == 2


def test_unknown_root_is_no_certificate_chain_found(tmp_path, three_signed):
    stranger = CertificateAuthority.init(tmp_path / "other", kek=b"x" * 32, root_passphrase=b"pw")
    report = verify_pdf(three_signed, trust_roots=[stranger.root_certificate])
    assert report.indication == INDETERMINATE
    assert report.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert not any(s.trusted for s in report.signatures)


def test_truncated_file_does_not_pass(verify, three_signed):
    report = verify(three_signed[: len(three_signed) - 300])
    assert report.indication != TOTAL_PASSED
    assert exit_code(report) in (1, 3)


def test_png_renamed_pdf_is_not_readable():
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + b"\x00" * 17
    report = verify_pdf(png, trust_roots=[])
    assert not report.readable and report.sub_indication == "FORMAT_FAILURE"
    assert exit_code(report) == 3


def test_empty_file_is_not_readable():
    report = verify_pdf(b"", trust_roots=[])
    assert not report.readable and exit_code(report) == 3


def test_unsigned_pdf_is_distinguishable_from_unreadable():
    report = verify_pdf(make_pdf(), trust_roots=[])
    assert report.readable and not report.signatures and exit_code(report) == 3
    assert report.sub_indication == "SIGNED_DATA_NOT_FOUND"


def test_encrypted_pdf_is_reported_as_encrypted():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(BytesIO(make_pdf())).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner")
    buf = BytesIO()
    writer.write(buf)
    report = verify_pdf(buf.getvalue(), trust_roots=[])
    assert not report.readable and "encrypted" in (report.message or "")
    assert exit_code(report) == 3


def test_contents_that_is_not_cms_is_format_failure(verify, three_signed):
    match = re.search(rb"/Contents <([0-9a-fA-F]+)>", three_signed)
    assert match is not None
    start, end = match.span(1)
    junk = b"41" * ((end - start) // 2)
    tampered = three_signed[:start] + junk + three_signed[end:]
    report = verify(tampered)
    assert report.indication == TOTAL_FAILED
    assert report.signatures[0].sub_indication == "FORMAT_FAILURE"


def test_byte_range_not_covering_the_file_fails(verify, three_signed):
    matches = list(re.finditer(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+)\s*\]", three_signed))
    last = matches[-1]
    a, b, c, d = (int(x) for x in last.groups())
    replacement = b"/ByteRange [%d %d %d %d" % (a, b, c, d - 100)
    replacement = replacement.ljust(len(last.group(0)) - 1) + b"]"
    tampered = three_signed[: last.start()] + replacement + three_signed[last.end() :]
    assert len(tampered) == len(three_signed)
    report = verify(tampered)
    assert report.indication == TOTAL_FAILED
    assert report.signatures[-1].indication == TOTAL_FAILED


def test_junk_appended_after_last_revision_fails(verify, three_signed):
    report = verify(
        three_signed + b"\n% appended junk that is not an incremental update\n1 0 obj\n"
    )
    assert report.indication == TOTAL_FAILED
    assert "不是有效的增量更新" in report.signatures[-1].modified_after


# Hostile input is verified in a child process with an address-space limit (RLIMIT_AS) and a wall
# clock bound, so a verifier that inflated a bomb or recursed without end would fail the test (a
# MemoryError, a crash or a timeout) instead of eating the shared test machine.
_MIB = 1 << 20
_BOUNDED_VERIFY = r"""
import json, resource, sys, time
limit = int(sys.argv[2]) * (1 << 20)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from signing.verify import VerificationLimits, exit_code, verify_pdf
data = open(sys.argv[1], "rb").read()
root, crl = open(sys.argv[1] + ".root", "rb").read(), open(sys.argv[1] + ".crl", "rb").read()
peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.monotonic()
report = verify_pdf(
    data, trust_roots=[root], crls=[crl],
    limits=VerificationLimits(timeout_seconds=float(sys.argv[3])),
)
elapsed = time.monotonic() - start
print(json.dumps({
    "report": report.to_dict(),
    "exit_code": exit_code(report),
    "elapsed": elapsed,
    "peak_rss_growth_mib": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024,
}))
"""


def _verify_bounded(ca, tmp_path, pdf: bytes, *, memory_mib: int = 768, seconds: float = 20.0):
    """verify_pdf(pdf) as the ``verify`` fixture runs it, but in a child limited to
    ``memory_mib`` of address space and ``seconds`` (verifier timeout; the child gets twice that)."""
    path = tmp_path / "hostile.pdf"
    path.write_bytes(pdf)
    (tmp_path / "hostile.pdf.root").write_bytes(
        ca.root_certificate.public_bytes(serialization.Encoding.PEM)
    )
    (tmp_path / "hostile.pdf.crl").write_bytes(ca.crl_der())
    done = subprocess.run(
        [sys.executable, "-c", _BOUNDED_VERIFY, str(path), str(memory_mib), str(seconds)],
        capture_output=True,
        text=True,
        timeout=2 * seconds + 30,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["elapsed"] < seconds, result
    return result


def _deflate_then_zeros(prefix: bytes, zero_mib: int) -> bytes:
    """zlib data for ``prefix + bytes(zero_mib MiB)``, built without holding the zeros in memory:
    after a full flush every MiB of zeros compresses to the same bytes."""
    c = zlib.compressobj(9)
    out = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    zeros = bytes(_MIB)
    chunk = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    assert c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH) == chunk
    final_block = c.flush()[:-4]  # drop the Adler-32 of what c saw; the right one follows
    adler = zlib.adler32(prefix)
    for _ in range(zero_mib):
        adler = zlib.adler32(zeros, adler)
    return out + chunk * zero_mib + final_block + adler.to_bytes(4, "big")


def _catalog_in_object_stream(base: bytes, *, extra: bytes = b"", zero_mib: int = 0) -> bytes:
    """An incremental update that rewrites the catalog (plus ``extra`` entries) inside an object
    stream padded with ``zero_mib`` MiB of NULs, then Flate-compressed again and again until it is
    tiny. Reading the document means decoding that stream: with padding it is a compression bomb.
    """
    reader = PdfFileReader(BytesIO(base))
    root = reader.root_ref.idnum
    buf = BytesIO()
    reader.root.write_to_stream(buf)
    catalog = buf.getvalue()
    if extra:
        catalog = catalog[: catalog.rindex(b">>")] + b" " + extra + b" >>"
    size = int(reader.trailer["/Size"])
    prev = int(re.findall(rb"startxref\s+(\d+)", base)[-1])
    stm, xref = size, size + 1
    header = b"%d 0 " % root
    data = _deflate_then_zeros(header + catalog, zero_mib)
    layers = 1
    while len(data) > 1024:
        data = zlib.compress(data, 9)
        layers += 1
    filters = b" ".join([b"/FlateDecode"] * layers)
    out = bytearray(base if base.endswith(b"\n") else base + b"\n")
    stm_offset = len(out)
    out += b"%d 0 obj\n<< /Type /ObjStm /N 1 /First %d /Filter [%s] /Length %d >>\nstream\n" % (
        stm,
        len(header),
        filters,
        len(data),
    )
    out += data + b"\nendstream\nendobj\n"
    xref_offset = len(out)
    rows = b"".join(
        (
            b"\x02" + stm.to_bytes(4, "big") + b"\x00\x00",  # catalog: object 0 of the stream
            b"\x01" + stm_offset.to_bytes(4, "big") + b"\x00\x00",
            b"\x01" + xref_offset.to_bytes(4, "big") + b"\x00\x00",
        )
    )
    out += (
        b"%d 0 obj\n<< /Type /XRef /Size %d /Root %d 0 R /Prev %d /Index [%d 1 %d 2] /W [1 4 2]"
        b" /Length %d >>\nstream\n" % (xref, xref + 1, root, prev, root, stm, len(rows))
    )
    out += rows + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(out)


def test_deeply_nested_catalog_is_format_failure_within_time_and_memory_bounds(
    ca, tmp_path, verify, three_signed
):
    shallow = verify(_catalog_in_object_stream(three_signed, extra=b"/Deep [[[]]]"))
    assert shallow.readable and len(shallow.signatures) == 3  # read fine, the change is caught
    assert shallow.signatures[-1].sub_indication == "SIG_CONSTRAINTS_FAILURE"
    depth = 100_000
    hostile = _catalog_in_object_stream(three_signed, extra=b"/Deep " + b"[" * depth + b"]" * depth)
    result = _verify_bounded(ca, tmp_path, hostile)
    report = result["report"]
    assert not report["readable"] and report["signatures"] == []
    assert report["indication"] == TOTAL_FAILED and report["sub_indication"] == "FORMAT_FAILURE"
    assert report["message"] == "PDF structure nested too deeply"
    assert result["exit_code"] == 3


def test_compression_bomb_is_refused_within_time_and_memory_bounds(
    ca, tmp_path, verify, three_signed
):
    assert zlib.decompress(_deflate_then_zeros(b"%", 3)) == b"%" + bytes(3 * _MIB)
    assert verify(_catalog_in_object_stream(three_signed)).indication == TOTAL_PASSED
    bomb = _catalog_in_object_stream(three_signed, zero_mib=1024)  # 1 GiB of NULs, decoded
    assert len(bomb) - len(three_signed) < 2048
    result = _verify_bounded(ca, tmp_path, bomb, memory_mib=768)
    report = result["report"]
    assert not report["readable"] and report["signatures"] == []
    assert report["indication"] == TOTAL_FAILED and report["sub_indication"] == "FORMAT_FAILURE"
    assert report["message"].startswith("not a readable PDF: PdfDecodeLimitError"), report
    assert result["exit_code"] == 3
    assert result["peak_rss_growth_mib"] < 64, result  # 1 GiB was never inflated


def test_oversized_file_is_refused_quickly():
    from signing.verify import VerificationLimits

    report = verify_pdf(
        b"%PDF-1.7\n" + b" " * 2000, trust_roots=[], limits=VerificationLimits(max_bytes=1000)
    )
    assert not report.readable and "larger" in report.message
