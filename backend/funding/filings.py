"""推进表报送 (progress-table filings) of the recommending units, from June: mid-month (H1, the
1st–15th) and month-end (H2). Filing renders the unit's 附件3 from the tracker's data through the
existing template (backend.documents), stores the DOCX content-addressed and records the filing
with the document's sha256. A second filing of the same period is a 409 unless it is a
correction (更正) with a reason.

Reminders (home page): a period is *due* from its last day until it is filed, and *late* more
than ``JINGPIN_PROGRESS_FILING_LATE_DAYS`` (default 3) days after it ended. ``today`` is a
Beijing date passed in, so the rules are testable without a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlmodel import Session, col, select

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.service import unit_of
from backend.core.config import get_settings
from backend.core.dates import SHANGHAI, HalfMonth, half_month, to_shanghai, today_shanghai
from backend.core.db import utcnow
from backend.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from backend.documents import downloads
from backend.documents.models import DocumentFormat
from backend.funding.filing_models import ProgressFiling, ProgressFilingCorrection
from backend.funding.progress import prepare_progress_table
from backend.funding.schemas import (
    FiledUnit,
    FilingCorrectionRead,
    FilingRead,
    PeriodStatus,
    UnfiledUnit,
)
from backend.orgs.models import RecommendingUnit

FIRST_MONTH = 6  # 自6月起
OVERSEERS = {Role.ministry_officer, Role.auditor, Role.admin}


class AlreadyFiled(Conflict):
    code = "already_filed"
    message = "本期推进表已报送；如需更正，请填写更正理由后重新报送"


def late_days() -> int:
    return get_settings().progress_filing_late_days


def parse(period: str) -> HalfMonth:
    try:
        p = half_month(period)
    except ValueError:
        raise ValidationFailed(
            "填报期间格式应为 YYYY-MM-H1 或 YYYY-MM-H2", fields={"period": "期间格式不正确"}
        ) from None
    if p.month < FIRST_MONTH:
        raise ValidationFailed("推进表自6月起报送", fields={"period": "推进表自6月起报送"})
    return p


def own_unit(session: Session, user: User) -> RecommendingUnit | None:
    """A unit reviewer's unit (the one whose tables they file); None for every other role."""
    return unit_of(session, user) if user.role is Role.unit_reviewer else None


def periods_until(today: date) -> list[HalfMonth]:
    """Every half-month from June of ``today``'s year whose last day is ≤ today (oldest first)."""
    p, out = HalfMonth(today.year, FIRST_MONTH, 1), []
    while p.end <= today:
        out.append(p)
        p = p.next()
    return out


def is_late(period: HalfMonth, filed_on: date) -> bool:
    return filed_on > period.end + timedelta(days=late_days())


def filing_blocker(
    session: Session,
    unit: RecommendingUnit,
    period: HalfMonth,
    correction_reason: str = "",
    today: date | None = None,
) -> Conflict | None:
    """Why the table cannot be filed now (the confirmation page says it before the click)."""
    day = today or today_shanghai()
    if day < period.end:
        return Conflict(
            f"{period.label}尚未结束，期末（{period.end.isoformat()}）起可报送",
            code="period_not_ended",
        )
    filed = session.exec(
        select(ProgressFiling).where(
            ProgressFiling.unit_id == unit.id, ProgressFiling.period == period.code
        )
    ).first()
    if filed is not None and not correction_reason.strip():
        return AlreadyFiled()
    return None


def file_table(
    session: Session,
    user: User,
    unit_code: str,
    period_code: str,
    *,
    correction_reason: str = "",
    today: date | None = None,
) -> ProgressFiling | ProgressFilingCorrection:
    """A unit reviewer files (or corrects) its unit's table for one ended half-month."""
    unit = downloads.authorised_unit(session, user, unit_code)  # 404 for other units
    if user.role is not Role.unit_reviewer:
        raise PermissionDenied("只有推荐单位可以报送本单位的推进表")
    period = parse(period_code)
    day = today or today_shanghai()
    if day < period.end:
        raise Conflict(
            f"{period.label}尚未结束，期末（{period.end.isoformat()}）起可报送",
            code="period_not_ended",
        )
    reason = correction_reason.strip()
    existing = session.exec(
        select(ProgressFiling)
        .where(ProgressFiling.unit_id == unit.id, ProgressFiling.period == period.code)
        .with_for_update()
    ).first()
    if existing is not None and not reason:
        raise AlreadyFiled()
    prepared = prepare_progress_table(session, unit=unit, period=period, fmt=DocumentFormat.docx)
    doc = prepared.store(session, created_by=user.id)
    payload: dict[str, Any] = {
        "unit": unit.code,
        "period": period.code,
        "document_id": doc.id,
        "sha256": doc.sha256,
    }
    row: ProgressFiling | ProgressFilingCorrection
    # ``today`` given (demo, tests): the filing is dated that Beijing day, 10:00.
    at = utcnow() if today is None else datetime.combine(day, time(10), SHANGHAI).astimezone(UTC)
    if existing is None:
        row = ProgressFiling(
            unit_id=unit.id or 0,
            period=period.code,
            document_id=doc.id or 0,
            sha256=doc.sha256,
            filed_by=user.id or 0,
            filed_at=at,
        )
        session.add(row)
        session.flush()
        record(
            session,
            actor=user,
            action="progress_table.filed",
            object_type="progress_filing",
            object_id=row.id,
            payload={**payload, "late": is_late(period, day)},
        )
    else:
        row = ProgressFilingCorrection(
            filing_id=existing.id or 0,
            document_id=doc.id or 0,
            sha256=doc.sha256,
            reason=reason,
            filed_by=user.id or 0,
            filed_at=at,
        )
        session.add(row)
        session.flush()
        record(
            session,
            actor=user,
            action="progress_table.corrected",
            object_type="progress_filing",
            object_id=existing.id,
            payload={**payload, "reason": reason, "correction_id": row.id},
        )
    return row


