"""The daily reminders job (`reminders` queue, 09:00 Beijing time): agreements waiting for a
signature longer than JINGPIN_REMIND_SIGNATURE_AFTER_DAYS, and 推进表 filings — the half-month
(mid-month, month-end, per the notice) ending within JINGPIN_REMIND_FILING_DAYS_BEFORE days, and
ended periods past their deadline and still not filed.

Reminders are not mandatory mail: a user who opted out sees them on the site only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from backend.agreements.models import Agreement, AgreementStatus, Party
from backend.agreements.service import party_org_id
from backend.auth.models import User
from backend.core import jobs
from backend.core.config import get_settings
from backend.core.dates import HalfMonth, today_shanghai
from backend.core.db import session_scope, utcnow
from backend.funding import filings
from backend.funding.filing_models import ProgressFiling
from backend.orgs.models import RecommendingUnit
from backend.workflow import notifications as notes
from backend.works.models import Work


@dataclass(frozen=True)
class RemindersSent:
    signatures: int
    filings_due: int
    filings_late: int


@jobs.task("reminders.daily", queue="reminders", cron="0 1 * * *")  # 01:00 UTC = 09:00 北京
def daily_reminders() -> None:
    with session_scope() as session:
        send_reminders(session, today=today_shanghai(), now=utcnow())


def send_reminders(session: Session, *, today: date, now: datetime) -> RemindersSent:
    s = get_settings()
    return RemindersSent(
        signatures=_signatures(session, now - timedelta(days=s.remind_signature_after_days)),
        filings_due=_filings_due(session, today, s.remind_filing_days_before),
        filings_late=_filings_late(session, today),
    )


def _org_users(session: Session, organisation_id: int) -> list[User]:
    return list(
        session.exec(
            select(User).where(
                User.organisation_id == organisation_id, col(User.is_active).is_(True)
            )
        )
    )


def _signatures(session: Session, waiting_since: datetime) -> int:
    waiting = session.exec(
        select(Agreement, Work)
        .join(Work, col(Work.id) == col(Agreement.work_id))
        .where(
            col(Agreement.status).in_([AgreementStatus.open.value, AgreementStatus.signing.value]),
            col(Agreement.next_party).is_not(None),
            col(Agreement.updated_at) < waiting_since,
        )
    ).all()
    sent = 0
    for ag, work in waiting:
        party = Party(str(ag.next_party))
        days = (utcnow() - ag.updated_at).days
        sent += notes.notify(
            session,
            _org_users(session, party_org_id(ag, party)),
            f"《{work.title}》三方协议等待{party.label}签署",
            f"协议 {ag.number} 已等待{party.label}签署 {days} 天，请尽快登录系统签署。",
            f"/agreements/{ag.id}",
            mandatory=False,
        )
    return sent


def _units(session: Session) -> list[RecommendingUnit]:
    return list(session.exec(select(RecommendingUnit)))


def _filings_due(session: Session, today: date, days_before: int) -> int:
    """The current half-month ends within `days_before` days: tell each unit that has not filed."""
    period = _period_of(today)
    if period.month < filings.FIRST_MONTH or not 0 <= (period.end - today).days <= days_before:
        return 0
    sent = 0
    for unit in _units(session):
        if _filed(session, unit, period):
            continue
        sent += notes.notify(
            session,
            notes.unit_reviewers(session, unit.id or 0),
            f"{period.label}推进表将于{period.end.month}月{period.end.day}日截止统计",
            f"请在{period.label}结束后及时报送本单位的推进表"
            f"（逾期：{(period.end + timedelta(days=filings.late_days())).isoformat()} 之后）。",
            "/progress-filings",
            mandatory=False,
        )
    return sent


def _filings_late(session: Session, today: date) -> int:
    sent = 0
    for unit in _units(session):
        late = [r for r in filings.reminders(session, unit, today) if r.late]
        if late:
            sent += notes.notify(
                session,
                notes.unit_reviewers(session, unit.id or 0),
                f"推进表逾期未报送：{late[0].period.label}等 {len(late)} 期",
                "\n".join(r.text for r in late),
                "/progress-filings",
                mandatory=False,
            )
    return sent


def _period_of(day: date) -> HalfMonth:
    return HalfMonth(day.year, day.month, 1 if day.day <= 15 else 2)


def _filed(session: Session, unit: RecommendingUnit, period: HalfMonth) -> bool:
    found = session.exec(
        select(ProgressFiling.id).where(
            ProgressFiling.unit_id == unit.id, ProgressFiling.period == period.code
        )
    ).first()
    return found is not None
