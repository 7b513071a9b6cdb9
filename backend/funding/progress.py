"""The 推进表 (附件3) of a recommending unit: its selected works with their funding from the
tracker, rendered by the documents domain (backend.documents.downloads)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from backend.core.dates import HalfMonth
from backend.documents import contexts, downloads
from backend.documents.downloads import Prepared
from backend.documents.models import DocumentFormat
from backend.documents.store import BlobStore
from backend.funding.summary import funding_by_work
from backend.orgs.models import Organisation, RecommendingUnit
from backend.works.models import Batch, Work, WorkStatus

# Works that belong in the 推进表 (selected and onwards).
PROGRESS_STATUSES = (WorkStatus.selected, WorkStatus.in_notice, WorkStatus.confirmed)


def progress_rows(session: Session, unit: RecommendingUnit) -> list[dict[str, Any]]:
    """One row per work of ``unit`` that is selected / in notice / confirmed, with its funding
    from the tracker: the current agreement's grant, the money paid so far per the ledger, and
    the stage (agreement, reviews, payments)."""
    works = session.exec(
        select(Work)
        .where(Work.unit_id == unit.id, col(Work.status).in_(PROGRESS_STATUSES))
        .order_by(col(Work.batch_id), col(Work.id))
    ).all()
    funding = funding_by_work(session, [w.id for w in works if w.id is not None])
    rows = []
    for work in works:
        money = funding.get(work.id or 0)
        org = session.get(Organisation, work.organisation_id)
        batch = session.get(Batch, work.batch_id) if work.batch_id else None
        rows.append(
            {
                "title": work.title,
                "producer": org.name if org else "",
                "batch": batch.label if batch else "",
                "direction": contexts.direction_short(work.direction),
                "stage": money.stage if money else work.status.label,
                "progress": "",
                "grant_fen": money.grant_fen if money else 0,
                "paid_fen": max(money.paid_fen, 0) if money else 0,
                "platform": work.partner_platform,
                "broadcast_date": None,
                "remarks": "",
            }
        )
    return rows


def prepare_progress_table(
    session: Session,
    *,
    unit: RecommendingUnit,
    period: HalfMonth,
    fmt: DocumentFormat,
    store: BlobStore | None = None,
) -> Prepared:
    """Render the unit's 推进表 for ``period`` (DOCX and its PDF, or XLSX) with today's rows."""
    rows = progress_rows(session, unit)
    return downloads.prepare_progress_table(
        session, unit=unit, period=period, fmt=fmt, rows=rows, store=store
    )
