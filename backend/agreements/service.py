"""Agreements: create (render → PDF → signature fields), sign in order 乙 → 丙 → 甲, decline.
(The evidence package is backend.verification.evidence: it includes the sealed report.) Services only flush; the request (or CLI command) commits once.

Signing is split in three steps so that the async endpoint can run the signature itself on the
event loop (pyHanko's async API) while database work runs in the threadpool:
``begin_signing`` (checks, fresh password, row lock FOR UPDATE, signer) → ``sign_pdf`` (worker thread) →
``finish_signing`` (store revision, signature row, audit; after the last one: the archive form
PAdES B-LTA — validation data and a document timestamp — is verified and becomes the agreement's
document before ``fully_signed`` is recorded: ``finalise``, in the request, or with a job queue
in the `sign-finalise` worker while the agreement is ``finalising``, backend.agreements.jobs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from backend.agreements.events import AgreementFullySigned
from backend.agreements.models import (
    GATE_LABELS,
    SIGNING_ORDER,
    Agreement,
    AgreementMilestone,
    AgreementSignature,
    AgreementStatus,
    Gate,
    Party,
)
from backend.agreements.schemas import (
    AgreementDetail,
    AgreementRead,
    HistoryEntry,
    MilestoneTermRead,
    PartyRead,
    PartySignatureRead,
    SignatureRead,
)
from backend.audit_log.models import AuditEvent
from backend.audit_log.service import record, trail
from backend.auth.models import Role, User
from backend.auth.service import confirm_password
from backend.auth.totp import Factor, verify_step_up
from backend.core import events, jobs
from backend.core.dates import today_shanghai
from backend.core.db import utcnow
from backend.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from backend.core.metrics import SIGNATURES
from backend.core.money import format_fen
from backend.documents.contexts import agreement_context
from backend.documents.models import Document, DocumentFormat, DocumentKind, SubjectType
from backend.documents.pdf_layout import LayoutNotFound, last_page
from backend.documents.render import render_docx, template_sha256
from backend.documents.service import context_digest, pdf_for_docx, store_rendered
from backend.documents.store import get_store
from backend.orgs.models import Organisation, OrgKind, RecommendingUnit
from backend.pki.seals import ses_signature_for
from backend.pki.service import (
    PROFILE_ALGORITHMS,
    CryptoProfile,
    SealAlgorithm,
    archive_bytes,
    font_cache_dir,
    profile_of,
    seal_picture,
    seal_signing,
    verify_bytes,
)
from backend.workflow import notifications as notes
from backend.works.models import Work, WorkStatus
from signing.appearance import SignatureAppearance
from signing.errors import PdfSigningError
from signing.pades import FieldSpec, PadesLevel, SigningRequest, prepare, sign_pdf
from signing.verify import TOTAL_PASSED, describe_zh

TEMPLATE = "agreement.docx"
INSET = 2.0  # pt inside the table cell, so the appearance does not cover the cell border
DEFAULT_SPLIT = (
    (Gate.agreement_signed, "首期款", 40),
    (Gate.midterm_check_passed, "中期款", 30),
    (Gate.acceptance_passed, "尾款", 30),
)
SEE_ALL = {Role.ministry_officer, Role.finance, Role.auditor, Role.admin}
LIVE = {
    AgreementStatus.draft,
    AgreementStatus.open,
    AgreementStatus.signing,
    AgreementStatus.finalising,
    AgreementStatus.finalise_failed,  # until the ministry voids it
    AgreementStatus.fully_signed,
}
PARTY_ROLE = {
    Party.yi: Role.producer,
    Party.bing: Role.unit_reviewer,
    Party.jia: Role.ministry_officer,
}


# --------------------------------------------------------------------------- visibility
def party_org_id(ag: Agreement, party: Party) -> int:
    return {
        Party.yi: ag.producer_org_id,
        Party.bing: ag.unit_org_id,
        Party.jia: ag.ministry_org_id,
    }[party]


def party_column(party: Party) -> Any:
    return {
        Party.yi: col(Agreement.producer_org_id),
        Party.bing: col(Agreement.unit_org_id),
        Party.jia: col(Agreement.ministry_org_id),
    }[party]


def signers(session: Session, ag: Agreement, party: Party) -> list[User]:
    """The active users who may sign for ``party``: its role in its organisation."""
    return list(
        session.exec(
            select(User).where(
                User.organisation_id == party_org_id(ag, party),
                User.role == PARTY_ROLE[party],
                col(User.is_active).is_(True),
            )
        )
    )


def tell_next_party(session: Session, ag: Agreement) -> None:
    """轮到您签署: notify (and mail) the users of the party whose turn it now is."""
    if ag.next_party is None:
        return
    party = Party(ag.next_party)
    work = session.get(Work, ag.work_id)
    title = f"《{work.title}》" if work else ""
    notes.notify(
        session,
        signers(session, ag, party),
        f"{title}三方协议轮到{party.label}签署",
        f"协议 {ag.number} 现轮到{party.label}签署，请登录系统核对协议内容后签署。",
        f"/agreements/{ag.id}",
    )


def party_of(user: User, ag: Agreement) -> Party | None:
    for party in SIGNING_ORDER:
        if user.role == PARTY_ROLE[party] and user.organisation_id == party_org_id(ag, party):
            return party
    return None


def readable(user: User) -> ColumnElement[bool] | None:
    """The agreements a user may see (None = none): every one for the ministry, finance,
    auditors and admin; a producer or unit reviewer only those their organisation is party to.
    Every read (list, detail, funding, pages) goes through this clause."""
    if user.role in SEE_ALL:
        return col(Agreement.id).is_not(None)
    if user.role == Role.producer:
        return col(Agreement.producer_org_id) == user.organisation_id
    if user.role == Role.unit_reviewer:
        return col(Agreement.unit_org_id) == user.organisation_id
    return None


def list_agreements(session: Session, user: User, work_id: int | None = None) -> list[Agreement]:
    clause = readable(user)
    if clause is None:
        return []
    query = select(Agreement).where(clause).order_by(col(Agreement.id).desc())
    if work_id is not None:
        query = query.where(Agreement.work_id == work_id)
    return list(session.exec(query).all())


def get_agreement(session: Session, user: User, agreement_id: int) -> Agreement:
    """404 for anything outside the user's scope, so strangers cannot learn it exists."""
    clause = readable(user)
    ag = (
        session.exec(select(Agreement).where(Agreement.id == agreement_id, clause)).first()
        if clause is not None
        else None
    )
    if ag is None:
        raise NotFound("未找到该协议", code="agreement_not_found")
    return ag


