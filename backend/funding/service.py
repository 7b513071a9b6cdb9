"""Funding services: gates (opened only by real events), disbursements (拨付) through the
append-only ledger. Services flush; the request or CLI command commits once.

Concurrency: every money change locks the agreement row, then the milestone row (always in that
order, so two writers never deadlock) before it reads the ledger totals; on SQLite the write
transaction (BEGIN IMMEDIATE) already serialises writers. Unique (disbursement_id, step) is the
last line of defence: a request is decided, paid and reversed at most once each.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.agreements.models import Agreement, AgreementMilestone, AgreementStatus, Gate
from backend.agreements.service import get_agreement, readable
from backend.audit_log.models import AuditEvent
from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.service import require_role
from backend.auth.totp import StepUp, require_step_up
from backend.core.dates import today_shanghai
from backend.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from backend.core.money import format_fen
from backend.funding import totals
from backend.funding.ledger import (
    DisbursementState,
    committed_fen,
    entries_by_disbursement,
    paid_fen,
    state_of,
)
from backend.funding.models import (
    Disbursement,
    DisbursementEntry,
    EntryKind,
    FundingReview,
    GateSource,
    MilestoneGateOpening,
    ReviewKind,
    ReviewResult,
)
from backend.funding.schemas import DisbursementRead, EntryRead
from backend.orgs.models import Organisation
from backend.workflow import notifications as notes
from backend.works.models import Work

MONEY_ROLES = {Role.finance}


# --------------------------------------------------------------------------- access
def get_milestone(
    session: Session, user: User, milestone_id: int
) -> tuple[Agreement, AgreementMilestone]:
    """The milestone and its agreement, if the user may see the agreement (404 otherwise)."""
    m = session.get(AgreementMilestone, milestone_id)
    if m is None:
        raise NotFound("未找到该付款节点", code="milestone_not_found")
    return get_agreement(session, user, m.agreement_id), m


def get_disbursement(session: Session, user: User, disbursement_id: int) -> Disbursement:
    d = session.get(Disbursement, disbursement_id)
    if d is None:
        raise NotFound("未找到该拨付记录", code="disbursement_not_found")
    get_agreement(session, user, d.agreement_id)  # 404 for those who may not see it
    return d


def lock(
    session: Session, agreement_id: int, milestone_id: int
) -> tuple[Agreement, AgreementMilestone]:
    """Agreement row, then milestone row, FOR UPDATE (fixed order: no deadlocks)."""
    ag = session.exec(
        select(Agreement)
        .where(Agreement.id == agreement_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    m = session.exec(
        select(AgreementMilestone)
        .where(AgreementMilestone.id == milestone_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return ag, m


# --------------------------------------------------------------------------- gates
def gate_openings(session: Session, agreement_id: int) -> dict[int, MilestoneGateOpening]:
    rows = session.exec(
        select(MilestoneGateOpening).where(MilestoneGateOpening.agreement_id == agreement_id)
    ).all()
    return {g.milestone_id: g for g in rows}


def _open(
    session: Session,
    actor: User | None,
    m: AgreementMilestone,
    source: GateSource,
    *,
    audit_seq: int | None = None,
    review_id: int | None = None,
    reason: str = "",
) -> MilestoneGateOpening:
    opening = MilestoneGateOpening(
        milestone_id=m.id or 0,
        agreement_id=m.agreement_id,
        gate=m.gate,
        source=source.value,
        audit_seq=audit_seq,
        review_id=review_id,
        reason=reason,
        opened_by=getattr(actor, "id", None),
    )
    try:
        with session.begin_nested():
            session.add(opening)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("该付款节点已解锁", code="gate_already_open") from exc
    record(
        session,
        actor=actor,
        action="funding.gate_opened",
        object_type="milestone",
        object_id=m.id,
        payload={
            "agreement_id": m.agreement_id,
            "gate": m.gate,
            "source": source.value,
            "evidence_audit_seq": audit_seq,
            "review_id": review_id,
            "reason": reason,
            "amount_fen": m.amount_fen,
        },
    )
    return opening


def _closed_milestones(session: Session, agreement_id: int, gate: Gate) -> list[AgreementMilestone]:
    opened = gate_openings(session, agreement_id)
    rows = session.exec(
        select(AgreementMilestone)
        .where(
            AgreementMilestone.agreement_id == agreement_id, AgreementMilestone.gate == gate.value
        )
        .order_by(col(AgreementMilestone.seq))
    ).all()
    return [m for m in rows if m.id not in opened]


def open_gates_for_signature(
    session: Session, agreement: Agreement, event: AuditEvent, actor: User | None = None
) -> list[MilestoneGateOpening]:
    """Called by the agreements service in the transaction that records
    ``agreement.fully_signed`` (after the final PDF verified TOTAL_PASSED). The event is the
    evidence; nothing else opens an ``agreement_signed`` gate."""
    if event.action != "agreement.fully_signed" or event.object_id != str(agreement.id):
        raise ValueError("gate evidence must be this agreement's agreement.fully_signed event")
    if agreement.status != AgreementStatus.fully_signed:
        raise Conflict("协议尚未完成三方签署", code="agreement_not_signed")
    return [
        _open(session, actor, m, GateSource.agreement_signed, audit_seq=event.seq)
        for m in _closed_milestones(session, agreement.id or 0, Gate.agreement_signed)
    ]


def open_gates_for_review(
    session: Session, actor: User, review: FundingReview, event: AuditEvent
) -> list[MilestoneGateOpening]:
    """A passed (or passed-with-conditions) review opens its gate; a failed one opens nothing."""
    if not ReviewResult(review.result).opens_gate:
        return []
    gate = {
        ReviewKind.midterm: Gate.midterm_check_passed,
        ReviewKind.acceptance: Gate.acceptance_passed,
    }[ReviewKind(review.kind)]
    return [
        _open(session, actor, m, GateSource.review, audit_seq=event.seq, review_id=review.id)
        for m in _closed_milestones(session, review.agreement_id, gate)
    ]


def open_manually(
    session: Session, user: User, milestone_id: int, reason: str
) -> MilestoneGateOpening:
    """总局 opens a gate by hand (e.g. a review held offline), with a recorded reason."""
    ag, m = get_milestone(session, user, milestone_id)
    require_role(user, Role.ministry_officer, message="仅总局工作人员可以手动解锁付款节点")
    if not reason.strip():
        raise ValidationFailed("请填写手动解锁的理由", fields={"reason": "请填写手动解锁的理由"})
    ag, m = lock(session, ag.id or 0, milestone_id)
    if ag.status != AgreementStatus.fully_signed:
        raise Conflict("协议尚未完成三方签署，付款节点不能解锁", code="agreement_not_signed")
    if m.id in gate_openings(session, ag.id or 0):
        raise Conflict("该付款节点已解锁", code="gate_already_open")
    return _open(session, user, m, GateSource.manual, reason=reason.strip())


# --------------------------------------------------------------------------- disbursements
def _check_amount(amount_fen: Any) -> int:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ValidationFailed(
            "拨付金额须为正整数（单位：分）",
            fields={"amount_fen": "拨付金额须为正整数（单位：分）"},
        )
    return amount_fen


def request_disbursement(
    session: Session,
    user: User,
    *,
    milestone_id: int,
    amount_fen: int,
    planned_on: date | None = None,
    note: str = "",
) -> Disbursement:
    """Finance: ask to pay part or all of an open milestone to the producer's bank account."""
    ag, m = get_milestone(session, user, milestone_id)
    require_role(user, *MONEY_ROLES, message="仅财务人员可以申请拨付")
    amount_fen = _check_amount(amount_fen)
    ag, m = lock(session, ag.id or 0, milestone_id)
    if ag.grant_fen == 0:
        raise Conflict("该协议扶持资金为0，无可拨付款项", code="zero_grant")
    if ag.status != AgreementStatus.fully_signed or m.id not in gate_openings(session, ag.id or 0):
        raise Conflict(f"付款节点“{m.name}”的拨付条件尚未满足，不能申请拨付", code="gate_locked")
    left = m.amount_fen - committed_fen(session, milestone_id=m.id or 0)
    left_agreement = ag.grant_fen - committed_fen(session, agreement_id=ag.id or 0)
    if amount_fen > min(left, left_agreement):
        if left <= left_agreement:
            msg = f"该节点剩余可申请金额为 {format_fen(max(left, 0))}"
        else:
            msg = f"该协议剩余可申请金额为 {format_fen(max(left_agreement, 0))}"
        raise ValidationFailed(
            msg,
            code="over_request",
            fields={"amount_fen": msg},
            extra={"remaining_fen": max(min(left, left_agreement), 0)},
        )
    org = session.get(Organisation, ag.producer_org_id)
    if org is None or not org.bank_account.strip():
        raise Conflict("节目制作机构未登记银行账户，不能申请拨付", code="bank_account_missing")
    d = Disbursement(
        agreement_id=ag.id or 0,
        milestone_id=m.id or 0,
        amount_fen=amount_fen,
        payee_org_id=org.id or 0,
        payee_name=org.name,
        bank_name=org.bank_name,
        bank_account=org.bank_account,
        planned_on=planned_on,
        note=note.strip(),
        requested_by=user.id or 0,
    )
    session.add(d)
    session.flush()
    totals.add(
        session, milestone_id=d.milestone_id, agreement_id=d.agreement_id, requested_fen=amount_fen
    )
    record(
        session,
        actor=user,
        action="funding.disbursement_requested",
        object_type="disbursement",
        object_id=d.id,
        payload={
            "agreement_id": d.agreement_id,
            "milestone_id": d.milestone_id,
            "amount_fen": amount_fen,
            "bank_name": d.bank_name,
            "bank_account": d.bank_account,
            "planned_on": planned_on.isoformat() if planned_on else None,
        },
    )
    return d


