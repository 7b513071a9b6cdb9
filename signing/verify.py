"""Verifier for any PDF (验签): per-signature findings and an ETSI EN 319 102-1 indication.

``verify_pdf`` never raises for a bad document: unreadable, hostile or oversized input becomes a
FORMAT_FAILURE report with a message. Verification runs offline: trust anchors and CRLs are given
by the caller (plus revocation data embedded in the document's DSS); nothing is fetched.

Indication mapping (per signature, first match wins):

=============================================  ===============  ==============================
finding                                        indication       sub-indication
=============================================  ===============  ==============================
CMS unparsable / ByteRange broken / not a sig  TOTAL_FAILED     FORMAT_FAILURE
signed bytes changed                           TOTAL_FAILED     HASH_FAILURE
signature value wrong                          TOTAL_FAILED     SIG_CRYPTO_FAILURE
later change not allowed (content, annots,     TOTAL_FAILED     SIG_CONSTRAINTS_FAILURE
  shadow attack, DocMDP violation, junk bytes)
signer cert is a TSA's / lacks signing usage  TOTAL_FAILED     CHAIN_CONSTRAINTS_FAILURE
signer certificate revoked before the PoE      TOTAL_FAILED     REVOKED
signed after the certificate expired           TOTAL_FAILED     EXPIRED
timestamp token broken                         TOTAL_FAILED     SIG_CRYPTO_FAILURE
no path to a trusted root                      INDETERMINATE    NO_CERTIFICATE_CHAIN_FOUND
expired / other chain problem                  INDETERMINATE    pyHanko's AdES sub-indication
everything fine                                TOTAL_PASSED     null
=============================================  ===============  ==============================

Validation time and long-term rules (signing/ltv.py): every signature is validated at ``at``
(default now) per ETSI EN 319 102-1 § 5.5, its signature timestamp being the proof of
existence. A certificate that expired, or was revoked for a benign reason, after that time
still gives TOTAL_PASSED with a note ("签名时证书有效；该证书已于 … 吊销／过期"); a signature
made after the revocation (or after a key compromise's invalidity date) is REVOKED, one made
after expiry EXPIRED.

Document timestamps prove when bytes existed, not that anybody signed: a file with only
document timestamps is unsigned (exit 3), and a timestamp certificate never signs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from dataclasses import field as dataclass_field
from io import BytesIO
from typing import Any

from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.diff_analysis.policy_api import DiffResult, SuspiciousModification
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature, async_validate_pdf_timestamp
from pyhanko.sign.validation.policy_decl import SignatureValidationSpec
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    PdfSignatureStatus,
    SignatureCoverageLevel,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.sig_validate import SignatureValidator

from . import changes, ltv
from .gm.algorithms import describe_algorithm, timestamp_algorithm
from .gm.validation import GmSignatureValidator
from .hashes import sha256_hex, sm3_hex
from .pades import to_asn1_cert
from .timefmt import beijing, beijing_iso

__all__ = [
    "TOTAL_PASSED",
    "TOTAL_FAILED",
    "INDETERMINATE",
    "SignerSummary",
    "SignatureReport",
    "VerificationReport",
    "VerificationLimits",
    "verify_pdf",
    "async_verify_pdf",
    "exit_code",
    "describe_zh",
    "INDICATION_ZH",
    "SUB_INDICATION_ZH",
]

_DOC_TS = "/DocTimeStamp"
TOTAL_PASSED = "TOTAL_PASSED"
TOTAL_FAILED = "TOTAL_FAILED"
INDETERMINATE = "INDETERMINATE"
_RANK = {TOTAL_PASSED: 0, INDETERMINATE: 1, TOTAL_FAILED: 2}


@dataclass(frozen=True)
class VerificationLimits:
    """Bounds that keep hostile input from exhausting the verifier."""

    max_bytes: int = 64 * 1024 * 1024
    max_objects: int = 500_000
    max_revisions: int = 200
    max_signatures: int = 50
    timeout_seconds: float = 60.0


@dataclass
class SignerSummary:
    organisation: str | None
    common_name: str | None
    serial: str | None
    issuer: str | None


@dataclass
class SignatureReport:
    field: str
    signer: SignerSummary | None
    signed_at: str | None
    timestamp: str | None
    indication: str
    sub_indication: str | None
    intact: bool
    trusted: bool
    coverage: str | None
    modified_after: str | None
    revocation: str
    docmdp_ok: bool | None
    revision: int | None
    kind: str = "signature"  # or "document_timestamp"
    modification_level: str | None = None
    certifying: bool = False
    messages: list[str] = dataclass_field(default_factory=list)
    # Who issued the timestamp (时间戳机构): for a document timestamp this is its only party;
    # a timestamp certificate is never shown as ``signer``.
    timestamp_authority: SignerSummary | None = None
    # 国密 SM2 / 国际 ECDSA, the technical name (SM2/SM3, ECDSA P-256/SHA-256) and that of the
    # signature timestamp (signing.gm.algorithms).
    algorithm: str | None = None
    algorithm_name: str | None = None
    timestamp_algorithm: str | None = None
    # What changed after this signature, one entry per finding (signing/changes.py):
    # kind, Chinese text, page, and the annotation's position (x, y) in PDF points.
    changes: list[dict[str, Any]] = dataclass_field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class VerificationReport:
    indication: str
    sub_indication: str | None
    file_sha256: str
    file_sm3: str
    signatures: list[SignatureReport]
    readable: bool = True
    message: str | None = None
    validation_time: str | None = None  # the moment the verdict holds for (ISO 8601)

    @property
    def has_signatures(self) -> bool:
        """Whether anybody signed: document timestamps alone are not signatures."""
        return any(s.kind == "signature" for s in self.signatures)

    @property
    def timestamps_only(self) -> bool:
        """Readable, unsigned, but carrying document timestamps (未签名（仅有时间戳）)."""
        return self.readable and bool(self.signatures) and not self.has_signatures

    def to_dict(self) -> dict[str, Any]:
        return {
            "indication": self.indication,
            "sub_indication": self.sub_indication,
            "file_sha256": self.file_sha256,
            "file_sm3": self.file_sm3,
            "readable": self.readable,
            "message": self.message,
            "signatures": [s.to_dict() for s in self.signatures],
            "timestamps_only": self.timestamps_only,
            "validation_time": self.validation_time,
        }


def exit_code(report: VerificationReport) -> int:
    """CLI contract: 0 all TOTAL_PASSED, 1 TOTAL_FAILED, 2 INDETERMINATE, 3 unreadable/unsigned
    (a file with document timestamps but no signature is unsigned)."""
    if not report.readable or not report.has_signatures:
        return 3
    return {TOTAL_PASSED: 0, TOTAL_FAILED: 1}.get(report.indication, 2)


# ----------------------------------------------------------------------------- entry points
def verify_pdf(
    data: bytes,
    *,
    trust_roots: Iterable[x509.Certificate | bytes] = (),
    crls: Iterable[bytes] = (),
    revocation_mode: str = "hard-fail",
    limits: VerificationLimits | None = None,
    at: dt.datetime | None = None,
    signature_validator: SignatureValidator | None = None,
) -> VerificationReport:
    """Verify every signature of ``data`` (sync; safe inside a running event loop).

    ``at``: the validation time (default now) — long-term rules apply, so a signature whose
    timestamp predates its certificate's expiry or (benign) revocation still passes.
    ``signature_validator``: pyHanko's per-signature algorithm hook (e.g. SM2, signing.gm)."""
    limits = limits or VerificationLimits()
    data = bytes(data)
    box: dict[str, VerificationReport] = {}
    roots, crl_list = list(trust_roots), list(crls)
    if at is not None and at.tzinfo is None:
        raise ValueError("the validation time must carry a time zone")

    def worker() -> None:
        box["report"] = asyncio.run(
            _verify(data, roots, crl_list, revocation_mode, limits, at, signature_validator)
        )

    thread = threading.Thread(target=worker, name="verify-pdf", daemon=True)
    thread.start()
    thread.join(limits.timeout_seconds)
    if "report" in box:
        return box["report"]
    return _unreadable(data, f"verification did not finish within {limits.timeout_seconds:g} s")


