"""A corpus of hostile and malformed files, generated (never committed) from a real signed
agreement and from hand-written PDFs. Each entry: (name, bytes, may_pass)."""

from __future__ import annotations

import random
import re
import struct
import zlib
from io import BytesIO

from tests.signing.pdfgen import make_pdf

Entry = tuple[str, bytes, bool]


def _gaps(data: bytes) -> list[tuple[int, int]]:
    return [
        (int(m.group(1)) + int(m.group(2)), int(m.group(3)))
        for m in re.finditer(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+)", data)
    ]


def _in_gap(pos: int, gaps: list[tuple[int, int]]) -> bool:
    return any(a <= pos < b for a, b in gaps)


def _pdf_with(obj_body: bytes, extra_objects: bytes = b"") -> bytes:
    return (
        b"%PDF-1.7\n1 0 obj\n"
        + obj_body
        + b"\nendobj\n"
        + extra_objects
        + b"trailer\n<< /Root 1 0 R /Size 9 >>\n%%EOF\n"
    )


def _pages(count: int) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(width=595, height=842)
    buf = BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _encrypted() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(BytesIO(make_pdf())).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner")
    buf = BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _bomb(megabytes: int) -> bytes:
    bomb = zlib.compress(b"\x00" * (megabytes * 1024 * 1024), 9)
    pdf = make_pdf().replace(b"/Type /Catalog", b"/Type /Catalog /Bomb 99 0 R")
    return (
        pdf.replace(b"%%EOF", b"", 1)
        + b"99 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(bomb)
        + bomb
        + b"\nendstream\nendobj\n%%EOF\n"
    )


def _byte_range(signed: bytes, delta: int, which: int = -1) -> bytes:
    m = list(re.finditer(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+)\s*\]", signed))[which]
    a, b, c, d = (int(x) for x in m.groups())
    rep = b"/ByteRange [%d %d %d %d" % (a, b, c, max(0, d + delta))
    rep = rep.ljust(len(m.group(0)) - 1) + b"]"
    return signed[: m.start()] + rep[: len(m.group(0))] + signed[m.end() :]


def _contents(signed: bytes, filler: bytes, which: int = 0) -> bytes:
    m = list(re.finditer(rb"/Contents <([0-9a-fA-F]+)>", signed))[which]
    start, end = m.span(1)
    junk = (filler * (end - start))[: end - start]
    return signed[:start] + junk + signed[end:]


def _self_signed_foreign() -> bytes:
    """An ordinary foreign PDF: signed (B-B) with a self-signed certificate nobody trusts."""
    import datetime as dt

    from asn1crypto import keys as asn1_keys
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from signing.pades import FieldSpec, PadesLevel, SigningRequest, prepare, sign_pdf, to_asn1_cert

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Foreign Signer")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = signers.SimpleSigner(
        signing_cert=to_asn1_cert(cert),
        signing_key=asn1_keys.PrivateKeyInfo.load(der),
        cert_registry=SimpleCertificateStore(),
    )
    pdf = prepare(make_pdf(), [FieldSpec("Signature1", 0, (60, 80, 260, 160))])
    return sign_pdf(pdf, SigningRequest(field="Signature1", signer=signer, level=PadesLevel.B_B))


