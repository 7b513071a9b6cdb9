"""The agreements list (三方协议): search by number or work title, filter by batch and status,
sort and page (backend.core.listing), within what the user may read."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from backend.agreements.models import Agreement, AgreementStatus
from backend.agreements.service import readable
from backend.auth.models import User
from backend.core.listing import ListParams, Paged, contains, list_params, paginate
from backend.works.models import Work
from backend.works.service import list_batches

FILTERS = ("batch", "status")
SORTS = {
    "created": col(Agreement.id),
    "number": col(Agreement.number),
    "grant": col(Agreement.grant_fen),
    "status": col(Agreement.status),
}
STATUSES = {s.value for s in AgreementStatus}


def agreement_list_params(query: Any) -> ListParams:
    return list_params(query, filters=FILTERS, sorts=tuple(SORTS), default_sort="created")


def search_agreements(session: Session, user: User, params: ListParams) -> Paged[Agreement]:
    clause = readable(user)
    if clause is None:
        return Paged([], 0, params)
    query = select(Agreement).where(clause)
    if (batch := params.filter_int("batch")) is not None:
        query = query.where(
            col(Agreement.work_id).in_(select(Work.id).where(Work.batch_id == batch))
        )
    if params.filters.get("status") in STATUSES:
        query = query.where(col(Agreement.status) == params.filters["status"])
    if params.q:
        titled = select(Work.id).where(contains(Work.title, params.q))
        query = query.where(
            contains(Agreement.number, params.q) | col(Agreement.work_id).in_(titled)
        )
    return paginate(session, query, params, SORTS, col(Agreement.id))


def pickers(session: Session) -> list[tuple[str, str, list[tuple[Any, str]]]]:
    return [
        ("batch", "批次", [(b.id, b.label) for b in list_batches(session)]),
        ("status", "状态", [(s.value, s.label) for s in AgreementStatus]),
    ]
