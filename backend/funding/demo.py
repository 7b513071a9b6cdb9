"""Demo funding (called at the end of ``load_demo``), made with the real service functions on
the demo's fully signed agreement: a rejected request, a payment reversed (冲销) and paid again
(首期款: paid), a passed 中期检查 with one approved and one waiting request (中期款), a failed
审核验收 followed by a passing re-review (尾款: due). The agreement still waiting for 丙方 keeps
its milestones locked. Idempotent: does nothing once the agreement has disbursements."""

from __future__ import annotations

import io
from datetime import timedelta

from pypdf import PdfWriter
from sqlmodel import Session, col, select

from backend.agreements.models import Agreement, AgreementMilestone, AgreementStatus
from backend.auth.models import User
from backend.core.dates import today_shanghai
from backend.funding import reviews, service
from backend.funding.models import Disbursement


def demo_pdf(title: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def load_funding_demo(session: Session) -> None:
    users = {u.username: u for u in session.exec(select(User)).all()}
    needed = ("finance-a", "finance-b", "ministry")
    if any(n not in users for n in needed):
        return
    fa, fb, ministry = users["finance-a"], users["finance-b"], users["ministry"]
    signed = session.exec(
        select(Agreement)
        .where(Agreement.status == AgreementStatus.fully_signed.value, Agreement.grant_fen > 0)
        .order_by(col(Agreement.id))
    ).first()
    if signed is None:
        return
    if session.exec(select(Disbursement).where(Disbursement.agreement_id == signed.id)).first():
        return
    ms = session.exec(
        select(AgreementMilestone)
        .where(AgreementMilestone.agreement_id == signed.id)
        .order_by(col(AgreementMilestone.seq))
    ).all()
    by_gate = {m.gate: m for m in ms}
    producer = session.exec(
        select(User).where(User.organisation_id == signed.producer_org_id)
    ).first()
    today = today_shanghai()
    first = by_gate.get("agreement_signed")
    if first is not None:
        mid = first.id or 0
        wrong = service.request_disbursement(
            session,
            fa,
            milestone_id=mid,
            amount_fen=first.amount_fen // 2,
            planned_on=today,
            note="首期款（误按半数申请）",
        )
        service.reject(session, fb, wrong.id or 0, "首期款应按协议约定全额申请，请重新提交。")
        d1 = service.request_disbursement(
            session,
            fa,
            milestone_id=mid,
            amount_fen=first.amount_fen,
            planned_on=today,
            note="首期款",
        )
        service.approve(session, fb, d1.id or 0, "与协议约定一致。")
        service.pay(
            session,
            fb,
            d1.id or 0,
            voucher_no="JP-PZ-2026-0001",
            bank_reference="ICBC20260901000123",
            paid_on=today - timedelta(days=3),
        )
        service.request_reversal(
            session, fb, d1.id or 0, "银行退票：收款账户户名不符，冲销后重新拨付。"
        )
        service.approve_reversal(session, fa, d1.id or 0, "已核对银行退票通知。")
        d2 = service.request_disbursement(
            session,
            fb,
            milestone_id=mid,
            amount_fen=first.amount_fen,
            planned_on=today,
            note="首期款（重新拨付）",
        )
        service.approve(session, fa, d2.id or 0, "账户已核实。")
        service.pay(
            session,
            fa,
            d2.id or 0,
            voucher_no="JP-PZ-2026-0002",
            bank_reference="ICBC20260905000456",
            paid_on=today,
        )
    second = by_gate.get("midterm_check_passed")
    if second is not None and producer is not None:
        req = reviews.request_review(
            session, producer, signed.id or 0, "midterm", "已完成过半拍摄，申请中期检查。"
        )
        reviews.record_review(
            session,
            ministry,
            signed.id or 0,
            kind="midterm",
            held_on=today,
            reviewers=["王专家", "李专家", "总局项目处"],
            result="passed",
            opinion="制作进度与计划相符，经费使用规范。",
            attachments=[("中期检查意见.pdf", demo_pdf("midterm check"))],
            request_id=req.id,
        )
        half = second.amount_fen // 2
        d3 = service.request_disbursement(
            session,
            fa,
            milestone_id=second.id or 0,
            amount_fen=half,
            planned_on=today + timedelta(days=7),
            note="中期款（第一笔）",
        )
        service.approve(session, fb, d3.id or 0, "中期检查已通过。")
        service.request_disbursement(
            session,
            fb,
            milestone_id=second.id or 0,
            amount_fen=second.amount_fen - half,
            planned_on=today + timedelta(days=30),
            note="中期款（第二笔）",
        )
    if by_gate.get("acceptance_passed") is not None and producer is not None:
        req = reviews.request_review(
            session, producer, signed.id or 0, "acceptance", "成片已完成，申请审核验收。"
        )
        reviews.record_review(
            session,
            ministry,
            signed.id or 0,
            kind="acceptance",
            held_on=today - timedelta(days=20),
            reviewers=["张专家", "赵专家"],
            result="failed",
            opinion="片长不足合同约定，字幕存在多处错误，请修改后重新申请验收。",
            attachments=[("审核验收意见（第一次）.pdf", demo_pdf("acceptance 1"))],
            request_id=req.id,
        )
        reviews.record_review(
            session,
            ministry,
            signed.id or 0,
            kind="acceptance",
            held_on=today,
            reviewers=["张专家", "赵专家"],
            result="passed_with_conditions",
            conditions=["播出前补交修订后的字幕文件"],
            opinion="修改后片长与质量符合约定，同意验收。",
            attachments=[("审核验收意见（复审）.pdf", demo_pdf("acceptance 2"))],
        )