def _incremental(signed: bytes, change: str) -> bytes:
    """A later revision that replaces page 1's content or adds an annotation over it."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0]
    if change == "content":
        stream = generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 760 Td (9,999,999) Tj ET")
        page["/Contents"] = writer.add_object(stream)
    else:
        annot = generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/Square"),
                generic.pdf_name("/Rect"): generic.ArrayObject(
                    [generic.NumberObject(x) for x in (60, 740, 400, 790)]
                ),
            }
        )
        annots = list(page.get("/Annots", generic.ArrayObject()))
        page["/Annots"] = generic.ArrayObject([*annots, writer.add_object(annot)])
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def build(signed: bytes, revisions: list[bytes]) -> list[Entry]:
    rng = random.Random(20260615)
    gaps = _gaps(signed)
    out: list[Entry] = []
    add = out.append
    # --- not PDFs at all
    add(("empty.pdf", b"", False))
    add(
        (
            "png-named.pdf",
            b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + b"\x00" * 17,
            False,
        )
    )
    add(("header-only.pdf", b"%PDF-1.7\n", False))
    add(("random-64k.pdf", bytes(rng.getrandbits(8) for _ in range(65536)), False))
    add(("zip-named.pdf", b"PK\x03\x04" + b"\x00" * 200, False))
    add(("html-named.pdf", b"<html><body>not a pdf</body></html>", False))
    add(("nul-bytes.pdf", b"\x00" * 10000, False))
    # --- truncations of the signed agreement
    for frac in [i / 25 for i in range(1, 25)]:
        add((f"truncated-{frac:.2f}.pdf", signed[: int(len(signed) * frac)], False))
    add(("truncated-minus-1.pdf", signed[:-1], True))  # only the final EOL may go
    add(("truncated-minus-20.pdf", signed[:-20], False))
    # --- single-byte mutations inside the signed bytes of the final revision
    positions = [p for p in rng.sample(range(16, len(signed) - 8), 200) if not _in_gap(p, gaps)][
        :40
    ]
    for p in positions:
        mutated = bytearray(signed)
        mutated[p] ^= 1 << rng.randrange(8)
        add((f"flip-{p}.pdf", bytes(mutated), False))
    # --- broken cross-reference tables
    add(("xref-keyword-broken.pdf", signed.replace(b"xref", b"xreF"), False))
    add(("startxref-wrong.pdf", re.sub(rb"startxref\s+(\d+)", b"startxref\n1", signed), False))
    add(
        (
            "startxref-huge.pdf",
            re.sub(rb"startxref\s+(\d+)", b"startxref\n999999999999", signed),
            False,
        )
    )
    add(("trailer-removed.pdf", signed.replace(b"trailer", b"tr@iler"), False))
    add(("eof-removed.pdf", signed.replace(b"%%EOF", b"%%EOX"), False))
    bad_xref = re.sub(
        rb"(\d{10}) 00000 n", lambda m: b"%010d 00000 n" % (int(m.group(1)) + 7), make_pdf()
    )
    add(("xref-offsets-shifted.pdf", bad_xref, True))  # unsigned, may be repaired: no signature
    # --- reference loops and deep nesting
    add(
        (
            "pages-loop.pdf",
            _pdf_with(
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"2 0 obj\n<< /Type /Pages /Kids [2 0 R] /Count 1 /Parent 2 0 R >>\nendobj\n",
            ),
            True,
        )
    )
    add(
        (
            "self-reference.pdf",
            _pdf_with(b"<< /Type /Catalog /Pages 1 0 R /AcroForm 1 0 R >>"),
            True,
        )
    )
    add(
        (
            "acroform-loop.pdf",
            _pdf_with(
                b"<< /Type /Catalog /AcroForm << /Fields [2 0 R] >> >>",
                b"2 0 obj\n<< /FT /Sig /T (a) /Kids [2 0 R] /Parent 2 0 R /V 2 0 R >>\nendobj\n",
            ),
            True,
        )
    )
    add(("deep-array.pdf", _pdf_with(b"[" * 100_000 + b"]" * 100_000), True))
    add(("deep-dict.pdf", _pdf_with(b"<< /A " * 50_000 + b"1" + b" >>" * 50_000), True))
    add(
        (
            "length-loop.pdf",
            _pdf_with(
                b"<< /Type /Catalog >>",
                b"2 0 obj\n<< /Length 2 0 R >>\nstream\nabc\nendstream\nendobj\n",
            ),
            True,
        )
    )
    # --- bombs and size
    add(("flate-bomb-200mb.pdf", _bomb(200), True))
    add(("pages-5000.pdf", _pages(5000), True))
    add(("many-eof-markers.pdf", signed + b"\n%%EOF\n" * 5000, False))
    add(
        (
            "objstm-huge-n.pdf",
            _pdf_with(
                b"<< /Type /Catalog >>",
                b"2 0 obj\n<< /Type /ObjStm /N 999999999 /First 10 /Length 5 >>\nstream\nhello\nendstream\nendobj\n",
            ),
            True,
        )
    )
    # --- encryption
    add(("encrypted.pdf", _encrypted(), False))
    # --- signature dictionaries that lie
    add(("byterange-short.pdf", _byte_range(signed, -100), False))
    add(("byterange-long.pdf", _byte_range(signed, +100000), False))
    add(("byterange-first-short.pdf", _byte_range(signed, -50, 0), False))
    add(("contents-not-cms.pdf", _contents(signed, b"41"), False))
    add(("contents-zeros.pdf", _contents(signed, b"0"), False))
    add(("contents-last-not-cms.pdf", _contents(signed, b"ff", -1), False))
    add(
        (
            "byterange-negative.pdf",
            re.sub(rb"/ByteRange \[0 ", b"/ByteRange [-9", signed, count=1),
            False,
        )
    )
    add(
        (
            "subfilter-unknown.pdf",
            signed.replace(b"/ETSI.CAdES.detached", b"/ETSI.CAdES.detachex", 1),
            False,
        )
    )
    add(("junk-appended.pdf", signed + b"\n% junk\n1 0 obj\n", False))
    # --- revisions glued together in the wrong order / duplicated
    add(("revisions-concatenated.pdf", revisions[1] + revisions[2], False))
    add(("signed-twice.pdf", signed + signed, False))
    # --- ordinary foreign files and later changes pyHanko logs about
    add(("foreign-self-signed.pdf", _self_signed_foreign(), False))
    add(("content-replaced-after-signing.pdf", _incremental(signed, "content"), False))
    add(("annotation-added-after-signing.pdf", _incremental(signed, "annotation"), False))
    # --- the genuine revisions (controls): partially signed revisions pass too
    for i, rev in enumerate(revisions[1:], start=1):
        add((f"genuine-revision-{i}.pdf", rev, True))
    return out
