"""Reading the disbursement ledger: the state of a request and the money totals of a milestone
or an agreement, derived from the append-only rows (nothing here writes)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.funding.models import Disbursement, DisbursementEntry, EntryKind


class DisbursementState(StrEnum):
    requested = "requested"  # 待审批
    approved = "approved"  # 已审批待拨付
    rejected = "rejected"  # 已退回
    paid = "paid"  # 已拨付
    reversal_requested = "reversal_requested"  # 已拨付，冲销待审批
    reversed = "reversed"  # 已冲销

    @property
    def label(self) -> str:
        return {
            "requested": "待审批",
            "approved": "已审批待拨付",
            "rejected": "已退回",
            "paid": "已拨付",
            "reversal_requested": "冲销待审批",
            "reversed": "已冲销",
        }[self.value]


class MilestoneStatus(StrEnum):
    locked = "locked"  # 未解锁（条件未满足）
    due = "due"  # 可申请
    requested = "requested"  # 已申请待审批
    approved = "approved"  # 已审批待拨付
    paid = "paid"  # 已拨付（全额）

    @property
    def label(self) -> str:
        return {
            "locked": "未解锁",
            "due": "可申请拨付",
            "requested": "已申请待审批",
            "approved": "已审批待拨付",
            "paid": "已全额拨付",
        }[self.value]


def state_of(kinds: Iterable[str]) -> DisbursementState:
    """The state a request's ledger lines add up to. A reversal request that was turned down
    leaves the payment standing (state ``paid``)."""
    seen = set(kinds)
    if EntryKind.reversal_requested.value in seen and not seen & {
        EntryKind.reversed.value,
        EntryKind.reversal_rejected.value,
    }:
        return DisbursementState.reversal_requested
    for kind, state in (
        (EntryKind.reversed, DisbursementState.reversed),
        (EntryKind.rejected, DisbursementState.rejected),
        (EntryKind.paid, DisbursementState.paid),
        (EntryKind.approved, DisbursementState.approved),
    ):
        if kind.value in seen:
            return state
    return DisbursementState.requested


# States whose amount still counts against the milestone: requested-but-not-rejected, or paid
# (also while its reversal waits for approval: the money has not come back yet).
COMMITTED = {
    DisbursementState.requested,
    DisbursementState.approved,
    DisbursementState.paid,
    DisbursementState.reversal_requested,
}


@dataclass
class Totals:
    """Money of one milestone (or agreement) in 分."""

    committed_fen: int = 0  # requested (not rejected/reversed) + approved + paid
    paid_fen: int = 0
    requested_fen: int = 0  # waiting for approval
    approved_fen: int = 0  # approved, not yet paid


def entries_by_disbursement(session: Session, ids: list[int]) -> dict[int, list[DisbursementEntry]]:
    out: dict[int, list[DisbursementEntry]] = defaultdict(list)
    if ids:
        rows = session.exec(
            select(DisbursementEntry)
            .where(col(DisbursementEntry.disbursement_id).in_(ids))
            .order_by(col(DisbursementEntry.id))
        ).all()
        for e in rows:
            out[e.disbursement_id].append(e)
    return out


def totals_by_milestone(session: Session, *, agreement_id: int) -> dict[int, Totals]:
    """Totals per milestone id of one agreement (call after locking for a consistent read)."""
    ds = session.exec(
        select(Disbursement)
        .where(Disbursement.agreement_id == agreement_id)
        .execution_options(populate_existing=True)
    ).all()
    entries = entries_by_disbursement(session, [d.id or 0 for d in ds])
    out: dict[int, Totals] = defaultdict(Totals)
    for d in ds:
        t = out[d.milestone_id]
        state = state_of(e.kind for e in entries.get(d.id or 0, []))
        if state in COMMITTED:
            t.committed_fen += d.amount_fen
        if state == DisbursementState.requested:
            t.requested_fen += d.amount_fen
        elif state == DisbursementState.approved:
            t.approved_fen += d.amount_fen
        t.paid_fen += sum(e.paid_delta_fen for e in entries.get(d.id or 0, []))
    return out


def paid_fen(session: Session, *, milestone_id: int) -> int:
    """Money actually paid against a milestone: the sum of the ledger's paid deltas."""
    total = session.exec(
        select(func.coalesce(func.sum(DisbursementEntry.paid_delta_fen), 0)).where(
            DisbursementEntry.milestone_id == milestone_id
        )
    ).one()
    return int(total)


def milestone_status(amount_fen: int, gate_open: bool, t: Totals) -> MilestoneStatus:
    if not gate_open:
        return MilestoneStatus.locked
    if t.paid_fen >= amount_fen:
        return MilestoneStatus.paid
    if t.approved_fen:
        return MilestoneStatus.approved
    if t.requested_fen:
        return MilestoneStatus.requested
    return MilestoneStatus.due


def committed_fen(
    session: Session, *, milestone_id: int | None = None, agreement_id: int | None = None
) -> int:
    """Requested-but-not-rejected + approved + paid, in SQL (one aggregate, no rows loaded)."""
    closed = (
        select(DisbursementEntry.id)
        .where(
            DisbursementEntry.disbursement_id == Disbursement.id,
            col(DisbursementEntry.kind).in_([EntryKind.rejected.value, EntryKind.reversed.value]),
        )
        .exists()
    )
    query = select(func.coalesce(func.sum(Disbursement.amount_fen), 0)).where(~closed)
    if milestone_id is not None:
        query = query.where(Disbursement.milestone_id == milestone_id)
    if agreement_id is not None:
        query = query.where(Disbursement.agreement_id == agreement_id)
    return int(session.exec(query).one())
