"""The disbursements list (拨付申请): search, filter by state / batch / unit, sort, page.

A request's state is not a column: it is what its append-only ledger lines add up to
(``ledger.state_of``), so each state filter is the same rule written as EXISTS clauses over
the lines."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, func, not_
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select

from backend.agreements.models import Agreement
from backend.agreements.service import readable
from backend.auth.models import User
from backend.core.listing import ListParams, Paged, contains, list_params, paginate
from backend.funding.ledger import DisbursementState
from backend.funding.models import Disbursement, DisbursementEntry, EntryKind
from backend.orgs.service import list_units
from backend.works.models import Work
from backend.works.service import list_batches

FILTERS = ("state", "batch", "unit")
SORTS = {"requested": col(Disbursement.id), "amount": col(Disbursement.amount_fen)}


def disbursement_list_params(query: Any) -> ListParams:
    return list_params(query, filters=FILTERS, sorts=tuple(SORTS), default_sort="requested")


def _line(*, kind: EntryKind | None = None, step: str | None = None) -> ColumnElement[bool]:
    q = select(DisbursementEntry.id).where(DisbursementEntry.disbursement_id == Disbursement.id)
    if kind is not None:
        q = q.where(DisbursementEntry.kind == kind.value)
    if step is not None:
        q = q.where(DisbursementEntry.step == step)
    return exists(q)


def state_clause(state: DisbursementState) -> ColumnElement[bool]:
    """SQL for ``ledger.state_of(kinds) == state``."""
    pending_reversal = and_(_line(kind=EntryKind.reversal_requested), not_(_line(step="reversal")))
    return {
        DisbursementState.requested: not_(_line(step="decision")),
        DisbursementState.approved: and_(
            _line(kind=EntryKind.approved), not_(_line(step="payment"))
        ),
        DisbursementState.rejected: _line(kind=EntryKind.rejected),
        DisbursementState.paid: and_(
            _line(kind=EntryKind.paid), not_(_line(kind=EntryKind.reversed)), not_(pending_reversal)
        ),
        DisbursementState.reversal_requested: pending_reversal,
        DisbursementState.reversed: _line(kind=EntryKind.reversed),
    }[state]


def search_disbursements(session: Session, user: User, params: ListParams) -> Paged[Disbursement]:
    clause = readable(user)
    if clause is None:
        return Paged([], 0, params)
    query = (
        select(Disbursement)
        .join(Agreement, col(Agreement.id) == Disbursement.agreement_id)
        .join(Work, col(Work.id) == Agreement.work_id)
        .where(clause)
    )
    state = params.filters.get("state", "")
    if state in DisbursementState.__members__:
        query = query.where(state_clause(DisbursementState(state)))
    if (batch := params.filter_int("batch")) is not None:
        query = query.where(Work.batch_id == batch)
    if (unit := params.filter_int("unit")) is not None:
        query = query.where(Work.unit_id == unit)
    if params.q:
        query = query.where(
            contains(Agreement.number, params.q)
            | contains(Work.title, params.q)
            | contains(Disbursement.payee_name, params.q)
        )
    return paginate(session, query, params, SORTS, col(Disbursement.id))


def pickers(session: Session) -> list[tuple[str, str, list[tuple[Any, str]]]]:
    return [
        ("state", "状态", [(s.value, s.label) for s in DisbursementState]),
        ("batch", "批次", [(b.id, b.label) for b in list_batches(session)]),
        ("unit", "推荐单位", [(u.id, u.name) for u in list_units(session)]),
    ]


def finance_queue(session: Session, user: User) -> list[tuple[str, DisbursementState, int]]:
    """What waits for this finance user. Dual control: never a step on their own request, nor
    on a reversal they asked for."""
    mine = col(Disbursement.requested_by) == user.id
    my_reversal = exists(
        select(DisbursementEntry.id).where(
            DisbursementEntry.disbursement_id == Disbursement.id,
            DisbursementEntry.kind == EntryKind.reversal_requested.value,
            DisbursementEntry.actor_id == user.id,
        )
    )
    queue = (
        ("待审批的拨付申请", DisbursementState.requested, mine),
        ("待拨付的申请", DisbursementState.approved, mine),
        ("待审批的冲销", DisbursementState.reversal_requested, my_reversal),
    )
    return [
        (
            label,
            state,
            session.exec(
                select(func.count())
                .select_from(Disbursement)
                .where(state_clause(state), not_(excluded))
            ).one(),
        )
        for label, state, excluded in queue
    ]
