"""Exports of the money (资金导出): the ledger and the summaries as XLSX (openpyxl), and one
agreement's money trail (资金轨迹) for auditors as JSON Lines or XLSX.

Amounts are integer 分 everywhere; they become yuan only here, at the edge, in cells formatted
``¥#,##0.00``. Headers are frozen, columns sized, totals written as values taken from the same
SQL aggregates the pages show (a test compares them with the database).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import func, label, select
from sqlmodel import Session, col

from backend.agreements.models import GATE_LABELS, Agreement, AgreementMilestone
from backend.agreements.service import get_agreement
from backend.audit_log.models import AuditEvent
from backend.auth.models import User
from backend.core.dates import to_shanghai
from backend.core.money import format_fen
from backend.core.xlsx import Workbook, to_bytes
from backend.funding import overview
from backend.funding.ledger import EntryKind
from backend.funding.models import Disbursement, DisbursementEntry, GateSource
from backend.funding.schemas import (
    DisbursementRead,
    Evidence,
    GateOpeningRead,
    ManualEvidence,
    MilestoneRead,
    MoneyTrail,
    NoEvidence,
    PaymentEvidence,
    RequestEvidence,
    ReviewEvidence,
    ReviewRead,
    ScheduleItem,
    SignedEvidence,
    TrailAgreement,
    TrailStep,
)
from backend.funding.summary import FIGURE_LABELS, FIGURES, SummaryRow, summary, total
from backend.orgs.models import RecommendingUnit
from backend.works.models import Work

YUAN_FORMAT = "¥#,##0.00"
HEADER_FILL = PatternFill("solid", fgColor="EEF1F4")
STEP_LABELS = {
    "requested": "申请拨付",
    EntryKind.approved.value: "审批通过",
    EntryKind.rejected.value: "审批退回",
    EntryKind.paid.value: "登记拨付",
    EntryKind.reversal_requested.value: "申请冲销",
    EntryKind.reversed.value: "冲销",
    EntryKind.reversal_rejected.value: "退回冲销申请",
}


def yuan(fen: int) -> Decimal:
    """分 → yuan as an exact Decimal for a spreadsheet cell."""
    return Decimal(fen) / 100


def _beijing(value: datetime) -> datetime:
    """A naive Beijing wall-clock time for a cell (Excel has no time zones)."""
    return to_shanghai(value).replace(tzinfo=None)


def _sheet(ws: Worksheet, headers: list[str], widths: list[int]) -> None:
    ws.append(headers)
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.freeze_panes = "A2"


def _money_columns(ws: Worksheet, columns: list[int]) -> None:
    for row in ws.iter_rows(min_row=2):
        for c in columns:
            row[c - 1].number_format = YUAN_FORMAT


# --------------------------------------------------------------------------- ledger
def ledger_rows(session: Session, agreement_id: int | None = None) -> list[dict[str, Any]]:
    """Every ledger line (the request itself and each entry about it) with its context, in the
    order they happened."""
    dq = (
        select(
            Disbursement,
            col(Agreement.number),
            col(Work.title),
            label("unit_name", col(RecommendingUnit.name)),
            label("milestone_name", col(AgreementMilestone.name)),
            col(User.username),
        )
        .join(Agreement, col(Agreement.id) == col(Disbursement.agreement_id))
        .join(Work, col(Work.id) == col(Agreement.work_id))
        .join(RecommendingUnit, col(RecommendingUnit.id) == col(Work.unit_id))
        .join(AgreementMilestone, col(AgreementMilestone.id) == col(Disbursement.milestone_id))
        .join(User, col(User.id) == col(Disbursement.requested_by))
        .order_by(col(Disbursement.id))
    )
    if agreement_id is not None:
        dq = dq.where(col(Disbursement.agreement_id) == agreement_id)
    heads = {}
    lines: list[dict[str, Any]] = []
    for d, number, title, unit_name, milestone_name, username in session.execute(dq).all():
        head = {
            "disbursement_id": d.id,
            "agreement_number": number,
            "work_title": title,
            "unit_name": unit_name,
            "milestone": milestone_name,
            "amount_fen": d.amount_fen,
            "payee": d.payee_name,
            "bank": f"{d.bank_name} {d.bank_account}",
        }
        heads[d.id] = head
        lines.append(
            {
                **head,
                "step": "requested",
                "paid_delta_fen": 0,
                "voucher_no": "",
                "bank_reference": "",
                "paid_on": d.planned_on,
                "text": d.note,
                "actor": username,
                "at": d.requested_at,
                "planned": True,
            }
        )
    if heads:
        eq = (
            select(DisbursementEntry, col(User.username))
            .join(User, col(User.id) == col(DisbursementEntry.actor_id))
            .where(col(DisbursementEntry.disbursement_id).in_(list(heads)))
            .order_by(col(DisbursementEntry.id))
        )
        for e, username in session.execute(eq).all():
            lines.append(
                {
                    **heads[e.disbursement_id],
                    "step": e.kind,
                    "paid_delta_fen": e.paid_delta_fen,
                    "voucher_no": e.voucher_no,
                    "bank_reference": e.bank_reference,
                    "paid_on": e.paid_on,
                    "text": e.reason,
                    "actor": username,
                    "at": e.at,
                    "planned": False,
                }
            )
    lines.sort(key=lambda r: r["at"])
    return lines


def ledger_paid_total(session: Session) -> int:
    """SUM of the ledger's paid deltas (the 合计 of the ledger sheet)."""
    return int(
        session.execute(
            select(func.coalesce(func.sum(DisbursementEntry.paid_delta_fen), 0))
        ).scalar_one()
    )


