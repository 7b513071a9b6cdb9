"""推进表 pages (附件3): a unit's download page for every half-month, and the filings page (a
unit files or corrects its table; the ministry sees every unit's filings for a half-month)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backend.auth.deps import PageUser, SessionDep
from backend.auth.models import Role
from backend.auth.service import require_unit_of
from backend.core.dates import HalfMonth, half_month, today_shanghai
from backend.core.display import local_time, yuan
from backend.core.errors import JingpinError, PermissionDenied
from backend.core.pages import confirmation, is_confirmed, redirect, render
from backend.documents import downloads
from backend.funding import filings
from backend.funding.progress import progress_rows
from backend.orgs.models import RecommendingUnit
from backend.orgs.service import list_units

router = APIRouter(include_in_schema=False)


def filing_periods(today: date | None = None) -> list[HalfMonth]:
    """Half-month periods from June of the current year up to the current one, newest first.
    Before June: June and its second half, so the page shows what is coming."""
    day = today_shanghai() if today is None else today
    year, month = day.year, day.month
    current = HalfMonth(year, month, 1 if day.day <= 15 else 2)
    first = HalfMonth(year, filings.FIRST_MONTH, 1)
    if month < filings.FIRST_MONTH:
        return [HalfMonth(year, filings.FIRST_MONTH, 2), first]
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
        code = require_unit_of(session, user).code
    else:
        units = list_units(session)
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


def _periods(today: date) -> list[HalfMonth]:
    ended = filings.periods_until(today)
    return ended[::-1] or [HalfMonth(today.year, filings.FIRST_MONTH, 1)]


@router.get("/progress-filings")
def filings_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    period: str = "",
    msg: str = "",
    error: str = "",
) -> Response:
    today = today_shanghai()
    periods = _periods(today)
    chosen = period or periods[0].code
    status = filings.period_status(session, user, chosen, today).model_dump(mode="json")
    unit = filings.own_unit(session, user)
    history = []
    if unit is not None:
        history = [
            filings.period_status(session, user, p.code, today).units[0].model_dump(mode="json")
            | {"period_label": p.label}
            for p in periods
        ]
    return render(
        request,
        "funding/filings.html",
        status=status,
        periods=periods,
        chosen=chosen,
        unit=unit,
        history=history,
        reminders=filings.reminders(session, unit, today) if unit else [],
        late_days=filings.late_days(),
        msg=msg,
        error=error,
        local_time=local_time,
    )


@router.post("/progress-filings")
async def file_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    form = await request.form()
    period = str(form.get("period") or "")
    reason = str(form.get("correction_reason") or "")
    unit = filings.own_unit(session, user)
    if unit is None:
        raise PermissionDenied("只有推荐单位可以报送本单位的推进表")
    if not is_confirmed(form):
        try:
            half = filings.parse(period)
        except JingpinError as exc:
            return redirect("/progress-filings", exc.message, error=True)
        blocker = filings.filing_blocker(session, unit, half, reason)
        what = "更正报送" if reason.strip() else "报送"
        facts = [("推荐单位", unit.name), ("期间", half.label)]
        if reason.strip():
            facts.append(("更正理由", reason))
        return confirmation(
            request,
            title=f"{what}{half.label}推进表",
            action="/progress-filings",
            back="/progress-filings",
            warning="报送后文件存档并记入审计日志，不能撤回；如有错误只能另行更正报送。",
            facts=facts,
            fields={"period": period, "correction_reason": reason},
            blocker=blocker.message if blocker else None,
            preview="funding/_progress_preview.html",
            rows=progress_rows(session, unit),
            yuan=yuan,
        )
    try:
        row = filings.file_table(session, user, unit.code, period, correction_reason=reason)
    except JingpinError as exc:
        session.rollback()
        return redirect("/progress-filings", exc.message, error=True)
    label = half_month(period).label
    what = "更正" if isinstance(row, filings.ProgressFilingCorrection) else "报送"
    return redirect("/progress-filings", f"已{what}{label}推进表（SHA-256 {row.sha256[:16]}…）")
