"""Long-term validation (长期验证) of one PDF signature, per ETSI EN 319 102-1 § 5.5
("validation process for signatures with time") and, for an archived file, § 5.6.3 (validation
process for signatures providing long term availability and integrity of validation material),
through pyHanko's AdES engine.

The signature timestamp is the proof of existence (PoE) of the signature: a certificate that
expired or was revoked *after* that time still validates, one revoked or expired *before* it
does not. In an archive form (PAdES B-LTA) the document timestamps that follow the signature are
the evidence record: each proves that everything before it — the signatures, their timestamps,
the DSS, the previous document timestamp — existed at its time, so a signature timestamp whose
TSA certificate has since expired is still proven by the next document timestamp, and so on up
to the newest one, which must validate at the validation time. pyHanko applies the revocation date; the reason and the invalidity date are ours to
weigh (``revocation_verdict``): after a key compromise the CA's invalidity date, when it gives
one, is when signatures stopped being trustworthy.

The validation time is a parameter (``at``), so an auditor can ask "what would a verifier say
on 2031-06-01"; by default it is now. Everything is offline: CRLs, certificates and PoEs come
from the caller and from the document's DSS.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.ades.report import AdESIndeterminate, AdESPassed, AdESSubIndic
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.validation import ades, async_validate_pdf_signature, generic_cms
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.poe import POEManager
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer
from pyhanko_certvalidator.sig_validate import SignatureValidator

__all__ = [
    "LongTermResult",
    "RevocationFinding",
    "validation_spec",
    "validate_with_time",
    "revocation_verdict",
    "validation_clock",
    "evidence_record_time",
    "signature_timestamp_token",
    "NEEDS_EVIDENCE_RECORD",
    "REASON_ZH",
]

# Reasons after which a signature made before the revocation stays good (the company closed,
# the seal was replaced, the organisation changed): the key itself was never in wrong hands.
COMPROMISE_REASONS = frozenset({"key_compromise", "ca_compromise", "aa_compromise"})
REASON_ZH = {
    "unspecified": "未说明原因",
    "key_compromise": "密钥泄露",
    "ca_compromise": "CA 密钥泄露",
    "affiliation_changed": "隶属关系变更",
    "superseded": "证书已被替换",
    "cessation_of_operation": "停止运营",
    "certificate_hold": "暂停使用",
    "remove_from_crl": "从 CRL 移除",
    "privilege_withdrawn": "权限撤销",
    "aa_compromise": "属性机构密钥泄露",
}


# ------------------------------------------------------------------ validation clock shim
# pyHanko 0.38's AdES engine reads the system clock in two places where the validation time
# should rule, so "verify as of 2038" with today's clock would answer for today:
# - a POEManager (proofs of existence) dates every object it has no proof for "now": the newest
#   document timestamp of an archive that nobody renewed would be "proven" to exist today,
#   before its TSA certificate expired, and pass;
# - ades._build_and_past_validate_cert calls past_validate without init_control_time, so the
#   time slide of past certificate validation (§ 5.6.2.1) starts at the system clock.
# While validation_clock(at) is active (a context variable: pyHanko's tasks inherit it, other
# threads and verifications do not), both use ``at`` instead. Outside it nothing changes.
_VALIDATION_TIME: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar(
    "jingpin_validation_time", default=None
)
_poe_manager_init = POEManager.__init__
_past_validate = ades.past_validate
if list(inspect.signature(_poe_manager_init).parameters) != ["self", "current_dt_override"] or (
    "init_control_time" not in inspect.signature(_past_validate).parameters
):  # pragma: no cover - a pyHanko upgrade must be checked against this shim
    raise ImportError("signing.ltv: pyHanko's POEManager/past_validate changed; review the shim")


def _clocked_poe_manager_init(
    self: POEManager, current_dt_override: dt.datetime | None = None
) -> None:
    _poe_manager_init(self, current_dt_override or _VALIDATION_TIME.get())


async def _clocked_past_validate(*args: Any, **kwargs: Any) -> dt.datetime:
    if kwargs.get("init_control_time") is None and len(args) < 4:
        kwargs["init_control_time"] = _VALIDATION_TIME.get()
    result: dt.datetime = await _past_validate(*args, **kwargs)
    return result


POEManager.__init__ = _clocked_poe_manager_init  # type: ignore[method-assign]
ades.past_validate = _clocked_past_validate


@contextlib.contextmanager
def validation_clock(at: dt.datetime) -> Iterator[None]:
    """Make ``at`` pyHanko's "now" for proofs of existence and past validation (see above)."""
    token = _VALIDATION_TIME.set(at)
    try:
        yield
    finally:
        _VALIDATION_TIME.reset(token)


