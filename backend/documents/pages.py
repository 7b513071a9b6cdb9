"""Pages for documents: the 推进表 (附件3) download page of a recommending unit.

The work detail page's download links for 申请书 / 承诺书 live in templates/works/detail.html
(they point straight at the API, which accepts the session cookie).
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col, select

from backend.auth.deps import PageUser, SessionDep
from backend.auth.models import Role
from backend.core.dates import HalfMonth, today_shanghai
from backend.core.errors import NotFound
from backend.core.pages import render
from backend.documents import downloads
from backend.orgs.models import Organisation, RecommendingUnit

router = APIRouter(include_in_schema=False)
FIRST_MONTH = 6  # the 推进表 is filed from June (半月报: mid-month and month-end)


def filing_periods(today: date | None = None) -> list[HalfMonth]:
    """Half-month periods from June of the current year up to the current one, newest first.
    Before June: June and its second half, so the page shows what is coming."""
    day = today_shanghai() if today is None else today
    year, month = day.year, day.month
    current = HalfMonth(year, month, 1 if day.day <= 15 else 2)
    first = HalfMonth(year, FIRST_MONTH, 1)
    if month < FIRST_MONTH:
        return [HalfMonth(year, FIRST_MONTH, 2), first]
    periods = [first]
    while periods[-1] != current:
        periods.append(periods[-1].next())
    return periods[::-1]


@router.get("/progress-tables", response_class=HTMLResponse)
def progress_tables(
    request: Request, session: SessionDep, user: PageUser, unit: str | None = None
) -> Response:
    """A unit reviewer sees their own unit; the ministry, auditors and admin choose a unit."""
    units: list[RecommendingUnit] = []
    if user.role is Role.unit_reviewer:
        org = session.get(Organisation, user.organisation_id)
        own = session.get(RecommendingUnit, org.unit_id) if org and org.unit_id else None
        if own is None:
            raise NotFound("您的账号未关联推荐单位", code="unit_not_found")
        code = own.code
    else:
        units = list(session.exec(select(RecommendingUnit).order_by(col(RecommendingUnit.id))))
        code = unit or (units[0].code if units else "")
    chosen = downloads.authorised_unit(session, user, code)
    return render(
        request,
        "documents/progress_tables.html",
        unit=chosen,
        units=units,
        periods=filing_periods(),
        formats=[("docx", "Word"), ("xlsx", "Excel"), ("pdf", "PDF")],
    )
