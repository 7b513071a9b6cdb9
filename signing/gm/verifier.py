"""Verifying PDFs whose signatures or timestamps use SM2 (验签, 国密), with the findings of
:mod:`signing.verify` plus the algorithm of each signature and timestamp.

:func:`verify_gm_pdf` walks the document like :func:`signing.verify.verify_pdf` and asks pyHanko to
validate each signature with :func:`~signing.gm.validation.gm_validation_context` (integrity, the
SM2 signature value, the chain to an SM2 root, CRLs, the timestamp token, difference analysis),
then maps the status to ETSI EN 319 102-1 indications with the same table as ``verify.py``. It
accepts ECDSA signatures too (the validator hands them to pyHanko), so a ``dual`` document gets one
report. ``GmSignatureReport`` adds ``algorithm`` / ``algorithm_zh`` (e.g. ``SM2/SM3``,
``国密 SM2``) and ``timestamp_algorithm`` to :class:`signing.verify.SignatureReport`.

Interim module: once ``verify.py`` passes ``signature_validator=GmSignatureValidator()`` to its
ValidationContext and reports :func:`describe_algorithm`, the walk below is redundant.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO

from asn1crypto import cms, keys
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, ModificationLevel
from pyhanko.sign.diff_analysis.policy_api import DiffResult, SuspiciousModification
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature, async_validate_pdf_timestamp
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    PdfSignatureStatus,
    SignatureCoverageLevel,
)

from ..hashes import sha256_hex, sm3_hex
from ..pades import to_asn1_cert
from ..verify import (
    INDETERMINATE,
    TOTAL_FAILED,
    TOTAL_PASSED,
    SignatureReport,
    SignerSummary,
    VerificationLimits,
    VerificationReport,
)
from . import oids
from .validation import gm_validation_context

__all__ = [
    "AlgorithmInfo",
    "GmSignatureReport",
    "describe_algorithm",
    "verify_gm_pdf",
    "async_verify_gm_pdf",
]

_RANK = {TOTAL_PASSED: 0, INDETERMINATE: 1, TOTAL_FAILED: 2}
_SUBFILTERS = {"/adbe.pkcs7.detached", "/ETSI.CAdES.detached", "/ETSI.RFC3161"}
_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


@dataclass(frozen=True)
class AlgorithmInfo:
    name: str  # "SM2/SM3", "ECDSA P-256/SHA-256", "RSA/SHA-256"
    label_zh: str  # "国密 SM2", "国际 ECDSA", "国际 RSA"
    profile: str  # "gm" or "intl"


def describe_algorithm(
    signer_info: cms.SignerInfo, public_key: keys.PublicKeyInfo
) -> AlgorithmInfo:
    """Which algorithm a CMS signer info uses, for people (国密 SM2 / 国际 ECDSA)."""
    mechanism = signer_info["signature_algorithm"]["algorithm"].native
    digest = str(signer_info["digest_algorithm"]["algorithm"].native).upper().replace("SHA", "SHA-")
    if mechanism in oids.SM2_SIGNATURE_NAMES:
        return AlgorithmInfo("SM2/SM3", "国密 SM2", "gm")
    if "ecdsa" in str(mechanism):
        curve = "?"
        with contextlib.suppress(Exception):
            curve = _CURVES.get(public_key.curve[1], public_key.curve[1])
        return AlgorithmInfo(f"ECDSA {curve}/{digest}", "国际 ECDSA", "intl")
    if "rsa" in str(mechanism):
        return AlgorithmInfo(f"RSA/{digest}", "国际 RSA", "intl")
    return AlgorithmInfo(f"{mechanism}/{digest}", str(mechanism), "intl")


@dataclass
class GmSignatureReport(SignatureReport):
    algorithm: str | None = None
    algorithm_zh: str | None = None
    timestamp_algorithm: str | None = None


# ----------------------------------------------------------------------------- entry points
def verify_gm_pdf(
    data: bytes,
    *,
    trust_roots: Iterable[x509.Certificate | bytes] = (),
    crls: Iterable[bytes] = (),
    revocation_mode: str = "hard-fail",
    limits: VerificationLimits | None = None,
) -> VerificationReport:
    """Verify every signature of ``data`` (SM2 or not); never raises for a bad document."""
    limits = limits or VerificationLimits()
    data = bytes(data)
    box: dict[str, VerificationReport] = {}
    roots, crl_list = list(trust_roots), list(crls)

    def worker() -> None:
        box["report"] = asyncio.run(_verify(data, roots, crl_list, revocation_mode, limits))

    thread = threading.Thread(target=worker, name="verify-gm-pdf", daemon=True)
    thread.start()
    thread.join(limits.timeout_seconds)
    if "report" in box:
        return box["report"]
    return _unreadable(data, f"verification did not finish within {limits.timeout_seconds:g} s")


async def async_verify_gm_pdf(
    data: bytes,
    *,
    trust_roots: Iterable[x509.Certificate | bytes] = (),
    crls: Iterable[bytes] = (),
    revocation_mode: str = "hard-fail",
    limits: VerificationLimits | None = None,
) -> VerificationReport:
    return await asyncio.to_thread(
        verify_gm_pdf,
        data,
        trust_roots=list(trust_roots),
        crls=list(crls),
        revocation_mode=revocation_mode,
        limits=limits,
    )


# ------------------------------------------------------------------------------ internals
def _unreadable(data: bytes, message: str) -> VerificationReport:
    return VerificationReport(
        indication=TOTAL_FAILED,
        sub_indication="FORMAT_FAILURE",
        file_sha256=sha256_hex(data),
        file_sm3=sm3_hex(data),
        signatures=[],
        readable=False,
        message=message,
    )


def _as_asn1(cert: x509.Certificate | bytes) -> asn1_x509.Certificate:
    if isinstance(cert, x509.Certificate):
        return to_asn1_cert(cert)
    if cert.lstrip().startswith(b"-----BEGIN"):
        return to_asn1_cert(x509.load_pem_x509_certificate(cert))
    return asn1_x509.Certificate.load(cert)


def _broken(field: str, message: str, revision: int | None = None) -> GmSignatureReport:
    return GmSignatureReport(
        field=field,
        signer=None,
        signed_at=None,
        timestamp=None,
        indication=TOTAL_FAILED,
        sub_indication="FORMAT_FAILURE",
        intact=False,
        trusted=False,
        coverage=None,
        modified_after=None,
        revocation="unknown",
        docmdp_ok=None,
        revision=revision,
        messages=[message],
    )


async def _verify(
    data: bytes,
    trust_roots: Sequence[x509.Certificate | bytes],
    crls: Sequence[bytes],
    revocation_mode: str,
    limits: VerificationLimits,
) -> VerificationReport:
    if not data:
        return _unreadable(data, "empty file")
    if len(data) > limits.max_bytes:
        return _unreadable(data, f"file larger than {limits.max_bytes} bytes")
    if b"%PDF-" not in data[:1024]:
        return _unreadable(data, "not a PDF (no %PDF- header)")
    embedded: list[EmbeddedPdfSignature] = []
    reports: list[GmSignatureReport] = []
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        if reader.encrypted:
            return _unreadable(data, "encrypted PDF: signatures cannot be checked")
        if reader.xrefs.total_revisions > limits.max_revisions:
            return _unreadable(data, f"more than {limits.max_revisions} revisions")
        for name, sig_obj, sig_field in enumerate_sig_fields(reader, filled_status=True):
            try:
                subfilter = str(sig_obj.get_object().get("/SubFilter"))
                if subfilter not in _SUBFILTERS:
                    raise ValueError(f"unsupported /SubFilter {subfilter}")
                embedded.append(EmbeddedPdfSignature(reader, sig_field, name))
            except Exception as exc:
                reports.append(_broken(str(name), f"signature cannot be read: {exc}"[:500]))
    except RecursionError:
        return _unreadable(data, "PDF structure nested too deeply")
    except Exception as exc:
        return _unreadable(data, f"not a readable PDF: {type(exc).__name__}: {exc}"[:500])
    if len(embedded) + len(reports) > limits.max_signatures:
        return _unreadable(data, f"more than {limits.max_signatures} signatures")
    base = VerificationReport(
        indication=INDETERMINATE,
        sub_indication="SIGNED_DATA_NOT_FOUND",
        file_sha256=sha256_hex(data),
        file_sm3=sm3_hex(data),
        signatures=[],
        message=None if embedded or reports else "the PDF has no signatures",
    )
    if not embedded and not reports:
        return base
    try:
        roots = [_as_asn1(c) for c in trust_roots]
        crl_objs = [asn1_crl.CertificateList.load(c) for c in crls]
        dss_certs: list[asn1_x509.Certificate] = []
        with contextlib.suppress(Exception):
            dss = DocumentSecurityStore.read_dss(reader)
            crl_objs += [asn1_crl.CertificateList.load(r.get_object().data) for r in dss.crls]
            dss_certs = [
                c if isinstance(c, asn1_x509.Certificate) else asn1_x509.Certificate.load(c.data)
                for c in (
                    r.get_object() if hasattr(r, "get_object") else r for r in dss.certs.values()
                )
            ]
    except Exception as exc:
        return _unreadable(data, f"bad trust material: {exc}"[:500])
    embedded.sort(key=lambda e: e.signed_revision)
    field_names = {e.field_name for e in embedded}
    for index, sig in enumerate(embedded):
        context = gm_validation_context(
            roots, crls=crl_objs, other_certs=dss_certs, revocation_mode=revocation_mode
        )
        try:
            report = await _check_one(sig, context, field_names, data, index == len(embedded) - 1)
        except Exception as exc:
            report = _broken(str(sig.field_name), f"{type(exc).__name__}: {exc}"[:500])
            with contextlib.suppress(Exception):
                report.revision = sig.signed_revision
        reports.append(report)
    reports.sort(key=lambda r: r.revision if r.revision is not None else 1 << 30)
    worst = max(reports, key=lambda r: _RANK[r.indication])
    base.signatures = list(reports)
    base.indication, base.sub_indication = worst.indication, worst.sub_indication
    return base


def _changes(
    diff: DiffResult | SuspiciousModification | None, signature_fields: set[str]
) -> tuple[str | None, str | None, bool]:
    """(description, modification level, acceptable?) — the rules of verify.py."""
    if diff is None:
        return None, ModificationLevel.NONE.name, True
    if isinstance(diff, SuspiciousModification):
        return f"签名后存在不允许的修改：{diff}", ModificationLevel.OTHER.name, False
    level = diff.modification_level
    if level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES):
        text = None if level == ModificationLevel.NONE else "其后仅增加了验证数据或文档时间戳"
        return text, level.name, True
    if level == ModificationLevel.FORM_FILLING:
        others = sorted(f for f in diff.changed_form_fields if f not in signature_fields)
        if others:
            return f"签名后填写了签名域以外的表单域：{'、'.join(others)}", level.name, False
        return "其后仅有后续签名填写签名域", level.name, True
    if level == ModificationLevel.ANNOTATIONS:
        return "签名后增加或修改了注释（批注）", level.name, False
    return "签名后文档内容被修改", level.name, False


def _junk(
    sig: EmbeddedPdfSignature, data: bytes, coverage: SignatureCoverageLevel | None
) -> str | None:
    if not data.rstrip(b" \r\n\t\x00").endswith(b"%%EOF"):
        return "最后一个 %%EOF 之后的内容不是有效的增量更新"
    last = sig.signed_revision == sig.reader.xrefs.total_revisions - 1
    if coverage == SignatureCoverageLevel.ENTIRE_REVISION and last:
        byte_range = [int(x) for x in sig.byte_range]
        tail = data[byte_range[2] + byte_range[3] :]
        if tail.strip(b" \r\n\t\x00"):
            return f"最后一个已签名版本之后有 {len(tail)} 字节不是有效的增量更新"
    return None


def _name_of(cert: asn1_x509.Certificate) -> SignerSummary:
    subject, issuer = cert.subject.native, cert.issuer.native

    def first(value: object) -> str | None:
        if isinstance(value, list):
            return str(value[0]) if value else None
        return str(value) if value is not None else None

    return SignerSummary(
        organisation=first(subject.get("organization_name")),
        common_name=first(subject.get("common_name")),
        serial=format(cert.serial_number, "X"),
        issuer=first(issuer.get("common_name")) or cert.issuer.human_friendly,
    )


def _timestamp_algorithm(sig: EmbeddedPdfSignature) -> str | None:
    try:
        if sig.sig_object_type == "/DocTimeStamp":
            return None
        for attr in sig.signer_info["unsigned_attrs"]:
            if attr["type"].native == "signature_time_stamp_token":
                signed_data = attr["values"][0]["content"]
                signer_info = signed_data["signer_infos"][0]
                serial = signer_info["sid"].chosen["serial_number"].native
                key = next(
                    c.chosen.public_key
                    for c in signed_data["certificates"]
                    if c.chosen.serial_number == serial
                )
                return describe_algorithm(signer_info, key).name
    except Exception:  # noqa: S110 - the algorithm is informative only
        pass
    return None


async def _check_one(
    sig: EmbeddedPdfSignature,
    vc: object,
    signature_fields: set[str],
    data: bytes,
    is_last: bool,
) -> GmSignatureReport:
    is_timestamp = sig.sig_object_type == "/DocTimeStamp"
    status: PdfSignatureStatus | DocumentTimestampStatus
    if is_timestamp:
        status = await async_validate_pdf_timestamp(sig, validation_context=vc)  # type: ignore[arg-type]
    else:
        status = await async_validate_pdf_signature(
            sig,
            signer_validation_context=vc,  # type: ignore[arg-type]
            diff_policy=DEFAULT_DIFF_POLICY,
        )
    messages: list[str] = []
    description, level, acceptable = _changes(status.diff_result, signature_fields)
    coverage = status.coverage
    if is_last and (junk := _junk(sig, data, coverage)):
        acceptable, description = False, junk
    timestamp_iso = signed_at = None
    ts_ok: bool | None = None
    if isinstance(status, DocumentTimestampStatus):
        timestamp_iso = signed_at = status.timestamp.isoformat() if status.timestamp else None
    else:
        signed_at = status.signer_reported_dt.isoformat() if status.signer_reported_dt else None
        tsv = status.timestamp_validity
        if tsv is not None:
            timestamp_iso = tsv.timestamp.isoformat()
            ts_ok = tsv.intact and tsv.valid
            if not tsv.trusted:
                messages.append("signature timestamp not trusted")
    revoked = status.revoked
    if status.revocation_details is not None:
        rd = status.revocation_details
        messages.append(
            f"revoked at {rd.revocation_date.isoformat()} ({rd.revocation_reason.native})"
        )
    indication, sub = TOTAL_PASSED, None
    if coverage is None or coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        indication, sub = TOTAL_FAILED, "FORMAT_FAILURE"
        messages.append("the ByteRange does not cover the signed revision")
    elif not status.intact:
        indication, sub = TOTAL_FAILED, "HASH_FAILURE"
    elif not status.valid:
        indication, sub = TOTAL_FAILED, "SIG_CRYPTO_FAILURE"
    elif not acceptable or status.docmdp_ok is False:
        indication, sub = TOTAL_FAILED, "SIG_CONSTRAINTS_FAILURE"
    elif revoked:
        indication, sub = TOTAL_FAILED, "REVOKED"
    elif ts_ok is False:
        indication, sub = TOTAL_FAILED, "SIG_CRYPTO_FAILURE"
        messages.append("the signature timestamp token is broken")
    elif not status.trusted:
        name = (
            getattr(status.trust_problem_indic, "name", None) or "CERTIFICATE_CHAIN_GENERAL_FAILURE"
        )
        indication, sub = (TOTAL_FAILED if name == "REVOKED" else INDETERMINATE), name
    algorithm = describe_algorithm(sig.signer_info, status.signing_cert.public_key)
    certifying = False
    with contextlib.suppress(Exception):
        certifying = sig.docmdp_level is not None
    return GmSignatureReport(
        field=str(sig.field_name),
        signer=_name_of(status.signing_cert),
        signed_at=signed_at,
        timestamp=timestamp_iso,
        indication=indication,
        sub_indication=sub,
        intact=bool(status.intact),
        trusted=bool(status.trusted),
        coverage=coverage.name if coverage is not None else None,
        modified_after=description,
        revocation="revoked" if revoked else ("good" if status.trusted else "unknown"),
        docmdp_ok=status.docmdp_ok,
        revision=sig.signed_revision,
        kind="document_timestamp" if is_timestamp else "signature",
        modification_level=level,
        certifying=certifying,
        messages=messages,
        algorithm=algorithm.name,
        algorithm_zh=algorithm.label_zh,
        timestamp_algorithm=_timestamp_algorithm(sig),
    )