@dataclass
class Reminder:
    period: HalfMonth
    late: bool

    @property
    def text(self) -> str:
        deadline = self.period.end + timedelta(days=late_days())
        if self.late:
            return f"{self.period.label}推进表已逾期未报送（应于{deadline.month}月{deadline.day}日前报送）"
        return f"{self.period.label}推进表待报送（请于{deadline.month}月{deadline.day}日前报送）"


def reminders(session: Session, unit: RecommendingUnit, today: date) -> list[Reminder]:
    """Ended periods this unit has not filed yet, newest first; ``late`` past the grace days."""
    filed = set(
        session.exec(select(ProgressFiling.period).where(ProgressFiling.unit_id == unit.id)).all()
    )
    out = [
        Reminder(p, today > p.end + timedelta(days=late_days()))
        for p in periods_until(today)
        if p.code not in filed
    ]
    return out[::-1]


def filing_read(session: Session, f: ProgressFiling, unit: RecommendingUnit) -> FilingRead:
    period = half_month(f.period)
    who = session.get(User, f.filed_by)
    corrections = session.exec(
        select(ProgressFilingCorrection)
        .where(ProgressFilingCorrection.filing_id == f.id)
        .order_by(col(ProgressFilingCorrection.id))
    ).all()
    return FilingRead(
        id=f.id or 0,
        unit=unit.code,
        unit_name=unit.name,
        period=f.period,
        period_label=period.label,
        document_id=f.document_id,
        sha256=f.sha256,
        filed_by=who.username if who else None,
        filed_at=f.filed_at,
        late=is_late(period, to_shanghai(f.filed_at).date()),
        corrections=[
            FilingCorrectionRead(
                document_id=c.document_id, sha256=c.sha256, reason=c.reason, filed_at=c.filed_at
            )
            for c in corrections
        ],
    )


def filing_of(session: Session, code: str, period_code: str) -> FilingRead:
    """One unit's filing for a period (404 when the unit does not exist or has not filed)."""
    unit = unit_or_404(session, code)
    f = session.exec(
        select(ProgressFiling).where(
            ProgressFiling.unit_id == unit.id, ProgressFiling.period == parse(period_code).code
        )
    ).first()
    if f is None:
        raise NotFound("该期推进表尚未报送", code="filing_not_found")
    return filing_read(session, f, unit)


def period_status(
    session: Session, user: User, period_code: str, today: date | None = None
) -> PeriodStatus:
    """Which units have filed for a period (总局, 审计, 管理员; a unit sees only itself)."""
    period = parse(period_code)
    day = today or today_shanghai()
    units: list[RecommendingUnit]
    if user.role in OVERSEERS:
        units = list(session.exec(select(RecommendingUnit).order_by(col(RecommendingUnit.id))))
    elif (mine := own_unit(session, user)) is not None:
        units = [mine]
    else:
        raise PermissionDenied("无权查看推进表报送情况")
    filings = {
        f.unit_id: f
        for f in session.exec(select(ProgressFiling).where(ProgressFiling.period == period.code))
    }
    rows: list[FiledUnit | UnfiledUnit] = []
    for u in units:
        f = filings.get(u.id or 0)
        if f is not None:
            filed = filing_read(session, f, u)
            state: Literal["on_time", "late"] = "late" if filed.late else "on_time"
            rows.append(FiledUnit(**dict(filed), state=state, state_label=STATE_LABELS[state]))
            continue
        missing: Literal["due", "missing_late", "not_due"]
        if day < period.end:
            missing = "not_due"
        elif day > period.end + timedelta(days=late_days()):
            missing = "missing_late"
        else:
            missing = "due"
        rows.append(
            UnfiledUnit(
                unit=u.code,
                unit_name=u.name,
                period=period.code,
                state=missing,
                state_label=STATE_LABELS[missing],
            )
        )
    return PeriodStatus(
        period=period.code,
        period_label=period.label,
        deadline=period.end + timedelta(days=late_days()),
        units=rows,
    )


STATE_LABELS = {
    "on_time": "已按时报送",
    "late": "已报送（逾期）",
    "due": "待报送",
    "missing_late": "逾期未报送",
    "not_due": "未到报送期",
}


def unit_or_404(session: Session, code: str) -> RecommendingUnit:
    unit = session.exec(select(RecommendingUnit).where(RecommendingUnit.code == code)).first()
    if unit is None:
        raise NotFound("未找到该推荐单位", code="unit_not_found")
    return unit


def load_demo_filings(session: Session, today: date | None = None) -> None:
    """Demo (end of ``jingpin demo``): for the last half-month that can already be late, 浙江 files
    on its last day (按时), 四川 one day after the grace days (逾期), the others have not filed —
    through ``file_table`` like a unit would. Idempotent."""
    day = today or today_shanghai()
    grace = timedelta(days=late_days() + 1)
    candidates = [p for p in periods_until(day) if p.end + grace <= day]
    if not candidates:
        return
    period = candidates[-1]
    for username, when in (("unit-zj", period.end), ("unit-sc", period.end + grace)):
        u = session.exec(select(User).where(User.username == username)).first()
        unit = own_unit(session, u) if u else None
        if u is None or unit is None:
            continue
        done = session.exec(
            select(ProgressFiling).where(
                ProgressFiling.unit_id == unit.id, ProgressFiling.period == period.code
            )
        ).first()
        if done is None:
            file_table(session, u, unit.code, period.code, today=when)