LEDGER_HEADERS = [
    "时间（北京）",
    "拨付申请号",
    "协议编号",
    "作品",
    "推荐单位",
    "付款节点",
    "操作",
    "申请金额",
    "已拨付变动",
    "凭证号",
    "银行流水号",
    "拨付/计划日期",
    "说明/理由",
    "操作人",
    "收款账户",
]


def _write_ledger(ws: Worksheet, lines: list[dict[str, Any]], paid_total: int) -> None:
    _sheet(ws, LEDGER_HEADERS, [18, 10, 20, 22, 22, 12, 10, 16, 16, 16, 20, 14, 30, 12, 34])
    for r in lines:
        ws.append(
            [
                _beijing(r["at"]),
                r["disbursement_id"],
                r["agreement_number"],
                r["work_title"],
                r["unit_name"],
                r["milestone"],
                STEP_LABELS.get(r["step"], r["step"]),
                yuan(r["amount_fen"]),
                yuan(r["paid_delta_fen"]),
                r["voucher_no"],
                r["bank_reference"],
                r["paid_on"],
                r["text"],
                r["actor"],
                r["bank"],
            ]
        )
    ws.append(["合计", None, None, None, None, None, None, None, yuan(paid_total)])
    ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
    _money_columns(ws, [8, 9])
    for row in ws.iter_rows(min_row=2, max_col=1):
        if isinstance(row[0].value, datetime):
            row[0].number_format = "yyyy-mm-dd hh:mm"
    for row in ws.iter_rows(min_row=2, min_col=12, max_col=12):
        if isinstance(row[0].value, date):
            row[0].number_format = "yyyy-mm-dd"


def _write_summary(ws: Worksheet, first: str, rows: list[SummaryRow]) -> None:
    headers = [first, "协议数"] + [FIGURE_LABELS[f] for f in FIGURES]
    _sheet(ws, headers, [26, 8] + [16] * len(FIGURES))
    for r in [*rows, total(rows)]:
        ws.append([r.label, r.agreements] + [yuan(getattr(r, f)) for f in FIGURES])
    ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
    _money_columns(ws, list(range(3, 3 + len(FIGURES))))