@dataclass(frozen=True)
class LongTermResult:
    """What pyHanko's AdES engine found for one signature at one validation time."""

    status: PdfSignatureStatus
    ades_subindication: AdESSubIndic
    best_signature_time: dt.datetime | None
    validation_time: dt.datetime
    # The oldest document timestamp after the signature once the chain of document timestamps
    # (the evidence record) validated; None when there is none or the chain does not hold.
    evidence_record_time: dt.datetime | None = None

    @property
    def passed(self) -> bool:
        return self.ades_subindication == AdESPassed.OK


@dataclass(frozen=True)
class RevocationFinding:
    """The signer certificate's revocation weighed against the signature's proof of existence."""

    revoked_at: dt.datetime
    reason: str
    invalid_since: dt.datetime | None
    fatal: bool  # revoked (or compromised) before the signature is proven to exist
    # A key compromise reported after the signature, with no invalidity date: nobody can say
    # whether the key was still safe when it signed.
    uncertain: bool = False


def validation_spec(
    trust_roots: Sequence[asn1_x509.Certificate],
    crls: Sequence[asn1_crl.CertificateList],
    certs: Sequence[asn1_x509.Certificate],
    revocation_mode: str,
    *,
    signature_validator: SignatureValidator | None = None,
) -> SignatureValidationSpec:
    """Offline spec: our roots, the given CRLs and certificates, no fetching ever;
    ``signature_validator`` checks each signature value (pyHanko's default: RSA/ECDSA/EdDSA)."""
    extra: dict[str, Any] = {}
    if signature_validator is not None:
        extra["signature_validator"] = signature_validator
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=list(trust_roots)),
        revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy.from_legacy(revocation_mode)),
        **extra,
    )
    return SignatureValidationSpec(
        cert_validation_policy=policy,
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
            certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
        ),
        local_knowledge=LocalKnowledge(
            known_crls=[CRLContainer(c) for c in crls], known_certs=list(certs)
        ),
        # A seal signs with digitalSignature or nonRepudiation (a TSA's EKU is checked apart).
        key_usage_settings=KeyUsageConstraints(
            key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
        ),
    )


async def validate_with_time(
    sig: EmbeddedPdfSignature,
    spec: SignatureValidationSpec,
    at: dt.datetime | None,
    basic_context: Callable[[], ValidationContext],
    *,
    archived: bool = False,
) -> LongTermResult:
    """Integrity, difference analysis and the signature with its timestamp as PoE, at ``at``.

    ``archived``: document timestamps follow the signature, so they are walked as the evidence
    record (§ 5.6.3, pyHanko's ``ades_lta_validation``) and can prove the signature and its
    timestamp existed before their certificates expired."""
    sig.compute_integrity_info(diff_policy=DEFAULT_DIFF_POLICY)
    moment = at or dt.datetime.now(dt.UTC)
    timing = ValidationTimingInfo(
        validation_time=moment, best_signature_time=moment, point_in_time_validation=at is not None
    )
    if next(generic_cms.extract_tst_data_iter(sig.signer_info, signed=False), None) is None:
        # B-B: no timestamp, so nothing proves when it was made: basic validation (§ 5.3) at
        # the validation time. (pyHanko 0.38's ades_basic_validation ignores status_cls and
        # cannot build a PDF status, hence its classic entry point.)
        status = await async_validate_pdf_signature(
            sig,
            signer_validation_context=basic_context(),
            diff_policy=DEFAULT_DIFF_POLICY,
            key_usage_settings=spec.key_usage_settings,
        )
        problem = status.trust_problem_indic
        return LongTermResult(
            status=status,
            ades_subindication=AdESPassed.OK
            if status.trusted
            else (problem or AdESIndeterminate.GENERIC),
            best_signature_time=None,
            validation_time=moment,
        )
    with validation_clock(moment):
        if archived and _timestamp_certificate_out_of_bounds(sig, moment):
            # Its TSA certificate no longer proves anything at ``moment`` (a quarter of the
            # work would go into a with-time validation bound to say so).
            return await _with_evidence_record(sig, spec, timing)
        result = await ades.ades_with_time_validation(
            sig.signed_data,
            validation_spec=spec,
            timing_info=timing,
            raw_digest=sig.compute_digest(),
            extra_status_kwargs=sig.summarise_integrity_info(),
            status_cls=PdfSignatureStatus,
        )
        assert isinstance(result.api_status, PdfSignatureStatus)
        with_time = LongTermResult(
            status=result.api_status,
            ades_subindication=result.ades_subindic,
            best_signature_time=result.best_signature_time,
            validation_time=moment,
        )
        if archived and result.ades_subindic in NEEDS_EVIDENCE_RECORD:
            return await _with_evidence_record(sig, spec, timing)
    return with_time


# What the signature timestamp alone cannot settle but the document timestamps after it can: a
# certificate (the seal's, the signature timestamp's TSA) that is out of its validity period, or
# whose revocation status cannot be established, at the validation time. (A revocation is
# weighed against the PoE by revocation_verdict; a signature that passes needs nothing more —
# pyHanko 0.38 would still past-validate it and can fail a valid signature for lack of data
# about a time nobody asked about.)
NEEDS_EVIDENCE_RECORD = frozenset(
    {
        AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
        AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
        AdESIndeterminate.NO_POE,
        AdESIndeterminate.REVOCATION_OUT_OF_BOUNDS_NO_POE,
        AdESIndeterminate.REVOKED_CA_NO_POE,
        AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
    }
)