def awaiting(session: Session, user: User) -> list[Agreement]:
    """Agreements whose next signature is this user's (home page: 待我签署)."""
    party = next((p for p in SIGNING_ORDER if PARTY_ROLE[p] == user.role), None)
    clause = readable(user)
    if party is None or clause is None:
        return []
    query = (
        select(Agreement)
        .where(
            clause,
            col(Agreement.status).in_([AgreementStatus.open, AgreementStatus.signing]),
            Agreement.next_party == party.value,
            party_column(party) == user.organisation_id,
        )
        .order_by(col(Agreement.id).desc())
    )
    return list(session.exec(query).all())


def works_awaiting_agreement(session: Session) -> list[Work]:
    """Confirmed works (确认入选) without a live agreement: the ministry generates one for each."""
    live = select(Agreement.work_id).where(col(Agreement.status).in_(list(LIVE)))
    return list(
        session.exec(
            select(Work)
            .where(Work.status == WorkStatus.confirmed, col(Work.id).not_in(live))
            .order_by(col(Work.id))
        ).all()
    )


# --------------------------------------------------------------------------- creation
@dataclass
class MilestoneInput:
    name: str
    amount_fen: int
    gate: Gate
    planned_date: date | None = None


def default_milestones(grant_fen: int) -> list[MilestoneInput]:
    if grant_fen <= 0:
        return []
    first = grant_fen * 40 // 100
    second = grant_fen * 30 // 100
    amounts = [first, second, grant_fen - first - second]
    return [
        MilestoneInput(name, amount, gate)
        for (gate, name, _pct), amount in zip(DEFAULT_SPLIT, amounts, strict=True)
        if amount > 0
    ]


def _orgs_for(
    session: Session, work: Work
) -> tuple[Organisation, RecommendingUnit, Organisation, Organisation]:
    producer = session.get(Organisation, work.organisation_id)
    unit = session.get(RecommendingUnit, work.unit_id)
    unit_org = session.exec(
        select(Organisation).where(
            Organisation.unit_id == work.unit_id, Organisation.kind == OrgKind.unit
        )
    ).first()
    ministry = session.exec(
        select(Organisation).where(Organisation.kind == OrgKind.ministry)
    ).first()
    if producer is None or unit is None or unit_org is None or ministry is None:
        raise ValidationFailed("协议各方机构信息不完整", code="parties_missing")
    return producer, unit, unit_org, ministry


def validate_money(
    work: Work, grant_fen: int, milestones: list[MilestoneInput], reason: str
) -> None:
    fields: dict[str, str] = {}
    if grant_fen < 0:
        fields["grant_fen"] = "扶持资金金额不能为负数"
    if work.central_support_received and grant_fen != 0:
        fields["grant_fen"] = "该作品已获得中央财政资金扶持，不再发放扶持资金（金额须为0）"
    if grant_fen > work.requested_fen and not reason.strip():
        fields["over_request_reason"] = (
            f"扶持资金{format_fen(grant_fen)}超过申请金额{format_fen(work.requested_fen)}，须说明理由"
        )
    for i, m in enumerate(milestones):
        if m.amount_fen <= 0:
            fields[f"milestones[{i}].amount_fen"] = f"第{i + 1}个付款节点金额须大于0"
        if not m.name.strip():
            fields[f"milestones[{i}].name"] = f"第{i + 1}个付款节点名称未填写"
    total = sum(m.amount_fen for m in milestones)
    if total != grant_fen:
        diff = grant_fen - total
        fields["milestones"] = (
            f"付款节点金额合计{format_fen(total)}与扶持资金{format_fen(grant_fen)}不一致，"
            f"{'少' if diff > 0 else '多'}{format_fen(abs(diff))}"
        )
    if fields:
        raise ValidationFailed(
            next(iter(fields.values())), fields=fields, extra={"difference_fen": grant_fen - total}
        )


