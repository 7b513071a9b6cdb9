"""PAdES signing (PDF 电子签章) with pyHanko.

Flow for a three-party agreement::

    prepared = prepare(pdf, [FieldSpec("party_yi", 1, (60, 80, 260, 160)), ...])
    signed = sign_pdf(prepared, field="party_yi", signer=ca_signer(ca, serial), certify=True, ...)
    signed = sign_pdf(signed, field="party_bing", ...)   # each later signature: incremental update

``prepare`` adds every signature field in one revision before any signature, so later signatures
only fill fields (allowed by DocMDP P=2 and recognised as such by difference analysis).
Both an async API (for use inside a running event loop, e.g. FastAPI) and a sync API exist.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields as pdf_fields
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from . import hexstrings
from .appearance import SignatureAppearance, appearance_text, stamp_style
from .errors import PdfSigningError, SignatureFieldError
from .pki import CertificateAuthority

__all__ = [
    "PadesLevel",
    "FieldSpec",
    "SigningRequest",
    "prepare",
    "sign_pdf",
    "async_sign_pdf",
    "ca_signer",
    "to_asn1_cert",
    "signing_validation_context",
    "signature_bytes_reserved",
    "run_sync",
]

# pyHanko reads hex strings one Python call per byte (a fifth of verification): every module that
# reads PDFs imports this one, so the faster reader is installed before any parsing.
hexstrings.install()

T = TypeVar("T")


class PadesLevel(enum.StrEnum):
    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"


@dataclass(frozen=True)
class FieldSpec:
    """A signature field: ``page`` is 0-based (negative counts from the end), ``box`` is
    ``(x1, y1, x2, y2)`` in PDF points from the lower-left corner (an empty box = invisible)."""

    name: str
    page: int
    box: tuple[float, float, float, float] | None


def to_asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def ca_signer(ca: CertificateAuthority, serial: int | str) -> signers.SimpleSigner:
    """A pyHanko signer for a certificate whose key the CA keeps (decrypted with the KEK)."""
    issued = ca.get(serial)
    key = ca.private_key(serial)
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return signers.SimpleSigner(
        signing_cert=to_asn1_cert(issued.certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(der),
        cert_registry=SimpleCertificateStore.from_certs(
            [to_asn1_cert(ca.issuing_certificate), to_asn1_cert(ca.root_certificate)]
        ),
    )


def signing_validation_context(
    trust_roots: Iterable[x509.Certificate],
    crls: Iterable[bytes] = (),
    other_certs: Iterable[x509.Certificate] = (),
) -> ValidationContext:
    """Offline validation context (no fetching) used to gather revocation data for B-LT/B-LTA."""
    return ValidationContext(
        trust_roots=[to_asn1_cert(c) for c in trust_roots],
        other_certs=[to_asn1_cert(c) for c in other_certs],
        crls=[asn1_crl.CertificateList.load(c) for c in crls],
        allow_fetching=False,
        revocation_mode="hard-fail",
    )


def _reader(pdf_bytes: bytes) -> IncrementalPdfFileWriter:
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf_bytes), strict=False)
    except Exception as exc:
        raise PdfSigningError(f"not a readable PDF: {exc}") from exc
    if writer.prev.encrypted:
        raise PdfSigningError("encrypted PDFs cannot be signed here")
    return writer


def prepare(pdf_bytes: bytes, fields: Sequence[FieldSpec]) -> bytes:
    """Add all signature fields (one incremental revision, before any signature)."""
    writer = _reader(pdf_bytes)
    existing = {name for name, _, _ in pdf_fields.enumerate_sig_fields(writer.prev)}
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise SignatureFieldError("duplicate signature field names")
    page_count = int(writer.root["/Pages"]["/Count"])
    for spec in fields:
        if spec.name in existing:
            continue
        if not -page_count <= spec.page < page_count:
            raise SignatureFieldError(f"field {spec.name}: page {spec.page} does not exist")
        pdf_fields.append_signature_field(
            writer,
            SigFieldSpec(
                sig_field_name=spec.name,
                on_page=spec.page % page_count,
                box=tuple(int(round(v)) for v in spec.box) if spec.box else None,  # type: ignore[arg-type]
            ),
        )
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


@dataclass
class SigningRequest:
    """Everything :func:`async_sign_pdf` needs besides the document.

    ``trust_roots`` and ``crls`` feed the offline validation used to embed revocation data
    (B-LT / B-LTA); ``timestamper`` is required from B-T up (in-process TSA or external URL).
    """

    field: str
    signer: signers.Signer
    level: PadesLevel = PadesLevel.B_T
    timestamper: TimeStamper | None = None
    certify: bool = False
    appearance: SignatureAppearance | None = None
    font_cache_dir: str | Path | None = None
    trust_roots: Sequence[x509.Certificate] = ()
    crls: Sequence[bytes] = ()
    reason: str | None = None
    location: str | None = None
    extra: dict[str, Any] = dataclass_field(default_factory=dict)
    # CMS digest: "sm3" for an SM2 signer (signing.gm.signer), which refuses any other.
    digest_algorithm: str = "sha256"


def _check_signing_certificate(cert: asn1_x509.Certificate | None) -> None:
    """A timestamp certificate (EKU timeStamping) never signs a document, nor does a certificate
    whose key usage allows neither digitalSignature nor nonRepudiation."""
    if cert is None:
        return
    eku = cert.extended_key_usage_value
    if eku is not None and "time_stamping" in eku.native:
        raise PdfSigningError("时间戳服务证书（EKU timeStamping）不能用于签署文件")
    usage = cert.key_usage_value
    if usage is not None and not {"digital_signature", "non_repudiation"} & set(usage.native):
        raise PdfSigningError("该证书的密钥用途不允许签名（需 digitalSignature 或 nonRepudiation）")


def _has_signatures(reader: PdfFileReader) -> bool:
    return any(sig is not None for _, sig, _ in pdf_fields.enumerate_sig_fields(reader))


async def async_sign_pdf(pdf_bytes: bytes, request: SigningRequest) -> bytes:
    """Fill ``request.field`` with a PAdES signature as an incremental update; returns the PDF."""
    level = PadesLevel(request.level)
    if level != PadesLevel.B_B and request.timestamper is None:
        raise PdfSigningError(f"PAdES {level} needs a timestamper")
    writer = _reader(pdf_bytes)
    fields = {name: sig for name, sig, _ in pdf_fields.enumerate_sig_fields(writer.prev)}
    if request.field not in fields:
        raise SignatureFieldError(f"no signature field named {request.field!r}")
    if fields[request.field] is not None:
        raise SignatureFieldError(f"field {request.field!r} is already signed")
    _check_signing_certificate(request.signer.signing_cert)
    if request.certify and _has_signatures(writer.prev):
        raise PdfSigningError("only the first signature may certify the document")
    long_term = level in (PadesLevel.B_LT, PadesLevel.B_LTA)
    vc = None
    if long_term:
        if not request.trust_roots:
            raise PdfSigningError(f"PAdES {level} needs trust_roots (and CRLs) to embed")
        vc = signing_validation_context(request.trust_roots, request.crls)
    meta = PdfSignatureMetadata(
        field_name=request.field,
        md_algorithm=request.digest_algorithm,
        subfilter=SigSeedSubFilter.PADES,
        certify=request.certify,
        docmdp_permissions=MDPPerm.FILL_FORMS,
        reason=request.reason,
        location=request.location,
        embed_validation_info=long_term,
        use_pades_lta=level == PadesLevel.B_LTA,
        validation_context=vc,
    )
    style = None
    text_params = None
    if request.appearance is not None:
        if request.font_cache_dir is None:
            raise PdfSigningError("a visible appearance needs font_cache_dir")
        cert = request.signer.signing_cert
        serial = cert.serial_number if cert is not None else 0
        text_params = appearance_text(request.appearance, serial, dt.datetime.now(dt.UTC))
        style = stamp_style(
            request.appearance, request.font_cache_dir, "".join(text_params.values())
        )
    timestamper = request.timestamper if level != PadesLevel.B_B else None
    pdf_signer = PdfSigner(meta, signer=request.signer, timestamper=timestamper, stamp_style=style)
    try:
        reserved = await signature_bytes_reserved(
            request.signer, timestamper, request.digest_algorithm
        )
        output = await pdf_signer.async_sign_pdf(
            writer,
            existing_fields_only=True,
            appearance_text_params=text_params,
            bytes_reserved=reserved,
        )
    except PdfSigningError:
        raise
    except Exception as exc:
        raise PdfSigningError(f"signing failed: {exc}") from exc
    return bytes(output.getbuffer())


# DER bytes of a CMS SignedData besides its certificates, signature value and timestamp token:
# version, digest algorithms, content info, signer identifier, algorithm identifiers, the signed
# attributes (content type, message digest up to SHA-512, signing certificate v2, CMS algorithm
# protection) and the unsigned-attribute wrapper. Measured ~600 for ECDSA and SM2; headroom kept.
_CMS_FIXED_BYTES = 1024


def _max_signature_len(public_key: asn1_keys.PublicKeyInfo) -> int | None:
    """Longest DER signature value the key can produce, or None for a kind we do not know."""
    try:
        algorithm = public_key.algorithm
        bits = public_key.bit_size
    except (ValueError, KeyError):
        return None
    if algorithm == "rsa":
        return (bits + 7) // 8
    if algorithm == "ec":  # ECDSA / SM2: SEQUENCE of two INTEGERs, each may gain a sign byte
        return 2 * ((bits + 7) // 8 + 3) + 3
    return {"ed25519": 64, "ed448": 114}.get(algorithm)


async def signature_bytes_reserved(
    signer: signers.Signer, timestamper: TimeStamper | None, md_algorithm: str
) -> int | None:
    """Hex digits to reserve for the signature's CMS, computed from the signer's key and
    certificates and the timestamper's token size; None lets pyHanko estimate instead.

    pyHanko's own estimate builds and encodes a complete dry-run CMS (about a third of a
    signature's cost); this sum of known lengths costs microseconds. The timestamp token's size
    comes from the timestamper's dummy response, which pyHanko caches per timestamper.
    """
    cert = signer.signing_cert
    if cert is None:
        return None
    signature_len = _max_signature_len(cert.public_key)
    if signature_len is None:
        return None
    certs = {c.dump() for c in signer.cert_registry} | {cert.dump()}
    der = sum(map(len, certs)) + signature_len + 2 * len(cert.issuer.dump()) + _CMS_FIXED_BYTES
    if timestamper is not None:
        token = len((await timestamper.async_dummy_response(md_algorithm)).dump())
        # A live token differs from the dummy in its nonce, serial, time and signature length.
        der += token + max(128, token // 8)
    return 2 * der


def sign_pdf(pdf_bytes: bytes, request: SigningRequest) -> bytes:
    """Synchronous :func:`async_sign_pdf`; safe to call from inside a running event loop."""
    return run_sync(lambda: async_sign_pdf(pdf_bytes, request))


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, even when this thread has a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(make()))
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = asyncio.run(_await(make()))
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=worker, name="signing-sync")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable
