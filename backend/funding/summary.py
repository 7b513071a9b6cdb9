"""Finance summary (资金汇总) per recommending unit and per batch, computed by the database.

Every figure is a SQL aggregate (GROUP BY), never a Python loop over rows. The ledger's money
is read from its running totals per milestone (``milestone_money``, written with each ledger
line by ``backend.funding.totals``), so 100,000 agreements summarise in one round trip without
aggregating the whole ledger (bench: bench/bench_finance_summary.py). Read-only: nothing here
writes.

Definitions (all in 分, agreements in status 三方签署完成 only):

- ``granted``: the agreements' grant (扶持资金).
- ``unlocked``: milestones whose gate has opened (已解锁).
- ``requested``: requests waiting for approval (待审批).
- ``approved``: approved, not yet paid (已审批待拨付).
- ``paid``: the sum of the ledger's paid deltas (payments minus reversed payments).
- ``outstanding``: granted − paid (尚未拨付).
- ``overdue``: for milestones whose planned date (Beijing) is before ``today``, what is still
  unpaid of them (逾期未拨付).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import String, and_, case, cast, func, literal, select
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from backend.agreements.models import Agreement, AgreementMilestone, AgreementStatus
from backend.core.dates import today_shanghai
from backend.funding.models import DisbursementEntry, MilestoneGateOpening, MilestoneMoney
from backend.orgs.models import RecommendingUnit
from backend.works.models import Batch, Work

GroupBy = Literal["unit", "batch"]

A = Agreement.__table__  # type: ignore[attr-defined]
M = AgreementMilestone.__table__  # type: ignore[attr-defined]
G = MilestoneGateOpening.__table__  # type: ignore[attr-defined]
MM = MilestoneMoney.__table__  # type: ignore[attr-defined]
E = DisbursementEntry.__table__  # type: ignore[attr-defined]
W = Work.__table__  # type: ignore[attr-defined]
U = RecommendingUnit.__table__  # type: ignore[attr-defined]
B = Batch.__table__  # type: ignore[attr-defined]

FIGURES = (
    "granted_fen",
    "unlocked_fen",
    "requested_fen",
    "approved_fen",
    "paid_fen",
    "outstanding_fen",
    "overdue_fen",
)
FIGURE_LABELS = {
    "granted_fen": "扶持资金",
    "unlocked_fen": "已解锁",
    "requested_fen": "待审批",
    "approved_fen": "已审批待拨付",
    "paid_fen": "已拨付",
    "outstanding_fen": "尚未拨付",
    "overdue_fen": "逾期未拨付",
}


@dataclass
class SummaryRow:
    key: str  # unit code or batch id ("" for works without a batch)
    label: str  # unit name or 2026年第1批
    agreements: int = 0
    granted_fen: int = 0
    unlocked_fen: int = 0
    requested_fen: int = 0
    approved_fen: int = 0
    paid_fen: int = 0
    outstanding_fen: int = 0
    overdue_fen: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summary_query(group_by: GroupBy, today: date) -> Select[Any]:
    """Two aggregates straight to the groups (no per-agreement step, grouped by the work's unit
    or batch id): the agreements' count and grant, and the milestones with their gate and
    running totals (``milestone_money``); the unit or batch names are joined to the 40 rows."""
    grp = W.c.unit_id if group_by == "unit" else W.c.batch_id
    signed = (
        select(A.c.id, A.c.grant_fen, grp.label("grp"))
        .select_from(A.join(W, W.c.id == A.c.work_id))
        .where(A.c.status == AgreementStatus.fully_signed.value)
        .subquery("signed")
    )
    ags = (
        select(
            signed.c.grp,
            func.count(signed.c.id).label("agreements"),
            func.coalesce(func.sum(signed.c.grant_fen), 0).label("granted_fen"),
        )
        .group_by(signed.c.grp)
        .subquery("ags")
    )
    paid_m = func.coalesce(MM.c.paid_fen, 0)
    unpaid = M.c.amount_fen - paid_m
    money = (
        select(
            signed.c.grp,
            func.sum(case((G.c.id.is_not(None), M.c.amount_fen), else_=0)).label("unlocked_fen"),
            func.sum(func.coalesce(MM.c.requested_fen, 0)).label("requested_fen"),
            func.sum(func.coalesce(MM.c.approved_fen, 0)).label("approved_fen"),
            func.sum(paid_m).label("paid_fen"),
            func.sum(case((and_(M.c.planned_date < today, unpaid > 0), unpaid), else_=0)).label(
                "overdue_fen"
            ),
        )
        .select_from(
            M.join(signed, signed.c.id == M.c.agreement_id)
            .outerjoin(G, G.c.milestone_id == M.c.id)
            .outerjoin(MM, MM.c.milestone_id == M.c.id)
        )
        .group_by(signed.c.grp)
        .subquery("money")
    )
    groups = ags.outerjoin(money, money.c.grp.is_not_distinct_from(ags.c.grp))
    if group_by == "unit":
        key, label = U.c.code, U.c.name
        order: Any = U.c.id
        groups = groups.join(U, U.c.id == ags.c.grp)
    else:
        key = func.coalesce(cast(B.c.id, String), literal(""))
        label = func.coalesce(
            cast(B.c.year, String) + literal("年第") + cast(B.c.number, String) + literal("批"),
            literal("未分批"),
        )
        order = func.coalesce(B.c.year * 100 + B.c.number, literal(0))
        groups = groups.outerjoin(B, B.c.id == ags.c.grp)
    paid = func.coalesce(money.c.paid_fen, 0)
    return (
        select(
            key.label("key"),
            label.label("label"),
            ags.c.agreements,
            ags.c.granted_fen,
            func.coalesce(money.c.unlocked_fen, 0).label("unlocked_fen"),
            func.coalesce(money.c.requested_fen, 0).label("requested_fen"),
            func.coalesce(money.c.approved_fen, 0).label("approved_fen"),
            paid.label("paid_fen"),
            (ags.c.granted_fen - paid).label("outstanding_fen"),
            func.coalesce(money.c.overdue_fen, 0).label("overdue_fen"),
        )
        .select_from(groups)
        .order_by(order)
    )


def summary(
    session: Session, group_by: GroupBy = "unit", today: date | None = None
) -> list[SummaryRow]:
    """Rows per unit (or batch) that have at least one signed agreement."""
    rows = session.execute(summary_query(group_by, today or today_shanghai())).all()
    return [
        SummaryRow(
            key=str(r.key),
            label=str(r.label),
            agreements=int(r.agreements),
            **{f: int(getattr(r, f) or 0) for f in FIGURES},
        )
        for r in rows
    ]


def total(rows: list[SummaryRow]) -> SummaryRow:
    """The 合计 line (a sum over the already aggregated groups)."""
    out = SummaryRow(key="", label="合计")
    for r in rows:
        out.agreements += r.agreements
        for f in FIGURES:
            setattr(out, f, getattr(out, f) + getattr(r, f))
    return out


def _month(session: Session, column: Any, *, utc_timestamp: bool = False) -> ColumnElement[str]:
    """YYYY-MM of a date (or of a UTC timestamp seen in Beijing) — per dialect."""
    if session.get_bind().dialect.name == "postgresql":
        value = func.timezone("Asia/Shanghai", column) if utc_timestamp else column
        return func.to_char(value, "YYYY-MM")
    if (
        utc_timestamp
    ):  # SQLite stores naive UTC; Asia/Shanghai has been UTC+8 without DST since 1991
        return func.strftime("%Y-%m", column, "+8 hours")
    return func.strftime("%Y-%m", column)


def monthly_paid(session: Session) -> list[tuple[str, int]]:
    """Money paid per Beijing month (payments by their 拨付日期, reversals by when they were
    recorded), oldest first — the disbursement curve."""
    month = case(
        (E.c.paid_on.is_not(None), _month(session, E.c.paid_on)),
        else_=_month(session, E.c.at, utc_timestamp=True),
    )
    rows = session.execute(
        select(month.label("month"), func.sum(E.c.paid_delta_fen).label("paid_fen"))
        .where(E.c.paid_delta_fen != 0)
        .group_by(month)
        .order_by(month)
    ).all()
    return [(str(r.month), int(r.paid_fen)) for r in rows]


@dataclass
class WorkFunding:
    """The funding of one work's current agreement, for the 推进表 (附件3)."""

    agreement_status: str
    grant_fen: int
    paid_fen: int
    midterm_passed: bool
    acceptance_passed: bool

    @property
    def stage(self) -> str:
        if self.agreement_status != AgreementStatus.fully_signed.value:
            return "三方协议签署中"
        parts = ["三方协议已签署"]
        if self.acceptance_passed:
            parts.append("审核验收已通过")
        elif self.midterm_passed:
            parts.append("中期检查已通过")
        if self.grant_fen and self.paid_fen >= self.grant_fen:
            parts.append("扶持资金已全部拨付")
        elif self.paid_fen:
            parts.append("扶持资金部分拨付")
        return "，".join(parts)


LIVE_STATUSES = (
    AgreementStatus.open.value,
    AgreementStatus.signing.value,
    AgreementStatus.finalising.value,  # signed by all three, its archive form being made
    AgreementStatus.fully_signed.value,
)


def funding_by_work(session: Session, work_ids: list[int]) -> dict[int, WorkFunding]:
    """Per work: its newest live agreement's grant, money paid so far (ledger) and gates passed —
    one aggregate query over the ledger and the gate openings."""
    if not work_ids:
        return {}
    paid = (
        select(M.c.agreement_id, func.sum(E.c.paid_delta_fen).label("paid_fen"))
        .select_from(E.join(M, M.c.id == E.c.milestone_id))
        .group_by(M.c.agreement_id)
        .subquery("paid")
    )
    gates = (
        select(
            G.c.agreement_id,
            func.max(case((G.c.gate == "midterm_check_passed", 1), else_=0)).label("midterm"),
            func.max(case((G.c.gate == "acceptance_passed", 1), else_=0)).label("acceptance"),
        )
        .group_by(G.c.agreement_id)
        .subquery("gates")
    )
    rows = session.execute(
        select(
            A.c.work_id,
            A.c.version,
            A.c.status,
            A.c.grant_fen,
            func.coalesce(paid.c.paid_fen, 0).label("paid_fen"),
            func.coalesce(gates.c.midterm, 0).label("midterm"),
            func.coalesce(gates.c.acceptance, 0).label("acceptance"),
        )
        .select_from(
            A.outerjoin(paid, paid.c.agreement_id == A.c.id).outerjoin(
                gates, gates.c.agreement_id == A.c.id
            )
        )
        .where(A.c.work_id.in_(work_ids), A.c.status.in_(LIVE_STATUSES))
        .order_by(A.c.work_id, A.c.version)
    ).all()
    out: dict[int, WorkFunding] = {}
    for r in rows:  # ordered by version: the newest live agreement wins
        out[int(r.work_id)] = WorkFunding(
            str(r.status), int(r.grant_fen), int(r.paid_fen), bool(r.midterm), bool(r.acceptance)
        )
    return out