def _state(session: Session, d: Disbursement) -> DisbursementState:
    rows = session.exec(
        select(DisbursementEntry.kind).where(DisbursementEntry.disbursement_id == d.id)
    ).all()
    return state_of(rows)


def _append(
    session: Session,
    user: User,
    d: Disbursement,
    kind: EntryKind,
    *,
    paid_delta_fen: int = 0,
    audit: dict[str, Any] | None = None,
    **fields: Any,
) -> DisbursementEntry:
    entry = DisbursementEntry(
        disbursement_id=d.id or 0,
        milestone_id=d.milestone_id,
        step=kind.step,
        kind=kind.value,
        paid_delta_fen=paid_delta_fen,
        actor_id=user.id or 0,
        **fields,
    )
    kinds_before = session.exec(
        select(DisbursementEntry.kind).where(DisbursementEntry.disbursement_id == d.id)
    ).all()
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
            totals.entry_added(
                session,
                milestone_id=d.milestone_id,
                agreement_id=d.agreement_id,
                amount_fen=d.amount_fen,
                kinds_before=kinds_before,
                kind=kind.value,
                paid_delta_fen=paid_delta_fen,
            )
    except IntegrityError as exc:
        raise Conflict("该拨付记录已被他人处理，请刷新后查看", code="already_processed") from exc
    payload: dict[str, Any] = {
        "disbursement_id": d.id,
        "milestone_id": d.milestone_id,
        "agreement_id": d.agreement_id,
        "amount_fen": d.amount_fen,
        "paid_delta_fen": paid_delta_fen,
        "entry_id": entry.id,
    }
    payload.update({k: (v.isoformat() if isinstance(v, date) else v) for k, v in fields.items()})
    payload.update(audit or {})
    record(
        session,
        actor=user,
        action=f"funding.disbursement_{kind.value}",
        object_type="disbursement",
        object_id=d.id,
        payload=payload,
    )
    return entry