def finance_workbook(session: Session, today: date | None = None) -> bytes:
    """资金汇总.xlsx: sheets 按推荐单位, 按批次, 拨付台账."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "按推荐单位"
    _write_summary(ws, "推荐单位", summary(session, "unit", today))
    _write_summary(wb.create_sheet("按批次"), "批次", summary(session, "batch", today))
    _write_ledger(wb.create_sheet("拨付台账"), ledger_rows(session), ledger_paid_total(session))
    return to_bytes(wb)


# --------------------------------------------------------------------------- money trail
def _gate_step(
    m: MilestoneRead,
    g: GateOpeningRead,
    ag: Agreement,
    reviews: dict[int, ReviewRead],
    signed_event: AuditEvent | None,
) -> TrailStep:
    evidence: Evidence
    if g.source == GateSource.agreement_signed:
        evidence = SignedEvidence(
            source=g.source,
            audit_seq=g.evidence_audit_seq,
            agreement_pdf_sha256=ag.current_pdf_sha256,
            evidence_zip=f"/api/v1/agreements/{ag.id}/evidence.zip",
            registry=f"/api/v1/registry/{ag.current_pdf_sha256}" if ag.current_pdf_sha256 else None,
            fully_signed_at=signed_event.at if signed_event else None,
        )
        detail = "三方签署完成且协议验证通过（证据包、登记簿可查）"
    elif g.source == GateSource.review:
        r = reviews.get(g.review_id or 0)
        evidence = ReviewEvidence(
            source=g.source,
            audit_seq=g.evidence_audit_seq,
            review_id=g.review_id,
            review_kind=r.kind_label if r else None,
            review_result=r.result_label if r else None,
            held_on=r.held_on if r else None,
            reviewers=r.reviewers if r else None,
            attachments=r.attachments if r else [],
        )
        detail = (
            f"{r.kind_label}结果：{r.result_label}（{r.held_on.isoformat()}）"
            if r
            else "结果：（）"
        )
    else:
        evidence = ManualEvidence(source=g.source, audit_seq=g.evidence_audit_seq, reason=g.reason)
        detail = f"手动解锁，理由：{g.reason}"
    return TrailStep(
        at=g.opened_at,
        step="gate_opened",
        step_label="节点解锁",
        actor=g.opened_by or "system",
        milestone=m.name,
        amount_fen=m.amount_fen,
        paid_delta_fen=0,
        detail=detail,
        evidence=evidence,
    )


def _ledger_steps(d: DisbursementRead, milestone: str) -> list[TrailStep]:
    steps = [
        TrailStep(
            at=d.requested_at,
            step="requested",
            step_label="申请拨付",
            actor=d.requested_by,
            milestone=milestone,
            amount_fen=d.amount_fen,
            paid_delta_fen=0,
            detail=d.note,
            disbursement_id=d.id,
            evidence=RequestEvidence(
                payee=d.payee_name,
                bank_name=d.bank_name,
                bank_account=d.bank_account,
                planned_on=d.planned_on,
            ),
        )
    ]
    for e in d.entries:
        steps.append(
            TrailStep(
                at=e.at,
                step=e.kind.value,
                step_label=STEP_LABELS[e.kind],
                actor=e.actor,
                milestone=milestone,
                amount_fen=d.amount_fen,
                paid_delta_fen=e.paid_delta_fen,
                detail=e.reason,
                disbursement_id=d.id,
                evidence=PaymentEvidence(
                    voucher_no=e.voucher_no, bank_reference=e.bank_reference, paid_on=e.paid_on
                )
                if e.kind == EntryKind.paid
                else NoEvidence(),
            )
        )
    return steps


def money_trail(session: Session, user: User, agreement_id: int) -> MoneyTrail:
    """资金轨迹 of one agreement: schedule → gates with the evidence that opened them → each
    request, approval, payment and reversal with actor and time (oldest first)."""
    ag = get_agreement(session, user, agreement_id)
    data = overview.funding(session, user, agreement_id)
    reviews = {r.id: r for r in data.reviews}
    milestone_names = {m.id: m.name for m in data.milestones}
    signed_event = (
        session.execute(
            select(AuditEvent).where(
                col(AuditEvent.object_type) == "agreement",
                col(AuditEvent.object_id) == str(ag.id),
                col(AuditEvent.action) == "agreement.fully_signed",
            )
        )
        .scalars()
        .first()
    )
    steps = [
        _gate_step(m, m.gate_opening, ag, reviews, signed_event)
        for m in data.milestones
        if m.gate_opening is not None
    ]
    for d in data.disbursements:
        steps += _ledger_steps(d, milestone_names.get(d.milestone_id, ""))
    steps.sort(key=lambda s: s.at)
    return MoneyTrail(
        agreement=TrailAgreement(
            **dict(data.agreement),
            work_id=ag.work_id,
            current_pdf_sha256=ag.current_pdf_sha256,
            evidence_zip=f"/api/v1/agreements/{ag.id}/evidence.zip",
        ),
        totals=data.totals,
        schedule=[
            ScheduleItem(
                seq=m.seq,
                name=m.name,
                amount_fen=m.amount_fen,
                gate=m.gate,
                gate_label=GATE_LABELS[m.gate],
                planned_date=m.planned_date,
                status_label=m.status_label,
                paid_fen=m.paid_fen,
            )
            for m in data.milestones
        ],
        reviews=data.reviews,
        steps=steps,
    )


def trail_jsonl(trail: MoneyTrail) -> bytes:
    """One JSON object per line: the agreement, each schedule item, then each step."""
    data = trail.model_dump(mode="json")
    lines = [{"type": "agreement", **data["agreement"], "totals": data["totals"]}]
    lines += [{"type": "milestone", **m} for m in data["schedule"]]
    lines += [{"type": "step", **s} for s in data["steps"]]
    return "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()


def trail_workbook(trail: MoneyTrail) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "付款节点"
    _sheet(
        ws,
        ["序号", "名称", "金额", "拨付条件", "计划日期", "状态", "已拨付"],
        [6, 14, 16, 16, 12, 14, 16],
    )
    for m in trail.schedule:
        ws.append(
            [
                m.seq,
                m.name,
                yuan(m.amount_fen),
                m.gate_label,
                m.planned_date.isoformat() if m.planned_date else None,
                m.status_label,
                yuan(m.paid_fen),
            ]
        )
    _money_columns(ws, [3, 7])
    st = wb.create_sheet("资金轨迹")
    _sheet(
        st,
        ["时间（北京）", "环节", "操作人", "付款节点", "金额", "已拨付变动", "说明", "依据"],
        [18, 10, 12, 12, 16, 16, 36, 60],
    )
    for s in trail.steps:
        st.append(
            [
                _beijing(s.at),
                s.step_label,
                s.actor,
                s.milestone,
                yuan(s.amount_fen),
                yuan(s.paid_delta_fen),
                s.detail,
                json.dumps(s.evidence.model_dump(mode="json"), ensure_ascii=False),
            ]
        )
    _money_columns(st, [5, 6])
    for row in st.iter_rows(min_row=2, max_col=1):
        row[0].number_format = "yyyy-mm-dd hh:mm:ss"
    return to_bytes(wb)


__all__ = [
    "finance_workbook",
    "ledger_rows",
    "money_trail",
    "trail_jsonl",
    "trail_workbook",
    "format_fen",
]