def work_for_agreement(session: Session, work_id: int) -> Work:
    work = session.get(Work, work_id)
    if work is None:
        raise NotFound("未找到该作品", code="work_not_found")
    return work


def default_grant(work: Work) -> int:
    """扶持资金 as the rules set it: the requested amount, or 0 with central support."""
    return 0 if work.central_support_received else work.requested_fen


def create_agreement(
    session: Session,
    user: User,
    work_id: int,
    *,
    grant_fen: int | None = None,
    milestones: list[MilestoneInput] | None = None,
    over_request_reason: str = "",
    issued_on: date | None = None,
) -> Agreement:
    """Ministry: render, convert, add the three signature fields, open for signing."""
    if user.role != Role.ministry_officer:
        raise PermissionDenied("仅总局工作人员可以生成三方协议")
    work = work_for_agreement(session, work_id)
    if work.status != WorkStatus.confirmed:
        raise Conflict("仅确认入选的作品可以签订三方协议", code="work_not_confirmed")
    existing = session.exec(select(Agreement).where(Agreement.work_id == work_id)).all()
    if any(a.status in LIVE for a in existing):
        raise Conflict(
            "该作品已有有效的三方协议；如需重签，请先拒签或作废当前版本", code="agreement_exists"
        )
    if grant_fen is None:
        grant_fen = default_grant(work)
    if milestones is None:
        milestones = default_milestones(grant_fen)
    validate_money(work, grant_fen, milestones, over_request_reason)
    producer, unit, unit_org, ministry = _orgs_for(session, work)
    version = max((a.version for a in existing), default=0) + 1
    issued_on = issued_on or today_shanghai()
    number = f"JP-XY-{issued_on.year}-{work.id:05d}-V{version}"
    ag = Agreement(
        work_id=work_id,
        version=version,
        number=number,
        grant_fen=grant_fen,
        over_request_reason=over_request_reason.strip(),
        producer_org_id=producer.id or 0,
        unit_org_id=unit_org.id or 0,
        ministry_org_id=ministry.id or 0,
        created_by=user.id or 0,
    )
    session.add(ag)
    session.flush()
    for seq, m in enumerate(milestones, start=1):
        session.add(
            AgreementMilestone(
                agreement_id=ag.id or 0,
                seq=seq,
                name=m.name.strip(),
                amount_fen=m.amount_fen,
                gate=Gate(m.gate).value,
                planned_date=m.planned_date,
            )
        )
    session.flush()
    context = agreement_context(
        session=session,
        work=work,
        producer=producer,
        unit=unit,
        grant_fen=grant_fen,
        milestones=[
            {
                "name": m.name,
                "amount_fen": m.amount_fen,
                "condition": GATE_LABELS[Gate(m.gate)],
                "planned_date": m.planned_date,
            }
            for m in milestones
        ],
        agreement_number=number,
        version=version,
        issued_on=issued_on,
        unit_org=unit_org,
    )
    docx = _store_agreement_document(
        session,
        ag,
        template_sha256=template_sha256(TEMPLATE),
        context_digest=context_digest(context),
        fmt=DocumentFormat.docx,
        data=render_docx(TEMPLATE, context),
        created_by=user.id,
    )
    pdf_doc = pdf_for_docx(session, docx, created_by=user.id)
    pdf = get_store().get(pdf_doc.sha256)
    profiles = {
        Party.yi: profile_of(producer),
        Party.bing: profile_of(unit_org),
        Party.jia: profile_of(ministry),
    }
    prepared = prepare(pdf, signature_fields(pdf, profiles))
    doc = _store_agreement_document(
        session,
        ag,
        template_sha256=docx.template_sha256,
        context_digest=docx.context_digest,
        fmt=DocumentFormat.pdf,
        data=prepared,
        created_by=user.id,
        source_sha256=pdf_doc.sha256,
    )
    ag.prepared_pdf_sha256 = doc.sha256
    ag.current_pdf_sha256 = doc.sha256
    ag.current_pdf_sm3 = doc.sm3
    ag.status = AgreementStatus.open.value
    ag.next_party = SIGNING_ORDER[0].value
    ag.opened_at = ag.updated_at = utcnow()
    session.add(ag)
    session.flush()
    record(
        session,
        actor=user,
        action="agreement.create",
        object_type="agreement",
        object_id=ag.id,
        payload={
            "work_id": work_id,
            "number": number,
            "version": version,
            "grant_fen": grant_fen,
            "milestones": [
                {"name": m.name, "amount_fen": m.amount_fen, "gate": str(m.gate)}
                for m in milestones
            ],
            "over_request_reason": ag.over_request_reason,
            "pdf_sha256": doc.sha256,
            "pdf_sm3": doc.sm3,
            "crypto_profiles": {p.value: profile.value for p, profile in profiles.items()},
        },
    )
    tell_next_party(session, ag)
    return ag


