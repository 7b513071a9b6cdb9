"""Archive form of a signed PDF (PAdES B-LTA, 长期保存格式) and its renewal.

:func:`archive_pdf` adds, in one incremental revision, the validation data of every signature
and signature timestamp already in the file to the DSS (certificate chains, CRLs, the TSA
certificates, a VRI entry per signature, as pyHanko writes them) and then a document timestamp
over the whole; pyHanko appends the VRI of that document timestamp in a last small revision.
The signatures themselves are not touched (they stay B-T).

:func:`renew_archive` is the periodic step of ETSI EN 319 142-1 §5.5 (ES-A renewal): before the
newest document timestamp's TSA certificate expires, its validation data (its chain and the
current CRLs of that chain's authorities, nothing else) go into the DSS and a new document timestamp — from a TSA certificate that lives longer — covers them.
A validator years later walks this chain of timestamps as proofs of existence.

:func:`archive_expiry` reads when the newest timestamp's chain expires, which decides whether a
file needs renewing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore, collect_validation_info
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.sig_validate import SignatureValidator

from .errors import PdfSigningError
from .pades import run_sync, to_asn1_cert

__all__ = [
    "ArchiveTrust",
    "archive_pdf",
    "async_archive_pdf",
    "renew_archive",
    "async_renew_archive",
    "archive_expiry",
    "chain_expiry",
    "newest_timestamp",
    "crls_of_paths",
]


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
    # DER OCSP response for a signer certificate (serial), from its CA: pyHanko's past
    # validation of an expired end-entity certificate finds its revocation status in an OCSP
    # response but not in its issuer's CRL
    ocsp_for: Callable[[int], bytes | None] | None = None
    # 国密: the SM2 signatures (and SM2 CA and TSA certificates) are checked by this validator
    # (signing.gm.validation) while the data is gathered, and the document timestamp digests
    # with SM3, so an SM2 agreement's archive form stays in its profile.
    signature_validator: SignatureValidator | None = None
    digest_algorithm: str = "sha256"

    def __post_init__(self) -> None:
        # Parsed once: converting certificates and CRLs to asn1crypto cost ~20 ms per context.
        parsed = (
            [to_asn1_cert(c) for c in self.trust_roots],
            [to_asn1_cert(c) for c in self.other_certs],
            [asn1_crl.CertificateList.load(c) for c in self.crls],
        )
        object.__setattr__(self, "_parsed", parsed)

    def validation_context(self) -> ValidationContext:
        roots, others, crls = self._parsed  # type: ignore[attr-defined]
        return ValidationContext(
            trust_roots=roots,
            other_certs=others,
            crls=crls,
            allow_fetching=False,
            revocation_mode="hard-fail",
            moment=self.moment,
            signature_validator=self.signature_validator,  # None: pyHanko's default
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
    ocsp_for: Callable[[int], bytes | None] | None = None,
) -> None:
    for sig in signatures:
        # Validates the signer's chain and every timestamp token's chain at vc's moment; the
        # paths and the CRLs of their authorities go into the DSS with a VRI entry for this
        # signature.
        paths = await collect_validation_info(sig, vc)
        ocsp = ocsp_for(sig.signer_cert.serial_number) if ocsp_for else None
        DocumentSecurityStore.supply_dss_in_writer(
            writer,
            sig.pkcs7_content.hex().encode("ascii"),
            paths=paths,
            crls=crls_of_paths(paths, vc.crls),
            ocsps=[asn1_ocsp.OCSPResponse.load(ocsp)] if ocsp else None,
        )
    # The coming document timestamp's TSA chain (no VRI: that timestamp does not exist yet).
    ts_paths = [path async for path in timestamper.validation_paths(vc)]
    DocumentSecurityStore.supply_dss_in_writer(writer, None, paths=ts_paths)


def crls_of_paths(
    paths: Iterable[ValidationPath], crls: Iterable[asn1_crl.CertificateList]
) -> list[asn1_crl.CertificateList]:
    """The CRLs issued by an authority of ``paths``: for each certificate below the anchor, the
    CRLs of its issuer (same name and, where both carry one, the same key identifier). A renewal
    thus adds the ARL of the root that issued the renewed timestamp's TSA certificate, not the
    issuing CA's current CRL nor another CA's: those belong to chains it does not prove."""
    wanted: set[tuple[bytes, bytes | None]] = set()
    for path in paths:
        for cert in path.iter_certs(include_root=False):
            wanted.add((cert.issuer.dump(), cert.authority_key_identifier))
    chosen = []
    for crl in crls:
        key_id = crl.authority_key_identifier
        if any(
            crl.issuer.dump() == issuer and (key_id is None or aki is None or key_id == aki)
            for issuer, aki in wanted
        ):
            chosen.append(crl)
    return chosen


async def _timestamp(
    writer: IncrementalPdfFileWriter,
    timestamper: TimeStamper,
    vc: ValidationContext | None,
    digest_algorithm: str,
) -> bytes:
    """Append a document timestamp. With ``vc`` pyHanko then adds that timestamp's VRI in one
    more revision (it re-reads the whole file for it); without, the next renewal adds it."""
    output = BytesIO()
    try:
        await PdfTimeStamper(timestamper).async_timestamp_pdf(
            writer, digest_algorithm, validation_context=vc, output=output
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
        await _add_validation_data(writer, signatures, timestamper, vc, trust.ocsp_for)
    except Exception as exc:
        raise PdfSigningError(f"validation data could not be gathered: {exc}") from exc
    return await _timestamp(writer, timestamper, vc, trust.digest_algorithm)


async def async_renew_archive(pdf: bytes, timestamper: TimeStamper, trust: ArchiveTrust) -> bytes:
    """Append the newest document timestamp's validation data (its chain, the current CRLs of
    that chain's authorities) and a new document timestamp (the newest timestamp must still
    validate at ``trust.moment``)."""
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
    # The new timestamp's TSA chain is already in the DSS (_add_validation_data); its VRI entry
    # comes with the next renewal, as the previous one's came with this one.
    return await _timestamp(writer, timestamper, None, trust.digest_algorithm)


def archive_pdf(pdf: bytes, timestamper: TimeStamper, trust: ArchiveTrust) -> bytes:
    return run_sync(lambda: async_archive_pdf(pdf, timestamper, trust))


def renew_archive(pdf: bytes, timestamper: TimeStamper, trust: ArchiveTrust) -> bytes:
    return run_sync(lambda: async_renew_archive(pdf, timestamper, trust))


def newest_timestamp(reader: PdfFileReader) -> EmbeddedPdfSignature | None:
    """The last document timestamp (only document timestamps are parsed: the parties'
    signatures are not needed here, and reading their CMS was a third of a renewal)."""
    timestamps = [
        EmbeddedPdfSignature(reader, field, name)
        for name, sig, field in enumerate_sig_fields(reader, filled_status=True)
        if sig.get_object().get("/Type") == "/DocTimeStamp"
    ]
    return max(timestamps, key=lambda t: t.signed_revision, default=None)


def chain_expiry(
    tsa_cert: asn1_x509.Certificate, trust_roots: Sequence[x509.Certificate]
) -> dt.datetime:
    """The earliest ``notAfter`` of a TSA certificate and the root that issued it."""
    expiry: dt.datetime = tsa_cert.not_valid_after
    for root in trust_roots:
        asn1_root = to_asn1_cert(root)
        if asn1_root.subject == tsa_cert.issuer and asn1_root.key_identifier == (
            tsa_cert.authority_key_identifier
        ):
            expiry = min(expiry, asn1_root.not_valid_after)
    return expiry


def archive_expiry(pdf: bytes, trust_roots: Sequence[x509.Certificate]) -> dt.datetime | None:
    """When the chain of the newest document timestamp expires: the earliest ``notAfter`` of its
    TSA certificate and the root that issued it (None: no document timestamp).

    Only the certificate embedded in the token is read (no validation): the chain is checked
    when the file is renewed or verified.
    """
    last = newest_timestamp(_reader(pdf))
    return None if last is None else chain_expiry(last.signer_cert, trust_roots)