async def async_verify_pdf(
    data: bytes,
    *,
    trust_roots: Iterable[x509.Certificate | bytes] = (),
    crls: Iterable[bytes] = (),
    revocation_mode: str = "hard-fail",
    limits: VerificationLimits | None = None,
    at: dt.datetime | None = None,
    signature_validator: SignatureValidator | None = None,
) -> VerificationReport:
    """Async :func:`verify_pdf`: the work runs in a worker thread, bounded by the timeout."""
    return await asyncio.to_thread(
        verify_pdf,
        data,
        trust_roots=list(trust_roots),
        crls=list(crls),
        revocation_mode=revocation_mode,
        limits=limits,
        at=at,
        signature_validator=signature_validator,
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


def _dss_material(
    reader: PdfFileReader,
) -> tuple[list[asn1_crl.CertificateList], list[Any], list[Any]]:
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except Exception:
        return [], [], []
    crls, ocsps = [], []
    for ref in dss.crls:
        try:
            crls.append(asn1_crl.CertificateList.load(ref.get_object().data))
        except Exception:  # noqa: S112 - a broken DSS entry is just not used
            continue
    for ref in dss.ocsps:
        try:
            ocsps.append(ref.get_object().data)
        except Exception:  # noqa: S112
            continue
    certs = []
    for ref in dss.certs.values():
        try:
            obj = ref.get_object() if hasattr(ref, "get_object") else ref
            certs.append(
                obj
                if isinstance(obj, asn1_x509.Certificate)
                else asn1_x509.Certificate.load(obj.data)
            )
        except Exception:  # noqa: S112
            continue
    return crls, ocsps, certs


async def _verify(
    data: bytes,
    trust_roots: Sequence[x509.Certificate | bytes],
    crls: Sequence[bytes],
    revocation_mode: str,
    limits: VerificationLimits,
    at: dt.datetime | None,
    signature_validator: SignatureValidator | None,
) -> VerificationReport:
    report = await _verify_at(
        data, trust_roots, crls, revocation_mode, limits, at, signature_validator
    )
    report.validation_time = (at or dt.datetime.now(dt.UTC)).isoformat()
    return report


async def _verify_at(
    data: bytes,
    trust_roots: Sequence[x509.Certificate | bytes],
    crls: Sequence[bytes],
    revocation_mode: str,
    limits: VerificationLimits,
    at: dt.datetime | None,
    signature_validator: SignatureValidator | None,
) -> VerificationReport:
    if not data:
        return _unreadable(data, "empty file")
    if len(data) > limits.max_bytes:
        return _unreadable(data, f"file larger than {limits.max_bytes} bytes")
    if b"%PDF-" not in data[:1024]:
        return _unreadable(data, "not a PDF (no %PDF- header)")
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        if reader.encrypted:
            return _unreadable(
                data, "encrypted PDF: signatures cannot be checked without decryption"
            )
        revisions = reader.xrefs.total_revisions
        if revisions > limits.max_revisions:
            return _unreadable(data, f"more than {limits.max_revisions} revisions")
        objects = sum(
            len(list(reader.xrefs.explicit_refs_in_revision(r))) for r in range(revisions)
        )
        if objects > limits.max_objects:
            return _unreadable(data, f"more than {limits.max_objects} objects")
        embedded, broken = _collect_signatures(reader)
    except RecursionError:
        return _unreadable(data, "PDF structure nested too deeply")
    except Exception as exc:
        return _unreadable(data, f"not a readable PDF: {type(exc).__name__}: {exc}"[:500])
    if len(embedded) + len(broken) > limits.max_signatures:
        return _unreadable(data, f"more than {limits.max_signatures} signatures")
    base = VerificationReport(
        indication=INDETERMINATE,
        sub_indication="SIGNED_DATA_NOT_FOUND",
        file_sha256=sha256_hex(data),
        file_sm3=sm3_hex(data),
        signatures=[],
        message="the PDF has no signatures" if not (embedded or broken) else None,
    )
    if not embedded and not broken:
        return base
    try:
        dss_crls, dss_ocsps, dss_certs = _dss_material(reader)
        roots = [_as_asn1(c) for c in trust_roots]
        crl_objs = [asn1_crl.CertificateList.load(c) for c in crls] + dss_crls
    except Exception as exc:
        return _unreadable(data, f"bad trust material or DSS: {exc}"[:500])

    checker = _Checker(
        roots=roots,
        crls=crl_objs,
        certs=dss_certs,
        ocsps=dss_ocsps,
        revocation_mode=revocation_mode,
        at=at,
        # The one dispatch point for SM2 (国密): SM2-with-SM3 is checked in signing/gm,
        # every other algorithm by pyHanko's default validator.
        signature_validator=signature_validator or GmSignatureValidator(),
        signature_fields={s.field_name for s in embedded},
        data=data,
        timestamp_revisions=[s.signed_revision for s in embedded if s.sig_object_type == _DOC_TS],
        signatures=embedded,
    )
    reports = []
    # Signatures first: their long-term validation walks the document timestamps as the
    # evidence record, and whether that chain holds decides the timestamps' own verdict.
    order = sorted(enumerate(embedded), key=lambda item: item[1].sig_object_type == _DOC_TS)
    for index, sig in order:
        is_last = index == len(embedded) - 1
        try:
            report = await checker.check(sig, is_last)
        except RecursionError:
            report = _broken(sig, "signature structure nested too deeply")
        except Exception as exc:
            report = _broken(sig, f"{type(exc).__name__}: {exc}"[:500])
        reports.append(report)
    reports.extend(broken)
    reports.sort(key=lambda r: r.revision if r.revision is not None else 1 << 30)
    worst = max(reports, key=lambda r: _RANK[r.indication])
    base.signatures = reports
    base.indication = worst.indication
    base.sub_indication = worst.sub_indication
    if not base.has_signatures and worst.indication != TOTAL_FAILED:
        # Anyone can get a document timestamp from an open TSA: it proves when the bytes
        # existed, not that anybody agreed to them.
        base.indication, base.sub_indication = INDETERMINATE, "SIGNED_DATA_NOT_FOUND"
        base.message = "the PDF has no signatures, only document timestamps"
    return base


def _collect_signatures(
    reader: PdfFileReader,
) -> tuple[list[EmbeddedPdfSignature], list[SignatureReport]]:
    """Filled signature fields in signing order; ones pyHanko cannot load become FORMAT_FAILURE
    reports (pyHanko itself would silently skip e.g. an unknown /SubFilter)."""
    good: list[EmbeddedPdfSignature] = []
    broken: list[SignatureReport] = []
    for name, sig_obj, sig_field in enumerate_sig_fields(reader, filled_status=True):
        try:
            subfilter = sig_obj.get_object().get("/SubFilter")
            if str(subfilter) not in {
                "/adbe.pkcs7.detached",
                "/ETSI.CAdES.detached",
                "/ETSI.RFC3161",
                "/adbe.pkcs7.sha1",
            }:
                raise ValueError(f"unsupported /SubFilter {subfilter}")
            good.append(EmbeddedPdfSignature(reader, sig_field, name))
        except RecursionError:
            broken.append(_broken_field(str(name), "signature dictionary nested too deeply"))
        except Exception as exc:
            revision = None
            try:
                ref = sig_field.get_object().raw_get("/V")
                revision = reader.xrefs.get_last_change(ref.reference)
            except Exception:  # noqa: S110 - ordering hint only
                pass
            message = f"signature cannot be read: {type(exc).__name__}: {exc}"[:500]
            broken.append(_broken_field(str(name), message, revision))
    good.sort(key=lambda emb: emb.signed_revision)
    return good, broken


def _broken_field(name: str, message: str, revision: int | None = None) -> SignatureReport:
    return SignatureReport(
        field=name,
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


def _broken(sig: EmbeddedPdfSignature, message: str) -> SignatureReport:
    field_name = "?"
    revision = None
    try:
        field_name = str(sig.field_name)
        revision = sig.signed_revision
    except Exception:  # noqa: S110 - best effort only
        pass
    return _broken_field(field_name, message, revision)


def signing_purpose_problem(cert: asn1_x509.Certificate) -> str | None:
    """Why ``cert`` may not sign a document (in Chinese), or None: a timestamp certificate
    (EKU id-kp-timeStamping) or one whose key usage allows neither digitalSignature nor
    nonRepudiation is not a seal, however good its chain."""
    try:
        eku = cert.extended_key_usage_value
        key_usage = cert.key_usage_value
    except ValueError:
        return "签名证书的用途扩展无法解析"
    if eku is not None and "time_stamping" in set(eku.native):
        return "签名证书是时间戳服务证书（用途 timeStamping），不能作为签章证书"
    if key_usage is not None and not {"digital_signature", "non_repudiation"} & set(
        key_usage.native
    ):
        return "签名证书的密钥用途不含数字签名（digitalSignature）或不可否认（nonRepudiation）"
    return None


def _name_of(cert: asn1_x509.Certificate) -> SignerSummary:
    subject = cert.subject.native
    return SignerSummary(
        organisation=_first(subject.get("organization_name")),
        common_name=_first(subject.get("common_name")),
        serial=format(cert.serial_number, "X"),
        issuer=_issuer_text(cert.issuer),
    )


def _issuer_text(name: asn1_x509.Name) -> str:
    """The issuer's common name (its organisation in brackets when it adds something)."""
    native = name.native
    cn, org = _first(native.get("common_name")), _first(native.get("organization_name"))
    if cn and org and org not in cn:
        return f"{cn}（{org}）"
    return cn or org or name.human_friendly


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        return str(value[0]) if value else None
    return str(value) if value is not None else None


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _describe_changes(
    diff: DiffResult | SuspiciousModification | None, signature_fields: set[str]
) -> tuple[str | None, str | None, bool]:
    """(description, modification level, acceptable?) for what happened after a signature."""
    if diff is None:
        return None, ModificationLevel.NONE.name, True
    if isinstance(diff, SuspiciousModification):
        # pyHanko's message names internals (xref sections, object ids): the revision
        # comparison (signing/changes.py) says what changed instead.
        return "签名后文档被作了不允许的修改", ModificationLevel.OTHER.name, False
    level = diff.modification_level
    fields = sorted(diff.changed_form_fields)
    if level == ModificationLevel.NONE:
        return None, level.name, True
    if level == ModificationLevel.LTA_UPDATES:
        return "其后仅增加了验证数据或文档时间戳", level.name, True
    if level == ModificationLevel.FORM_FILLING:
        others = [f for f in fields if f not in signature_fields]
        if others:
            return (
                f"签名后填写了签名域以外的表单域：{'、'.join(others)}",
                level.name,
                False,
            )
        return f"其后仅有后续签名填写签名域：{'、'.join(fields)}", level.name, True
    if level == ModificationLevel.ANNOTATIONS:
        return "签名后增加或修改了注释（批注）", level.name, False
    return "签名后文档内容被修改", level.name, False


def _changes_after(sig: EmbeddedPdfSignature) -> list[changes.Change]:
    try:
        return changes.changes_after(sig.reader, sig.signed_revision)
    except RecursionError:
        return []
    except Exception:  # a hostile structure: the verdict stands on pyHanko's analysis
        return []


def _junk_after_last_revision(
    sig: EmbeddedPdfSignature, data: bytes, coverage: SignatureCoverageLevel | None
) -> str | None:
    """Bytes the reader does not account for: after the final %%EOF, or after the last signed
    revision when no later revision was recognised."""
    stripped = data.rstrip(b" \r\n\t\x00")
    if not stripped.endswith(b"%%EOF"):
        return "最后一个 %%EOF 之后的内容不是有效的增量更新"
    total = sig.reader.xrefs.total_revisions
    if coverage == SignatureCoverageLevel.ENTIRE_REVISION and sig.signed_revision == total - 1:
        byte_range = [int(x) for x in sig.byte_range]
        tail = data[byte_range[2] + byte_range[3] :]
        if tail.strip(b" \r\n\t\x00"):
            return f"最后一个已签名版本之后有 {len(tail)} 字节不是有效的增量更新"
    return None


@dataclass
class _Checker:
    """Trust material and settings shared by every signature of one document."""

    roots: list[asn1_x509.Certificate]
    crls: list[asn1_crl.CertificateList]
    certs: list[asn1_x509.Certificate]
    ocsps: list[Any]
    revocation_mode: str
    at: dt.datetime | None
    signature_validator: SignatureValidator
    signature_fields: set[str]
    data: bytes
    # Revisions of the document timestamps (the evidence record of an archive form).
    timestamp_revisions: list[int] = dataclass_field(default_factory=list)
    # Set once a signature's long-term validation found the chain of document timestamps
    # valid (each proven by the next, the newest valid now): the oldest one's time.
    evidence_record_time: dt.datetime | None = None
    signatures: list[EmbeddedPdfSignature] = dataclass_field(default_factory=list)
    _evidence_record_checked: bool = False

    async def evidence_record_holds(self, timestamp: EmbeddedPdfSignature) -> bool:
        """Whether the chain of document timestamps holds at the validation time, as pyHanko's
        long-term validation of a signature before ``timestamp`` finds it (once per file)."""
        if self.evidence_record_time is None and not self._evidence_record_checked:
            self._evidence_record_checked = True
            before = [
                s
                for s in self.signatures
                if s.sig_object_type != _DOC_TS and s.signed_revision < timestamp.signed_revision
            ]
            if before:
                with contextlib.suppress(Exception):  # no verdict for the timestamp, no more
                    self.evidence_record_time = await ltv.evidence_record_time(
                        before[-1], self.spec, self.at
                    )
        return self.evidence_record_time is not None

    def archived(self, sig: EmbeddedPdfSignature) -> bool:
        """Whether document timestamps follow ``sig`` (it is in an archive form)."""
        return any(r > sig.signed_revision for r in self.timestamp_revisions)

    def context(self) -> ValidationContext:
        """Validation context at the validation time (document timestamps)."""
        return ValidationContext(
            trust_roots=self.roots,
            other_certs=self.certs,
            crls=self.crls,
            ocsps=self.ocsps,
            allow_fetching=False,
            revocation_mode=self.revocation_mode,
            moment=self.at,
            signature_validator=self.signature_validator,
        )

    @functools.cached_property
    def spec(self) -> SignatureValidationSpec:
        """One AdES validation spec for every signature of the document."""
        return ltv.validation_spec(
            self.roots,
            self.crls,
            self.certs,
            self.revocation_mode,
            signature_validator=self.signature_validator,
        )

    async def check(self, sig: EmbeddedPdfSignature, is_last: bool) -> SignatureReport:
        return await _check_one(sig, self, is_last)


async def _check_one(
    sig: EmbeddedPdfSignature, checker: _Checker, is_last: bool
) -> SignatureReport:
    is_timestamp = sig.sig_object_type == "/DocTimeStamp"
    data = checker.data
    try:
        content_info = cms.ContentInfo.load(bytes(sig.pkcs7_content))
        if content_info["content_type"].native != "signed_data":
            raise ValueError("not a CMS SignedData")
        content_info["content"]["signer_infos"][0]["signature"].native  # noqa: B018 - full parse
    except Exception as exc:
        return _broken(sig, f"签名内容（/Contents）不是 CMS SignedData（{type(exc).__name__}）")
    status: PdfSignatureStatus | DocumentTimestampStatus
    long_term: ltv.LongTermResult | None = None
    if is_timestamp:
        status = await async_validate_pdf_timestamp(sig, validation_context=checker.context())
    else:
        long_term = await ltv.validate_with_time(
            sig, checker.spec, checker.at, checker.context, archived=checker.archived(sig)
        )
        status = long_term.status
        if long_term.evidence_record_time is not None:
            checker.evidence_record_time = long_term.evidence_record_time
    messages: list[str] = []
    description, level, acceptable = _describe_changes(status.diff_result, checker.signature_fields)
    # What changed, in domain terms, when pyHanko's difference analysis objects (an accepted
    # history — later signatures, validation data — costs nothing and reports nothing).
    found = [] if acceptable else _changes_after(sig)
    if found:
        description = changes.describe_changes(found)
    coverage = status.coverage
    if is_last:
        junk = _junk_after_last_revision(sig, data, coverage)
        if junk:
            acceptable = False
            description = junk
    timestamp_iso: str | None = None
    signed_at: str | None = None
    ts_ok: bool | None = None
    tsa_summary: SignerSummary | None = None
    purpose_problem: str | None = None
    if isinstance(status, DocumentTimestampStatus):
        timestamp_iso = _iso(status.timestamp)
        signed_at = timestamp_iso
        tsa_summary = _name_of(status.signing_cert)
    else:
        purpose_problem = signing_purpose_problem(status.signing_cert)
        if purpose_problem:
            messages.append(purpose_problem)
    if isinstance(status, PdfSignatureStatus):
        signed_at = _iso(status.signer_reported_dt)
        tsv = status.timestamp_validity
        if tsv is not None:
            timestamp_iso = _iso(tsv.timestamp)
            tsa_summary = _name_of(tsv.signing_cert)
            ts_ok = tsv.intact and tsv.valid
            if not tsv.trusted and long_term is None:
                messages.append("签名时间戳的证书不可信")
        if long_term is not None and long_term.evidence_record_time is not None:
            # Proven by the document timestamps: pyHanko reports the signature timestamp only
            # when it could also past-validate that token on its own; its time and TSA are read
            # from the token (its integrity was checked on the way).
            token = ltv.signature_timestamp_token(sig)
            if token is not None:
                tsa_cert, gen_time = token
                timestamp_iso = timestamp_iso or _iso(gen_time)
                tsa_summary = tsa_summary or _name_of(tsa_cert)
                tsa_expiry = tsa_cert["tbs_certificate"]["validity"]["not_after"].native
                if tsa_expiry < long_term.validation_time:
                    messages.append(
                        f"签名时间戳的证书已于 {beijing(tsa_expiry)} 过期；"
                        f"{beijing(long_term.evidence_record_time)} 的文档时间戳"
                        "证明签名及其时间戳在此之前已经存在"
                    )
    if long_term is not None:
        revocation, trust = _long_term_trust(long_term, checker.crls, messages)
        trusted = trust is None
    else:
        revoked = status.revoked
        revocation = "revoked" if revoked else ("good" if status.trusted else "unknown")
        trusted = bool(status.trusted)
        trust = None
        if (
            isinstance(status, DocumentTimestampStatus)
            and not trusted
            and not revoked
            and await checker.evidence_record_holds(sig)
        ):
            # Not valid at the validation time on its own (its TSA certificate expired), but
            # pyHanko's evidence-record validation (§ 5.6.3) past-validated it, proven by the
            # document timestamp after it.
            trusted, revocation = True, "good"
            messages.append(_proven_by_later_timestamp(status.signing_cert))
        elif revoked:
            trust = (TOTAL_FAILED, "REVOKED")
        elif not status.trusted:
            problem = status.trust_problem_indic
            name = getattr(problem, "name", None) or "CERTIFICATE_CHAIN_GENERAL_FAILURE"
            trust = (INDETERMINATE, name)

    indication, sub = TOTAL_PASSED, None
    if coverage is None or coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        indication, sub = TOTAL_FAILED, "FORMAT_FAILURE"
        messages.append("签名的字节范围（ByteRange）没有覆盖所签版本")
    elif not status.intact:
        indication, sub = TOTAL_FAILED, "HASH_FAILURE"
    elif not status.valid:
        indication, sub = TOTAL_FAILED, "SIG_CRYPTO_FAILURE"
    elif not acceptable or status.docmdp_ok is False:
        indication, sub = TOTAL_FAILED, "SIG_CONSTRAINTS_FAILURE"
        if status.docmdp_ok is False:
            messages.append("修改超出了认证签名（DocMDP）允许的范围")
    elif purpose_problem:
        indication, sub = TOTAL_FAILED, "CHAIN_CONSTRAINTS_FAILURE"
    elif trust is not None and trust[1] == "REVOKED":
        indication, sub = trust
    elif ts_ok is False:
        indication, sub = TOTAL_FAILED, "SIG_CRYPTO_FAILURE"
        messages.append("签名时间戳无效")
    elif trust is not None:
        indication, sub = trust
    field_name = str(sig.field_name)
    certifying = False
    with contextlib.suppress(Exception):
        certifying = sig.docmdp_level is not None
    algorithm = describe_algorithm(sig.signer_info, status.signing_cert.public_key)
    return SignatureReport(
        field=field_name,
        signer=None if is_timestamp else _name_of(status.signing_cert),
        signed_at=signed_at,
        timestamp=timestamp_iso,
        indication=indication,
        sub_indication=sub,
        intact=bool(status.intact),
        trusted=trusted,
        coverage=coverage.name if coverage is not None else None,
        modified_after=description,
        revocation=revocation,
        docmdp_ok=status.docmdp_ok,
        revision=sig.signed_revision,
        kind="document_timestamp" if is_timestamp else "signature",
        modification_level=level,
        certifying=certifying,
        messages=messages,
        timestamp_authority=tsa_summary,
        changes=[c.to_dict() for c in found],
        algorithm=algorithm.label_zh,
        algorithm_name=algorithm.name,
        timestamp_algorithm=None if is_timestamp else timestamp_algorithm(sig.signer_info),
    )


def _proven_by_later_timestamp(tsa_cert: asn1_x509.Certificate) -> str:
    not_after = tsa_cert["tbs_certificate"]["validity"]["not_after"].native
    return (
        f"时间戳证书已于 {beijing(not_after)} 过期；其后的文档时间戳证明该时间戳"
        "在证书有效期内已经存在"
    )


def _long_term_trust(
    long_term: ltv.LongTermResult,
    crls: Sequence[asn1_crl.CertificateList],
    messages: list[str],
) -> tuple[str, tuple[str, str] | None]:
    """(revocation state, (indication, sub-indication) of a trust problem or None) for a
    signature validated with its timestamp as proof of existence; notes in ``messages``."""
    status = long_term.status
    cert = status.signing_cert
    now = long_term.validation_time
    poe = long_term.best_signature_time
    if poe is not None and poe >= now:
        poe = None  # no timestamp: nothing proves the signature existed before now
    details = status.revocation_details
    revocation = "good" if long_term.passed else "unknown"
    # pyHanko stops at an expired certificate before it looks at revocation: the CRLs are read
    # here too, so a revocation before the signature is found whenever the validation runs.
    finding = ltv.revocation_verdict(
        cert, crls, poe, details.revocation_date if details is not None else None
    )
    if (
        finding is not None
        or details is not None
        or getattr(long_term.ades_subindication, "name", "") == "REVOKED_NO_POE"
    ):
        revocation = "revoked"
        if finding is not None:
            reason = ltv.REASON_ZH.get(finding.reason, finding.reason)
            when = beijing(finding.revoked_at)
            if finding.fatal:
                invalid = (
                    f"，失效时间 {beijing(finding.invalid_since)}" if finding.invalid_since else ""
                )
                messages.append(f"证书已于 {when} 吊销（{reason}{invalid}），早于签名时间")
                return revocation, (TOTAL_FAILED, "REVOKED")
            if finding.uncertain:
                messages.append(
                    f"证书已于 {when} 因{reason}被吊销，晚于签名时间，但 CA 未给出密钥失效时间，"
                    "无法确认签名时密钥仍然安全"
                )
                return revocation, (INDETERMINATE, "REVOKED_NO_POE")
            messages.append(f"签名时证书有效；该证书已于 {when} 吊销（{reason}）")
        elif not long_term.passed:
            return revocation, (TOTAL_FAILED, "REVOKED")
    not_after = cert["tbs_certificate"]["validity"]["not_after"].native
    if not_after < now:
        if poe is not None and poe <= not_after:
            messages.append(f"签名时证书有效；该证书已于 {beijing(not_after)} 过期")
        elif poe is not None:
            messages.append(f"签名时间 {beijing(poe)} 晚于证书到期时间")
            return revocation, (TOTAL_FAILED, "EXPIRED")
    if long_term.passed:
        return revocation, None
    indication = long_term.ades_subindication
    name = str(getattr(indication, "name", indication))
    failed = getattr(indication.status, "name", "") == "FAILED"
    return revocation, (TOTAL_FAILED if failed else INDETERMINATE, name)


# ------------------------------------------------------------------------- human summary
# One wording per verdict, everywhere (CLI, API summary, pages, the sealed report).
INDICATION_ZH = {TOTAL_PASSED: "验证通过", TOTAL_FAILED: "验证失败", INDETERMINATE: "无法确定"}
SUB_INDICATION_ZH = {
    "HASH_FAILURE": "签名后文档内容被篡改",
    "SIG_CRYPTO_FAILURE": "签名值或时间戳无效",
    "FORMAT_FAILURE": "文件或签名格式错误",
    "SIG_CONSTRAINTS_FAILURE": "签名后文档被作了不允许的修改",
    "REVOKED": "签名证书已被吊销",
    "NO_CERTIFICATE_CHAIN_FOUND": "签名证书不是由受信任的根证书签发",
    "OUT_OF_BOUNDS_NO_POE": "签名证书已过期或尚未生效，且没有时间戳证明签名早于过期",
    "EXPIRED": "签名时签名证书已过期",
    "NOT_YET_VALID": "签名证书尚未生效",
    "SIGNED_DATA_NOT_FOUND": "文档中没有签名",
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": "无法取得有效的吊销信息",
    "REVOKED_NO_POE": "签名证书已被吊销，无法确认签名早于吊销或密钥泄露",
    "NO_POE": "没有证据证明签名在证书有效期内已经存在",
    "TRY_LATER": "暂时无法取得吊销信息",
    "CHAIN_CONSTRAINTS_FAILURE": "签名证书或其证书链不符合要求（如自签名证书、证书用途不允许签署）",
}


def describe_zh(report: VerificationReport) -> list[str]:
    """Chinese one-line-per-finding summary for people (auditors, signers)."""
    lines = []
    if not report.readable:
        lines.append(f"无法读取该文件：{report.message or '格式错误'}")
        return lines
    if not report.signatures:
        lines.append("该文档中没有数字签名。")
        return lines
    if report.timestamps_only:
        lines.append("总体结论：未签名（仅有时间戳）")
        lines.append(
            "该文件没有任何签名，只有文档时间戳：时间戳只证明文件在该时间已经存在，"
            "不代表任何一方签署或认可了它。"
        )
        for i, ts in enumerate(report.signatures, start=1):
            tsa = ts.timestamp_authority
            who = (tsa.common_name or tsa.organisation) if tsa else "未知时间戳机构"
            verdict = (
                "有效"
                if ts.indication == TOTAL_PASSED
                else INDICATION_ZH.get(ts.indication, ts.indication)
            )
            when = beijing_iso(ts.timestamp) if ts.timestamp else "时间不明"
            lines.append(f"文档时间戳{i}：{when}，时间戳机构 {who}（时间戳本身{verdict}）")
        return lines
    overall = INDICATION_ZH.get(report.indication, report.indication)
    reason = SUB_INDICATION_ZH.get(report.sub_indication or "", report.sub_indication or "")
    lines.append(f"总体结论：{overall}" + (f"（{reason}）" if reason else ""))
    for i, sig in enumerate(report.signatures, start=1):
        if sig.kind == "document_timestamp":
            tsa = sig.timestamp_authority
            kind = "文档时间戳"
            who = "时间戳机构 " + ((tsa.common_name or tsa.organisation or "") if tsa else "未知")
        else:
            kind = "签名"
            who = (
                (sig.signer.organisation or sig.signer.common_name or "未知签署方")
                if sig.signer
                else "未知签署方"
            )
        verdict = INDICATION_ZH.get(sig.indication, sig.indication)
        algorithm = f"，{sig.algorithm}" if sig.algorithm else ""
        line = f"{kind}{i}（字段 {sig.field}，{who}{algorithm}）：{verdict}"
        if sig.sub_indication:
            line += f"，{SUB_INDICATION_ZH.get(sig.sub_indication, sig.sub_indication)}"
        if sig.timestamp:
            line += f"；时间戳 {beijing_iso(sig.timestamp)}"
        if sig.modified_after and sig.indication != TOTAL_PASSED:
            line += f"；签名后的修改：{sig.modified_after}"
        lines.append(line)
    return lines