def field_name(party: Party, algorithm: SealAlgorithm) -> str:
    """party_yi for the ECDSA signature, party_yi_sm2 for the SM2 one (国密)."""
    return party.field_name + ("_sm2" if algorithm == SealAlgorithm.sm2 else "")


def signature_fields(
    pdf: bytes, profiles: dict[Party, CryptoProfile] | None = None
) -> list[FieldSpec]:
    """The signature fields of each party, in signing order, over the empty right-hand cell of
    its row in the signature page's table (甲方（签章） / 乙方（签章） / 丙方（签章） in the
    left-hand cell). The cell is read from the PDF itself: the label's text box, then the table
    rules around and to the right of it (pdf_layout.cell_right_of), so the fields follow the
    template when it changes. 10.5 cm × 3.5 cm today, less INSET on each side. A party in the
    dual profile gets two fields side by side in its cell: ECDSA left, SM2 right."""
    page = last_page(pdf)
    fields = []
    for party in SIGNING_ORDER:
        line = page.find_label(party.signature_label)
        cell = page.cell_right_of(line) if line is not None else None
        if cell is None:
            raise LayoutNotFound(
                f"协议签署页中找不到“{party.signature_label}”旁的签章栏",
                extra={"label": party.signature_label},
            )
        x1, y1, x2, y2 = page.pdf_box(cell)
        algorithms = PROFILE_ALGORITHMS[(profiles or {}).get(party, CryptoProfile.intl)]
        width = (x2 - x1) / len(algorithms)
        for i, algorithm in enumerate(algorithms):
            left = x1 + i * width
            box = (left + INSET, y1 + INSET, left + width - INSET, y2 - INSET)
            fields.append(FieldSpec(field_name(party, algorithm), page.index, box))
    return fields


PARTY_FIELD_NAMES = frozenset(field_name(p, a) for p in SIGNING_ORDER for a in SealAlgorithm)


def signature_field_names(pdf: bytes) -> dict[str, bool]:
    """Every signature field of the PDF: name → already signed."""
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    return {str(name): sig is not None for name, sig, _ in enumerate_sig_fields(reader)}


# --------------------------------------------------------------------------- signing
@dataclass
class SignPlan:
    """One party's signatures, in order: one (intl or gm) or two (dual: ECDSA, then SM2)."""

    agreement_id: int
    party: Party
    organisation_id: int
    profile: CryptoProfile
    cert_serials: dict[SealAlgorithm, str]
    pdf: bytes
    requests: list[SigningRequest]
    factor: Factor = Factor.password  # how the signer confirmed (audit log; never the code)


def apply_signatures(plan: SignPlan) -> bytes:
    """Run the plan's signatures on its PDF (blocking: a worker thread from async code)."""
    pdf = plan.pdf
    for request in plan.requests:
        pdf = sign_pdf(pdf, request)
    return pdf


def _check_can_sign(session: Session, ag: Agreement, party: Party) -> None:
    if ag.status == AgreementStatus.fully_signed:
        raise Conflict("该协议已完成三方签署", code="agreement_fully_signed")
    if ag.status in (AgreementStatus.finalising, AgreementStatus.finalise_failed):
        label = AgreementStatus(ag.status).label
        raise Conflict(f"三方均已签署（{label}）", code=f"agreement_{ag.status}")
    if ag.status not in (AgreementStatus.open, AgreementStatus.signing):
        raise Conflict("该协议已作废或已拒签，不能签署", code="agreement_not_open")
    done = session.exec(
        select(AgreementSignature).where(
            AgreementSignature.agreement_id == ag.id, AgreementSignature.party == party.value
        )
    ).first()
    if done is not None:
        raise Conflict(f"{party.label}已签署", code="already_signed")
    if ag.next_party != party.value:
        nxt = Party(ag.next_party).label if ag.next_party else ""
        raise Conflict(
            f"尚未轮到{party.label}签署（签署顺序：乙方 → 丙方 → 甲方；当前待{nxt}签署）",
            code="out_of_turn",
        )


