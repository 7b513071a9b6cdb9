"""Archive form of a signed PDF (PAdES B-LTA, 长期保存格式) and its renewal.

:func:`archive_pdf` adds, in one incremental revision, the validation data of every signature
and signature timestamp already in the file to the DSS (certificate chains, CRLs, the TSA
certificates, a VRI entry per signature, as pyHanko writes them) and then a document timestamp
over the whole; pyHanko appends the VRI of that document timestamp in a last small revision.
The signatures themselves are not touched (they stay B-T).

:func:`renew_archive` is the periodic step of ETSI EN 319 142-1 §5.5 (ES-A renewal): before the
newest document timestamp's TSA certificate expires, its validation data and fresh CRLs go into
the DSS and a new document timestamp — from a TSA certificate that lives longer — covers them.
A validator years later walks this chain of timestamps as proofs of existence.

:func:`archive_expiry` reads when the newest timestamp's chain expires, which decides whether a
file needs renewing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO

from asn1crypto import crl as asn1_crl
from cryptography import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore, collect_validation_info
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext

from .errors import PdfSigningError
from .pades import run_sync, to_asn1_cert

__all__ = [
    "ArchiveTrust",
    "archive_pdf",
    "async_archive_pdf",
    "renew_archive",
    "async_renew_archive",
    "archive_expiry",
    "newest_timestamp",
]

_MD = "sha256"


@dataclass(frozen=True)
class ArchiveTrust:
    """What the validation data is gathered against (offline: nothing is fetched).

    ``other_certs`` are certificates a path may need that the file may not hold: every TSA
    certificate (old ones included), issuing CAs, cross-certificates from a root rollover.
    ``moment`` is the time the chains are checked at (default now).
    """

    trust_roots: Sequence[x509.Certificate]
    crls: Sequence[bytes] = ()
    other_certs: Sequence[x509.Certificate] = ()
    moment: dt.datetime | None = None

    def validation_context(self) -> ValidationContext:
        return ValidationContext(
            trust_roots=[to_asn1_cert(c) for c in self.trust_roots],
            other_certs=[to_asn1_cert(c) for c in self.other_certs],
            crls=[asn1_crl.CertificateList.load(c) for c in self.crls],
            allow_fetching=False,
            revocation_mode="hard-fail",
            moment=self.moment,
        )


def _reader(pdf: bytes) -> PdfFileReader:
    try:
        return PdfFileReader(BytesIO(pdf), strict=False)
    except Exception as exc:
        raise PdfSigningError(f"not a readable PDF: {exc}") from exc


async def _add_validation_data(
    writer: IncrementalPdfFileWriter,
    signatures: Iterable[EmbeddedPdfSignature],
    timestamper: TimeStamper,
    vc: ValidationContext,
) -> None:
    for sig in signatures:
        # Validates the signer's chain and every timestamp token's chain at vc's moment; the
        # paths and vc's CRLs go into the DSS with a VRI entry for this signature.
        paths = await collect_validation_info(sig, vc)
        DocumentSecurityStore.supply_dss_in_writer(
            writer,
            sig.pkcs7_content.hex().encode("ascii"),
            paths=paths,
            validation_context=vc,
        )
    # The coming document timestamp's TSA chain (no VRI: that timestamp does not exist yet).
    ts_paths = [path async for path in timestamper.validation_paths(vc)]
    DocumentSecurityStore.supply_dss_in_writer(writer, None, paths=ts_paths)


async def _timestamp(
    writer: IncrementalPdfFileWriter, timestamper: TimeStamper, vc: ValidationContext
) -> bytes:
    output = BytesIO()
    try:
        await PdfTimeStamper(timestamper).async_timestamp_pdf(
            writer, _MD, validation_context=vc, output=output
        )
    except PdfSigningError:
        raise
    except Exception as exc:
        raise PdfSigningError(f"document timestamp failed: {exc}") from exc
    return output.getvalue()


async def async_archive_pdf(pdf: bytes, timestamper: TimeStamper, trust: ArchiveTrust) -> bytes:
    """PAdES B-LTA of a signed PDF: DSS for every signature, then a document timestamp."""
    reader = _reader(pdf)
    signatures = reader.embedded_regular_signatures
    if not signatures:
        raise PdfSigningError("nothing to archive: the PDF has no signature")
    vc = trust.validation_context()
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    try:
        await _add_validation_data(writer, signatures, timestamper, vc)
    except Exception as exc:
        raise PdfSigningError(f"validation data could not be gathered: {exc}") from exc
    return await _timestamp(writer, timestamper, vc)


async def async_renew_archive(pdf: bytes, timestamper: TimeStamper, trust: ArchiveTrust) -> bytes:
    """Append the newest document timestamp's validation data, fresh CRLs and a new document
    timestamp (the newest timestamp must still validate at ``trust.moment``)."""
    reader = _reader(pdf)
    last = newest_timestamp(reader)
    if last is None:
        raise PdfSigningError("not an archive: the PDF has no document timestamp")
    vc = trust.validation_context()
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    try:
        await _add_validation_data(writer, [last], timestamper, vc)
    except Exception as exc:
        raise PdfSigningError(f"the newest timestamp no longer validates: {exc}") from exc
    return await _timestamp(writer, timestamper, vc)


def archive_pdf(pdf: bytes, timestamper: TimeStamper, trust: ArchiveTrust) -> bytes:
    return run_sync(lambda: async_archive_pdf(pdf, timestamper, trust))


def renew_archive(pdf: bytes, timestamper: TimeStamper, trust: ArchiveTrust) -> bytes:
    return run_sync(lambda: async_renew_archive(pdf, timestamper, trust))


def newest_timestamp(reader: PdfFileReader) -> EmbeddedPdfSignature | None:
    timestamps = reader.embedded_timestamp_signatures
    return timestamps[-1] if timestamps else None


def archive_expiry(pdf: bytes, trust_roots: Sequence[x509.Certificate]) -> dt.datetime | None:
    """When the chain of the newest document timestamp expires: the earliest ``notAfter`` of its
    TSA certificate and the root that issued it (None: no document timestamp).

    Only the certificate embedded in the token is read (no validation): the chain is checked
    when the file is renewed or verified.
    """
    last = newest_timestamp(_reader(pdf))
    if last is None:
        return None
    tsa_cert = last.signer_cert
    expiry = tsa_cert.not_valid_after
    for root in trust_roots:
        asn1_root = to_asn1_cert(root)
        if asn1_root.subject == tsa_cert.issuer and asn1_root.key_identifier == (
            tsa_cert.authority_key_identifier
        ):
            expiry = min(expiry, asn1_root.not_valid_after)
    return expiry
