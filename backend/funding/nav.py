"""Funding on the home page and in the menu: 推进表报送 reminders, 资金拨付."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from backend.auth.models import Role, User
from backend.core.dates import today_shanghai
from backend.core.pages import Link, Section, Todo
from backend.funding import filings
from backend.funding.listing import finance_queue
from backend.works import service as works

FILING_READERS = (Role.unit_reviewer, Role.ministry_officer, Role.auditor, Role.admin)
FINANCE_READERS = (Role.finance, Role.ministry_officer, Role.auditor, Role.admin)


def menu(user: User) -> list[Link]:
    links = []
    if user.role in FINANCE_READERS:
        links.append(Link("资金拨付", "/finance"))
    if user.role in FILING_READERS:
        links.append(Link("推进表报送", "/progress-filings"))
    return links


def filing_sections(session: Session, user: User, today: date | None = None) -> list[Section]:
    """推进表报送: a unit's reminder when a half-month's table is due or late."""
    if user.role == Role.ministry_officer:
        link = Link("各单位报送情况", "/progress-filings", "按半月查看各推荐单位是否已报送推进表")
        return [Section("推进表报送", [link])]
    unit = filings.own_unit(session, user)
    if unit is None:
        return []
    due = filings.reminders(session, unit, today or today_shanghai())
    links = [Link(r.text, "/progress-filings", "逾期" if r.late else "待报送") for r in due[:5]]
    links.append(Link("推进表报送", "/progress-filings", "自6月起每半月（月中、月末）报送附件3"))
    return [Section("推进表报送提醒" if due else "推进表报送", links, len(due))]


def home_sections(session: Session, user: User) -> list[Section]:
    if user.role is Role.finance:
        return [
            Section(
                "资金拨付",
                [
                    Link(
                        "资金汇总与拨付台账",
                        "/finance",
                        "按推荐单位、批次汇总；按协议节点申请、复核、拨付扶持资金",
                    ),
                    Link("导出 Excel", "/finance/export.xlsx", "拨付台账与汇总表（金额：元）"),
                ],
                works.count_works(session, user),
            )
        ]
    if user.role in (Role.ministry_officer, Role.auditor, Role.admin):
        link = Link("资金汇总", "/finance", "各推荐单位、各批次扶持资金拨付情况与资金轨迹")
        return [Section("资金拨付", [link])]
    return []


def todos(session: Session, user: User) -> list[Todo]:
    """Filings due for a unit; for finance, the steps dual control leaves to this user: requests
    and reversals someone else asked for, approved requests someone else made."""
    unit = filings.own_unit(session, user)
    if unit is not None:
        due = filings.reminders(session, unit, today_shanghai())
        return [Todo("待报送的推进表", len(due), "/progress-filings")]
    if user.role is not Role.finance:
        return []
    return [
        Todo(label, count, f"/finance/disbursements?state={state.value}")
        for label, state, count in finance_queue(session, user)
    ]