def begin_signing(
    session: Session,
    user: User,
    agreement_id: int,
    password: str,
    address: str,
    totp_code: str = "",
) -> SignPlan:
    ag = get_agreement(session, user, agreement_id)
    party = party_of(user, ag)
    if party is None:
        raise NotFound("您不是该协议的签署方", code="not_a_party")
    _check_can_sign(session, ag, party)
    # Password, plus a current TOTP code when enrolled (or required for the role); 403 on a wrong
    # one (the failure is committed before anything else is written).
    proof = verify_step_up(
        session, user, password=password, code=totp_code, address=address, password_always=True
    )
    locked = _lock(session, agreement_id)
    _check_can_sign(session, locked, party)
    org = session.get(Organisation, party_org_id(locked, party))
    pdf = get_store().get(locked.current_pdf_sha256 or "")
    # The prepared PDF says which signatures the party makes (its profile when the agreement
    # was generated): party_x for ECDSA, party_x_sm2 for SM2.
    fields = signature_field_names(pdf)
    algorithms = [a for a in SealAlgorithm if field_name(party, a) in fields]
    algorithms.sort(key=lambda a: a != SealAlgorithm.ecdsa)  # ECDSA first, as in dual
    profile = (
        CryptoProfile.dual
        if len(algorithms) == 2
        else (CryptoProfile.gm if algorithms == [SealAlgorithm.sm2] else CryptoProfile.intl)
    )
    seals = [seal_signing(org, algorithm) for algorithm in algorithms]
    assert org is not None
    requests = [
        SigningRequest(
            field=field_name(party, seal.algorithm),
            signer=seal.signer,
            digest_algorithm=seal.digest_algorithm,
            level=PadesLevel.B_T,
            timestamper=seal.timestamper,
            certify=party == SIGNING_ORDER[0] and i == 0,
            appearance=SignatureAppearance(
                organisation=org.name, signer_name=user.display_name, seal_png=seal_picture(org)
            ),
            font_cache_dir=font_cache_dir(),
            reason=f"{party.label}签署三方协议 {locked.number}（{seal.algorithm.label}）",
            location="中国",
        )
        for i, seal in enumerate(seals)
    ]
    return SignPlan(
        agreement_id,
        party,
        org.id or 0,
        profile,
        {seal.algorithm: seal.certificate.serial_hex for seal in seals},
        pdf,
        requests,
        proof.factor,
    )


def _store_agreement_document(session: Session, ag: Agreement, **document: Any) -> Document:
    """Record one of the agreement's documents (DOCX, prepared PDF, each signed PDF)."""
    return store_rendered(
        session,
        kind=DocumentKind.agreement,
        subject_type=SubjectType.agreement,
        subject_id=ag.id or 0,
        template_name=TEMPLATE,
        **document,
    )


def finish_signing(session: Session, user: User, plan: SignPlan, signed: bytes) -> Agreement:
    ag = session.get(Agreement, plan.agreement_id)
    assert ag is not None
    doc = _store_agreement_document(
        session,
        ag,
        template_sha256=None,
        context_digest=None,
        fmt=DocumentFormat.pdf,
        data=signed,
        created_by=user.id,
        source_sha256=ag.current_pdf_sha256,
    )
    assert doc.sm3 is not None  # store_rendered records the SM3 digest of every document
    sm2_serial = plan.cert_serials.get(SealAlgorithm.sm2)
    ses_signature = None
    org = session.get(Organisation, plan.organisation_id)
    if sm2_serial and org is not None:  # GB/T 38540 SES_Signature of the SM2 signature
        sm2_field = field_name(plan.party, SealAlgorithm.sm2)
        ses_signature = ses_signature_for(
            session, org, sm2_serial, signed, sm2_field, f"{ag.number} {sm2_field}"
        )
    sig = AgreementSignature(
        agreement_id=ag.id or 0,
        party=plan.party.value,
        user_id=user.id or 0,
        organisation_id=plan.organisation_id,
        cert_serial=next(iter(plan.cert_serials.values())),
        sm2_cert_serial=sm2_serial,
        crypto_profile=plan.profile.value,
        ses_signature_sha256=ses_signature,
        revision_sha256=doc.sha256,
        revision_sm3=doc.sm3,
    )
    try:
        with session.begin_nested():
            session.add(sig)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{plan.party.label}已签署", code="already_signed") from exc
    SIGNATURES.labels(party=plan.party.value).inc()
    index = SIGNING_ORDER.index(plan.party)
    last = index == len(SIGNING_ORDER) - 1
    ag.current_pdf_sha256, ag.current_pdf_sm3 = doc.sha256, doc.sm3
    ag.status = AgreementStatus.signing.value
    ag.next_party = None if last else SIGNING_ORDER[index + 1].value
    ag.updated_at = utcnow()
    session.add(ag)
    session.flush()
    record(
        session,
        actor=user,
        action="agreement.sign",
        object_type="agreement",
        object_id=ag.id,
        payload={
            "party": plan.party.value,
            "organisation_id": plan.organisation_id,
            "cert_serial": next(iter(plan.cert_serials.values())),
            "cert_serials": {a.value: serial for a, serial in plan.cert_serials.items()},
            "crypto_profile": plan.profile.value,
            "ses_signature_sha256": ses_signature,
            "sha256": doc.sha256,
            "sm3": doc.sm3,
            "factor": plan.factor.value,
        },
    )
    if not last:
        tell_next_party(session, ag)
    elif jobs.queue_enabled():
        # The final verification and the archive form take seconds (a timestamp, every CRL):
        # a `sign-finalise` worker makes them; the signature commits now, the job with it.
        ag.status = AgreementStatus.finalising.value
        session.add(ag)
        session.flush()
        job_id = jobs.defer(
            session,
            FINALISE_TASK,
            lock=f"agreement:{ag.id}",
            agreement_id=ag.id,
            actor_id=user.id,
        )
        record(
            session,
            actor=user,
            action="agreement.finalising",
            object_type="agreement",
            object_id=ag.id,
            payload={"job_id": job_id, "sha256": doc.sha256, "sm3": doc.sm3},
        )
    else:
        finalise(session, ag, user, signed, doc)
    return ag