def _locked_disbursement(
    session: Session, user: User, disbursement_id: int, message: str
) -> tuple[Disbursement, DisbursementState]:
    d = get_disbursement(session, user, disbursement_id)
    require_role(user, *MONEY_ROLES, message=message)
    lock(session, d.agreement_id, d.milestone_id)
    return d, _state(session, d)


def approve(
    session: Session,
    user: User,
    disbursement_id: int,
    note: str = "",
    *,
    step_up: StepUp | None = None,
) -> DisbursementEntry:
    """A second finance user approves (maker-checker: never the requester). ``step_up``: the
    password + TOTP check the caller ran (required when the user is enrolled or their role
    requires TOTP)."""
    d, state = _locked_disbursement(session, user, disbursement_id, "仅财务人员可以审批拨付")
    if d.requested_by == user.id:
        raise PermissionDenied(
            "不能审批自己提交的拨付申请，须由另一名财务人员审批", code="maker_checker"
        )
    factor = require_step_up(session, user, step_up)
    if state != DisbursementState.requested:
        raise Conflict(f"该拨付申请当前状态为“{state.label}”，不能审批", code="not_pending")
    entry = _append(
        session, user, d, EntryKind.approved, audit={"factor": factor.value}, reason=note.strip()
    )
    _tell_requester(session, d, "拨付申请已审批", "已审批，等待财务登记拨付")
    return entry


def reject(session: Session, user: User, disbursement_id: int, reason: str) -> DisbursementEntry:
    d, state = _locked_disbursement(session, user, disbursement_id, "仅财务人员可以退回拨付申请")
    if d.requested_by == user.id:
        raise PermissionDenied(
            "不能审批自己提交的拨付申请，须由另一名财务人员审批", code="maker_checker"
        )
    if not reason.strip():
        raise ValidationFailed("请填写退回理由", fields={"reason": "请填写退回理由"})
    if state != DisbursementState.requested:
        raise Conflict(f"该拨付申请当前状态为“{state.label}”，不能退回", code="not_pending")
    return _append(session, user, d, EntryKind.rejected, reason=reason.strip())