def signature_timestamp_token(
    sig: EmbeddedPdfSignature,
) -> tuple[asn1_x509.Certificate, dt.datetime] | None:
    """(TSA certificate, genTime) of the signature's timestamp token, read without validation
    (None: no token, or one too malformed to read)."""
    try:
        token = next(generic_cms.extract_tst_data_iter(sig.signer_info, signed=False), None)
        if token is None:
            return None
        tst_info = token["encap_content_info"]["content"].parsed
        cert = generic_cms.extract_certificate_info(token).signer_cert
        return cert, tst_info["gen_time"].native
    except Exception:  # the with-time validation says what is wrong with it
        return None


def _timestamp_certificate_out_of_bounds(sig: EmbeddedPdfSignature, moment: dt.datetime) -> bool:
    """Whether the signature timestamp's TSA certificate is outside its validity at ``moment``
    (only decides which validation runs)."""
    token = signature_timestamp_token(sig)
    if token is None:
        return False
    validity = token[0]["tbs_certificate"]["validity"]
    return not validity["not_before"].native <= moment <= validity["not_after"].native


async def _with_evidence_record(
    sig: EmbeddedPdfSignature, spec: SignatureValidationSpec, timing: ValidationTimingInfo
) -> LongTermResult:
    """§ 5.6.3 through pyHanko (call inside validation_clock): the chain of document timestamps
    is validated newest first, each one that no longer validates on its own past-validated
    with the next as its PoE; the signature then gets the oldest PoE that chain gives."""
    # diff_policy None: pyHanko would rerun the difference analysis of every signature and
    # timestamp of the file for each signature; the evidence record needs only their coverage,
    # and our verifier analyses each revision once itself.
    lta = await ades.ades_lta_validation(
        sig, PdfSignatureValidationSpec(spec, diff_policy=None), timing_info=timing
    )
    assert isinstance(lta.api_status, PdfSignatureStatus)
    return LongTermResult(
        status=lta.api_status,
        ades_subindication=lta.ades_subindic,
        best_signature_time=lta.best_signature_time,
        validation_time=timing.validation_time,
        evidence_record_time=lta.oldest_evidence_record_timestamp,
    )


async def evidence_record_time(
    sig: EmbeddedPdfSignature, spec: SignatureValidationSpec, at: dt.datetime | None
) -> dt.datetime | None:
    """The oldest document timestamp after ``sig`` if the chain of document timestamps holds at
    ``at`` (every one valid now or proven by the next), else None: decides whether a document
    timestamp whose own TSA certificate has expired still counts."""
    moment = at or dt.datetime.now(dt.UTC)
    timing = ValidationTimingInfo(
        validation_time=moment, best_signature_time=moment, point_in_time_validation=at is not None
    )
    with validation_clock(moment):
        return (await _with_evidence_record(sig, spec, timing)).evidence_record_time


def revocation_verdict(
    cert: asn1_x509.Certificate,
    crls: Sequence[asn1_crl.CertificateList],
    proof_of_existence: dt.datetime | None,
    revoked_at: dt.datetime | None,
) -> RevocationFinding | None:
    """Weigh the revocation pyHanko found (``revoked_at``) with the CRL entry's reason and
    invalidity date: fatal when the revocation — or, after a compromise, the earliest invalidity
    date any CRL gives — is not after the proof of existence. None when no CRL lists ``cert``.

    Entries only ever move the cut-off earlier, so an untrusted CRL in a document's DSS can make
    a signature fail but never pass."""
    reason, invalid = "unspecified", None
    found = False
    for crl in crls:
        if crl.issuer != cert.issuer:
            continue
        for entry in crl["tbs_cert_list"]["revoked_certificates"]:
            if entry["user_certificate"].native != cert.serial_number:
                continue
            found = True
            if entry.crl_reason_value is not None:
                reason = entry.crl_reason_value.native
            date = entry.invalidity_date_value.native if entry.invalidity_date_value else None
            if date is not None:
                invalid = date if invalid is None else min(invalid, date)
            entry_revoked = entry["revocation_date"].native
            revoked_at = entry_revoked if revoked_at is None else min(revoked_at, entry_revoked)
    if not found or revoked_at is None or reason == "remove_from_crl":
        return None
    cutoff = revoked_at
    if reason in COMPROMISE_REASONS and invalid is not None:
        cutoff = min(cutoff, invalid)
    fatal = proof_of_existence is None or cutoff <= proof_of_existence
    uncertain = not fatal and reason in COMPROMISE_REASONS and invalid is None
    return RevocationFinding(revoked_at, reason, invalid, fatal, uncertain)