FINALISE_TASK = "agreements.finalise"  # backend.agreements.jobs


def finalise(session: Session, ag: Agreement, user: User, signed: bytes, doc: Document) -> None:
    """After the last signature: verify, store the archive form, record ``fully_signed`` and
    tell funding (its first gate opens in this transaction). Raises 409 when verification fails.
    In the request (embedded default) or in the `sign-finalise` worker."""
    doc = _archive(session, ag, user, signed, doc)
    ag.status = AgreementStatus.fully_signed.value
    ag.fully_signed_at = utcnow()
    session.add(ag)
    session.flush()
    milestones = milestones_of(session, ag)
    event = record(
        session,
        actor=user,
        action="agreement.fully_signed",
        object_type="agreement",
        object_id=ag.id,
        payload={
            "work_id": ag.work_id,
            "number": ag.number,
            "version": ag.version,
            "grant_fen": ag.grant_fen,
            "sha256": doc.sha256,
            "sm3": doc.sm3,
            "milestones": [
                {
                    "id": m.id,
                    "seq": m.seq,
                    "name": m.name,
                    "amount_fen": m.amount_fen,
                    "gate": m.gate,
                }
                for m in milestones
            ],
        },
    )
    # Funding opens the first gate in this transaction (backend.funding.hooks).
    events.publish(session, AgreementFullySigned(agreement=ag, audit_event=event, actor=user))


def finalise_failed(session: Session, ag: Agreement, user: User, reason: Conflict) -> None:
    """The worker's final verification failed: the agreement stays out of ``fully_signed``
    (no gate opens), with the reason in the audit log; the ministry may void it."""
    ag.status = AgreementStatus.finalise_failed.value
    ag.updated_at = utcnow()
    session.add(ag)
    session.flush()
    record(
        session,
        actor=user,
        action="agreement.finalise_failed",
        object_type="agreement",
        object_id=ag.id,
        payload={"code": reason.code, "reason": reason.message, "sha256": ag.current_pdf_sha256},
    )


@dataclass(frozen=True)
class FinaliseProgress:
    """Where the last step after the last signature stands (the agreement page polls it)."""

    status: AgreementStatus
    job: jobs.JobStatus | None  # the sign-finalise job, while the agreement waits for it
    reason: str | None  # why the final verification failed (finalise_failed)


def finalise_progress(session: Session, ag: Agreement) -> FinaliseProgress:
    status = AgreementStatus(ag.status)
    job, reason = None, None
    for e in reversed(history(session, ag)):
        if e.action == "agreement.finalise_failed" and reason is None:
            reason = str(json.loads(e.payload).get("reason", ""))
        if e.action == "agreement.finalising":
            job_id = json.loads(e.payload).get("job_id")
            if status == AgreementStatus.finalising and isinstance(job_id, int):
                try:
                    job = jobs.job_status(session, job_id)
                except NotFound:  # purged from the queue, or no queue configured any more
                    job = None
            break
    return FinaliseProgress(status, job, reason)


def _verified(data: bytes, expected: int) -> None:
    """``expected`` party signatures (the document timestamps aside) and the whole file
    TOTAL_PASSED, or 409."""
    report = verify_bytes(data)
    parties = [s for s in report.signatures if s.kind == "signature"]
    if report.indication != TOTAL_PASSED or len(parties) != expected:
        raise Conflict(
            "签署后的协议未通过验证，未标记为签署完成：" + "；".join(describe_zh(report)),
            code="verification_failed",
        )


def _archive(session: Session, ag: Agreement, user: User, signed: bytes, doc: Document) -> Document:
    """Verify the fully signed agreement, store its archive form (长期保存格式, PAdES B-LTA: the
    parties' B-T signatures, a DSS with every chain and CRL, a document timestamp) as the
    agreement's current document, verified again. Raises 409 when either fails verification.

    With any party's SM2 signature (gm and dual profiles, per-organisation overrides) the
    validation data is gathered with the 国密 validator and the document timestamp is an SM2
    one over an SM3 digest."""
    fields = signature_field_names(signed)
    expected = len(fields)
    try:
        archived = archive_bytes(signed, gm=any(n.endswith("_sm2") for n in fields))
    except PdfSigningError as exc:  # a chain or CRL that does not validate now
        raise Conflict(
            "签署后的协议无法生成长期保存格式，未标记为签署完成", code="archive_failed"
        ) from exc
    # The archive holds the signed file byte for byte: verifying it verifies the three
    # signatures (and that the DSS and timestamp revisions changed nothing).
    _verified(archived, expected)
    doc = _store_agreement_document(
        session,
        ag,
        template_sha256=None,
        context_digest=None,
        fmt=DocumentFormat.pdf,
        data=archived,
        created_by=user.id,
        source_sha256=ag.current_pdf_sha256,
    )
    assert doc.sm3 is not None
    ag.current_pdf_sha256, ag.current_pdf_sm3 = doc.sha256, doc.sm3
    session.add(ag)
    session.flush()
    record(
        session,
        actor=user,
        action="agreement.archived",
        object_type="agreement",
        object_id=ag.id,
        payload={"level": "PAdES B-LTA", "sha256": doc.sha256, "sm3": doc.sm3},
    )
    return doc