def check_paid_on(paid_on: date | None) -> date:
    """拨付日期: the day the money left, never after today in Beijing (a future date would count
    as paid money that has not moved). Empty means today."""
    today = today_shanghai()
    if paid_on is None:
        return today
    if paid_on > today:
        msg = f"拨付日期不能晚于今天（北京时间 {today.isoformat()}）"
        raise ValidationFailed(msg, code="paid_on_in_future", fields={"paid_on": msg})
    return paid_on


def pay(
    session: Session,
    user: User,
    disbursement_id: int,
    *,
    voucher_no: str,
    bank_reference: str,
    paid_on: date | None = None,
    step_up: StepUp | None = None,
) -> DisbursementEntry:
    """Record the payment (凭证号, bank reference, date) of an approved request, exactly once,
    by a finance user other than the requester (dual control: who asked never moves the money)."""
    d, state = _locked_disbursement(session, user, disbursement_id, "仅财务人员可以登记拨付")
    if d.requested_by == user.id:
        raise PermissionDenied(
            "不能登记自己提交的拨付申请，须由另一名财务人员登记", code="maker_checker"
        )
    factor = require_step_up(session, user, step_up)
    fields = {}
    if not voucher_no.strip():
        fields["voucher_no"] = "请填写凭证号"
    if not bank_reference.strip():
        fields["bank_reference"] = "请填写银行流水号"
    if fields:
        raise ValidationFailed(next(iter(fields.values())), fields=fields)
    paid_on = check_paid_on(paid_on)
    if state != DisbursementState.approved:
        raise Conflict(f"该拨付申请当前状态为“{state.label}”，不能登记拨付", code="not_approved")
    m = session.get(AgreementMilestone, d.milestone_id)
    ag = session.get(Agreement, d.agreement_id)
    assert m is not None and ag is not None
    if paid_fen(session, milestone_id=m.id or 0) + d.amount_fen > m.amount_fen:
        raise Conflict("登记后该节点已拨付金额将超过节点金额", code="over_paid")
    entry = _append(
        session,
        user,
        d,
        EntryKind.paid,
        paid_delta_fen=d.amount_fen,
        audit={"factor": factor.value},
        voucher_no=voucher_no.strip(),
        bank_reference=bank_reference.strip(),
        paid_on=paid_on,
    )
    _tell_requester(
        session, d, "拨付已完成", f"已于 {paid_on.isoformat()} 拨付（凭证号 {entry.voucher_no}）"
    )
    return entry


def _tell_requester(session: Session, d: Disbursement, title: str, what: str) -> None:
    """Mail the finance user who asked for the money what became of it."""
    requester = session.get(User, d.requested_by)
    ag = session.get(Agreement, d.agreement_id)
    if requester is None or ag is None:
        return
    notes.notify(
        session,
        [requester],
        f"{title}：{ag.number} {format_fen(d.amount_fen)}",
        f"协议 {ag.number} 的拨付申请（{format_fen(d.amount_fen)}）{what}。",
        f"/finance/agreements/{ag.id}",
    )


def request_reversal(
    session: Session, user: User, disbursement_id: int, reason: str
) -> DisbursementEntry:
    """冲销, step 1: a finance user asks to undo a recorded payment. Only money that was paid is
    reversed (a request waiting for approval is rejected instead); nothing moves until a second
    finance user approves (``approve_reversal``)."""
    d, state = _locked_disbursement(session, user, disbursement_id, "仅财务人员可以申请冲销")
    if not reason.strip():
        raise ValidationFailed("请填写冲销理由", fields={"reason": "请填写冲销理由"})
    if state == DisbursementState.reversed:
        raise Conflict("该拨付记录已冲销，冲销不能再次冲销", code="already_reversed")
    if state == DisbursementState.reversal_requested:
        raise Conflict("该笔拨付已申请冲销，正在等待审批", code="reversal_pending")
    if state != DisbursementState.paid:
        raise Conflict(
            f"只有已拨付的款项可以冲销，该申请当前状态为“{state.label}”", code="not_paid"
        )
    if _entry(session, d, EntryKind.reversal_rejected) is not None:
        raise Conflict("该笔拨付的冲销申请已被退回，不能再次申请冲销", code="reversal_closed")
    return _append(session, user, d, EntryKind.reversal_requested, reason=reason.strip())


def _entry(session: Session, d: Disbursement, kind: EntryKind) -> DisbursementEntry | None:
    return session.exec(
        select(DisbursementEntry).where(
            DisbursementEntry.disbursement_id == d.id, DisbursementEntry.kind == kind.value
        )
    ).first()


def _pending_reversal(
    session: Session, user: User, disbursement_id: int, verb: str
) -> tuple[Disbursement, DisbursementEntry]:
    d, state = _locked_disbursement(session, user, disbursement_id, f"仅财务人员可以{verb}")
    requested = _entry(session, d, EntryKind.reversal_requested)
    if requested is not None and requested.actor_id == user.id:
        raise PermissionDenied(
            "不能审批自己提出的冲销申请，须由另一名财务人员审批", code="maker_checker"
        )
    if state != DisbursementState.reversal_requested or requested is None:
        raise Conflict(
            f"该拨付记录当前状态为“{state.label}”，没有待审批的冲销申请", code="not_pending"
        )
    return d, requested


def approve_reversal(
    session: Session,
    user: User,
    disbursement_id: int,
    note: str = "",
    *,
    step_up: StepUp | None = None,
) -> DisbursementEntry:
    """冲销, step 2: a second finance user (not the one who asked) approves; the payment is
    taken back out of the paid total by a negative line."""
    d, _requested = _pending_reversal(session, user, disbursement_id, "审批冲销")
    factor = require_step_up(session, user, step_up)
    return _append(
        session,
        user,
        d,
        EntryKind.reversed,
        paid_delta_fen=-d.amount_fen,
        audit={"factor": factor.value},
        reason=note.strip(),
    )


def reject_reversal(
    session: Session, user: User, disbursement_id: int, reason: str
) -> DisbursementEntry:
    """A second finance user turns the reversal down: the payment stands."""
    # who may act first (403/404), then what they sent (422)
    d, _requested = _pending_reversal(session, user, disbursement_id, "退回冲销申请")
    if not reason.strip():
        raise ValidationFailed("请填写退回理由", fields={"reason": "请填写退回理由"})
    return _append(session, user, d, EntryKind.reversal_rejected, reason=reason.strip())


def agreements_with_titles(session: Session, ids: set[int]) -> list[tuple[Agreement, str]]:
    """The agreements ``ids`` with their work's title (a list page's rows)."""
    if not ids:
        return []
    rows = session.exec(
        select(Agreement, Work.title)
        .join(Work, col(Work.id) == Agreement.work_id)
        .where(col(Agreement.id).in_(ids))
    ).all()
    return [(ag, title) for ag, title in rows]


def list_disbursements(
    session: Session, user: User, agreement_id: int | None = None
) -> list[Disbursement]:
    """Disbursements of the agreements the user may see (one agreement's: 404 outside scope)."""
    clause = readable(user)
    if clause is None:
        return []
    query = (
        select(Disbursement)
        .join(Agreement, col(Agreement.id) == Disbursement.agreement_id)
        .where(clause)
        .order_by(col(Disbursement.id))
    )
    if agreement_id is not None:
        get_agreement(session, user, agreement_id)
        query = query.where(Disbursement.agreement_id == agreement_id)
    return list(session.exec(query).all())


def disbursement_read(
    session: Session, d: Disbursement, entries: list[DisbursementEntry] | None = None
) -> DisbursementRead:
    """A disbursement with its state and every ledger line about it (``entries`` when the caller
    already loaded them)."""
    if entries is None:
        entries = entries_by_disbursement(session, [d.id or 0]).get(d.id or 0, [])
    state = state_of(e.kind for e in entries)
    names = _usernames(session, {d.requested_by, *(e.actor_id for e in entries)})
    return DisbursementRead(
        id=d.id or 0,
        agreement_id=d.agreement_id,
        milestone_id=d.milestone_id,
        amount_fen=d.amount_fen,
        amount=format_fen(d.amount_fen),
        state=state,
        state_label=state.label,
        payee_name=d.payee_name,
        bank_name=d.bank_name,
        bank_account=d.bank_account,
        planned_on=d.planned_on,
        note=d.note,
        requested_by=names.get(d.requested_by),
        requested_at=d.requested_at,
        entries=[
            EntryRead(
                id=e.id or 0,
                kind=EntryKind(e.kind),
                paid_delta_fen=e.paid_delta_fen,
                voucher_no=e.voucher_no,
                bank_reference=e.bank_reference,
                paid_on=e.paid_on,
                reason=e.reason,
                actor=names.get(e.actor_id),
                at=e.at,
            )
            for e in entries
        ],
    )


def _usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {
        u.id or 0: u.username
        for u in session.exec(select(User).where(col(User.id).in_(wanted))).all()
    }