def sign_sync(
    session: Session,
    user: User,
    agreement_id: int,
    password: str,
    address: str = "local",
    totp_code: str = "",
) -> Agreement:
    """Whole signing in one call (demo loader, CLI, tests); sync pyHanko wrapper inside."""
    plan = begin_signing(session, user, agreement_id, password, address, totp_code)
    return finish_signing(session, user, plan, apply_signatures(plan))


def _lock(session: Session, agreement_id: int) -> Agreement:
    return session.exec(
        select(Agreement)
        .where(Agreement.id == agreement_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _has_signed(session: Session, ag: Agreement, party: Party) -> bool:
    return (
        session.exec(
            select(AgreementSignature).where(
                AgreementSignature.agreement_id == ag.id, AgreementSignature.party == party.value
            )
        ).first()
        is not None
    )


def decline_blocker(session: Session, ag: Agreement, party: Party) -> Conflict | None:
    """Why this party may not decline (拒签) now, or None (pages show it before the click).
    Decline is for a party that has not signed: once its seal is on the document only the
    ministry can withdraw the version (``void``)."""
    if ag.status not in (AgreementStatus.open, AgreementStatus.signing):
        return Conflict("该协议当前状态不能拒签", code="agreement_not_open")
    if _has_signed(session, ag, party):
        return Conflict(
            f"{party.label}已签署，不能再拒签；如协议有误，请联系总局作废", code="already_signed"
        )
    return None


def decline(
    session: Session,
    user: User,
    agreement_id: int,
    reason: str,
    password: str,
    address: str = "local",
) -> Agreement:
    """拒签: a party that has not signed refuses the agreement, with a reason and a fresh
    password entry (as for signing). The version is closed; the ministry may issue a new one."""
    ag = get_agreement(session, user, agreement_id)
    party = party_of(user, ag)
    if party is None:
        raise NotFound("您不是该协议的签署方", code="not_a_party")
    if not reason.strip():
        raise ValidationFailed("请填写拒签理由", fields={"reason": "请填写拒签理由"})
    blocker = decline_blocker(session, ag, party)
    if blocker is not None:
        raise blocker
    confirm_password(session, user, password, address)  # 403 wrong_password
    locked = _lock(session, agreement_id)
    blocker = decline_blocker(session, locked, party)
    if blocker is not None:  # signed or voided meanwhile (the row lock makes this final)
        raise blocker
    return _close(session, user, locked, AgreementStatus.declined, reason, {"party": party.value})


def _close(
    session: Session,
    user: User,
    locked: Agreement,
    status: AgreementStatus,
    reason: str,
    payload: dict[str, Any],
) -> Agreement:
    """End a locked agreement's signing (拒签 or 作废) with its reason, in the audit log."""
    locked.status = status.value
    locked.decline_reason = reason.strip()
    locked.declined_by = user.id
    locked.next_party = None
    locked.voided_at = locked.updated_at = utcnow()
    session.add(locked)
    session.flush()
    record(
        session,
        actor=user,
        action=f"agreement.{status.value}",
        object_type="agreement",
        object_id=locked.id,
        payload={"reason": locked.decline_reason, **payload},
    )
    return locked


def void_blocker(ag: Agreement) -> Conflict | None:
    if ag.status == AgreementStatus.fully_signed:
        return Conflict(
            "三方已全部签署的协议不能作废（资金拨付已按协议开启）", code="agreement_fully_signed"
        )
    if ag.status == AgreementStatus.finalising:
        return Conflict(
            "三方均已签署，正在验证并生成长期保存格式，请稍候", code="agreement_finalising"
        )
    if ag.status not in (
        AgreementStatus.open,
        AgreementStatus.signing,
        AgreementStatus.finalise_failed,
    ):
        return Conflict("该协议已作废或已拒签", code="agreement_not_open")
    return None


def void(session: Session, user: User, agreement_id: int, reason: str) -> Agreement:
    """作废: the ministry withdraws a version that is not fully signed (e.g. after a party has
    signed a wrong text), with a reason, in the audit log. Nobody else can void."""
    get_agreement(session, user, agreement_id)
    if user.role != Role.ministry_officer:
        raise PermissionDenied("只有总局工作人员可以作废协议")
    if not reason.strip():
        raise ValidationFailed("请填写作废理由", fields={"reason": "请填写作废理由"})
    locked = _lock(session, agreement_id)
    blocker = void_blocker(locked)
    if blocker is not None:
        raise blocker
    signed = [s.party for s in signatures_of(session, locked)]
    return _close(session, user, locked, AgreementStatus.voided, reason, {"signed_parties": signed})


# --------------------------------------------------------------------------- reading
def milestones_of(session: Session, ag: Agreement) -> list[AgreementMilestone]:
    return list(
        session.exec(
            select(AgreementMilestone)
            .where(AgreementMilestone.agreement_id == ag.id)
            .order_by(col(AgreementMilestone.seq))
        ).all()
    )


def signatures_of(session: Session, ag: Agreement) -> list[AgreementSignature]:
    sigs = session.exec(
        select(AgreementSignature).where(AgreementSignature.agreement_id == ag.id)
    ).all()
    return sorted(sigs, key=lambda s: SIGNING_ORDER.index(Party(s.party)))


def history(session: Session, ag: Agreement) -> list[AuditEvent]:
    return trail(session, "agreement", str(ag.id))


def agreement_read(session: Session, ag: Agreement, user: User | None = None) -> AgreementRead:
    """The agreement as the API and the pages show it: parties in signing order with their
    signatures, the milestones it states, and the user's own party."""
    work = session.get(Work, ag.work_id)
    sigs = {s.party: s for s in signatures_of(session, ag)}
    parties: list[PartyRead] = []
    signatures: list[PartySignatureRead] = []
    for p in SIGNING_ORDER:
        s = sigs.get(p.value)
        org = session.get(Organisation, party_org_id(ag, p))
        signature = None
        if s is not None:
            signer = session.get(User, s.user_id)
            signature = SignatureRead(
                user_id=s.user_id,
                signer=signer.display_name if signer else None,
                username=signer.username if signer else None,
                cert_serial=s.cert_serial,
                sm2_cert_serial=s.sm2_cert_serial,
                crypto_profile=CryptoProfile(s.crypto_profile).value,
                algorithms=[a.label for a in PROFILE_ALGORITHMS[CryptoProfile(s.crypto_profile)]],
                ses_signature=s.ses_signature_sha256 is not None,
                revision_sha256=s.revision_sha256,
                revision_sm3=s.revision_sm3,
                signed_at=s.signed_at,
            )
            signatures.append(PartySignatureRead(**dict(signature), party=p))
        parties.append(
            PartyRead(
                party=p,
                label=p.label,
                organisation_id=party_org_id(ag, p),
                organisation=org.name if org else None,
                signed=s is not None,
                signature=signature,
            )
        )
    my_party = party_of(user, ag) if user else None
    return AgreementRead(
        id=ag.id or 0,
        number=ag.number,
        version=ag.version,
        work_id=ag.work_id,
        work_title=work.title if work else None,
        status=AgreementStatus(ag.status),
        status_label=AgreementStatus(ag.status).label,
        next_party=Party(ag.next_party) if ag.next_party else None,
        grant_fen=ag.grant_fen,
        over_request_reason=ag.over_request_reason,
        current_pdf_sha256=ag.current_pdf_sha256,
        current_pdf_sm3=ag.current_pdf_sm3,
        decline_reason=ag.decline_reason or None,
        created_at=ag.created_at,
        updated_at=ag.updated_at,
        fully_signed_at=ag.fully_signed_at,
        parties=parties,
        signatures=signatures,
        milestones=[
            MilestoneTermRead(
                seq=m.seq,
                name=m.name,
                amount_fen=m.amount_fen,
                gate=Gate(m.gate),
                gate_label=GATE_LABELS[Gate(m.gate)],
                planned_date=m.planned_date,
            )
            for m in milestones_of(session, ag)
        ],
        my_party=my_party,
    )


def agreement_detail(session: Session, ag: Agreement, user: User) -> AgreementDetail:
    """The agreement with its audit trail (GET /api/v1/agreements/{id})."""
    return AgreementDetail(
        **dict(agreement_read(session, ag, user)),
        history=[
            HistoryEntry(seq=e.seq, at=e.at, actor=e.actor, action=e.action)
            for e in history(session, ag)
        ],
    )


def ses_signature(
    session: Session, user: User, agreement_id: int, party: Party
) -> tuple[Agreement, bytes]:
    """The GB/T 38540 SES_Signature (DER) of a party's SM2 signature (404 when there is none)."""
    ag = get_agreement(session, user, agreement_id)
    sig = session.exec(
        select(AgreementSignature).where(
            AgreementSignature.agreement_id == ag.id, AgreementSignature.party == party.value
        )
    ).first()
    if sig is None or sig.ses_signature_sha256 is None:
        raise NotFound(
            "该方没有国密电子签章数据（SES_Signature）：未以 SM2 签署，或签署时机构尚无电子印章",
            code="no_ses_signature",
        )
    return ag, get_store().get(sig.ses_signature_sha256)


def current_pdf(session: Session, user: User, agreement_id: int) -> tuple[Agreement, bytes]:
    ag = get_agreement(session, user, agreement_id)
    if not ag.current_pdf_sha256:
        raise NotFound("该协议尚未生成文件", code="no_document")
    return ag, get_store().get(ag.current_pdf_sha256)
