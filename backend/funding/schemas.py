"""Request bodies and read schemas of the funding and finance API. Money is integer 分 (in a
request, fractions and negatives are a 422); times are ISO 8601."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from backend.agreements.models import AgreementStatus, Gate
from backend.core.schemas import IsoDateTime, omitted_when_none
from backend.funding.ledger import DisbursementState, MilestoneStatus
from backend.funding.models import EntryKind, GateSource, ReviewKind, ReviewResult


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DisbursementCreate(_Body):
    milestone_id: int
    amount_fen: StrictInt = Field(gt=0, description="金额（分），正整数")
    planned_on: date | None = None
    note: str = Field(default="", max_length=1000)


class _StepUpBody(_Body):
    """Money approvals: when the user has TOTP (or the role requires it), password + code."""

    password: str = Field(
        default="", max_length=200, description="登录密码（已绑定动态口令时必填）"
    )
    totp_code: str = Field(
        default="", max_length=20, description="动态口令或恢复码（已绑定时必填）"
    )


CREDENTIALS = {"password", "totp_code"}  # never part of the Idempotency-Key digest


class ApproveBody(_StepUpBody):
    note: str = Field(default="", max_length=1000)


class ReasonBody(_Body):
    reason: str = Field(default="", max_length=2000)


class PayBody(_StepUpBody):
    voucher_no: str = Field(max_length=60, description="凭证号")
    bank_reference: str = Field(max_length=80, description="银行流水号")
    paid_on: date | None = None


class ReviewRequestCreate(_Body):
    kind: str = Field(description="midterm（中期检查）或 acceptance（审核验收）")
    note: str = Field(default="", max_length=2000)


# --------------------------------------------------------------------------- read schemas
Fen = Annotated[int, Field(description="金额（分）")]


class GateOpeningRead(BaseModel):
    """When and why a milestone's gate opened (解锁依据)."""

    source: GateSource = Field(
        description="agreement_signed 三方签署完成、review 检查验收通过、manual 手动解锁"
    )
    evidence_audit_seq: int | None = Field(description="作为依据的审计事件序号")
    review_id: int | None
    reason: str
    opened_by: str | None
    opened_at: IsoDateTime


class MilestoneRead(BaseModel):
    id: int
    agreement_id: int
    seq: int
    name: str
    amount_fen: Fen
    amount: str = Field(description="金额（元，展示用）")
    gate: Gate
    gate_label: str
    planned_date: date | None
    status: MilestoneStatus
    status_label: str
    gate_opening: GateOpeningRead | None
    committed_fen: Fen
    paid_fen: Fen
    requested_fen: Fen
    approved_fen: Fen
    remaining_fen: Fen


class EntryRead(BaseModel):
    """One line of the append-only ledger about a disbursement (审批、退回、拨付、冲销)."""

    id: int
    kind: EntryKind
    paid_delta_fen: int = Field(description="已拨付金额的变动（分）：拨付为正，冲销已拨付为负")
    voucher_no: str
    bank_reference: str
    paid_on: date | None
    reason: str
    actor: str | None
    at: IsoDateTime


class DisbursementRead(BaseModel):
    id: int
    agreement_id: int
    milestone_id: int
    amount_fen: Fen
    amount: str = Field(description="金额（元，展示用）")
    state: DisbursementState
    state_label: str
    payee_name: str
    bank_name: str
    bank_account: str
    planned_on: date | None
    note: str
    requested_by: str | None
    requested_at: IsoDateTime
    entries: list[EntryRead]


class AttachmentRead(BaseModel):
    filename: str
    sha256: str
    size: int
    pages: int


class ReviewRead(BaseModel):
    """A recorded 中期检查 / 审核验收 with its signed PDFs."""

    id: int
    agreement_id: int
    request_id: int | None
    kind: ReviewKind
    kind_label: str
    held_on: date
    reviewers: list[str]
    result: ReviewResult
    result_label: str
    conditions: list[str]
    opinion: str
    recorded_by: str | None
    recorded_at: IsoDateTime
    attachments: list[AttachmentRead]


class ReviewRequestRead(BaseModel):
    id: int
    agreement_id: int
    kind: ReviewKind
    kind_label: str
    note: str
    requested_by: str | None
    requested_at: IsoDateTime


class FundingAgreement(BaseModel):
    id: int
    number: str
    status: AgreementStatus
    grant_fen: Fen
    grant: str = Field(description="扶持资金（元，展示用）")


class FundingTotals(BaseModel):
    committed_fen: Fen
    paid_fen: Fen
    remaining_fen: Fen


class TimelineEntry(BaseModel):
    seq: int
    at: IsoDateTime
    actor: str
    action: str
    object_type: str
    object_id: str


class FundingOverview(BaseModel):
    agreement: FundingAgreement
    totals: FundingTotals
    milestones: list[MilestoneRead]
    review_requests: list[ReviewRequestRead]
    reviews: list[ReviewRead]
    disbursements: list[DisbursementRead]
    timeline: list[TimelineEntry] = Field(description="每一步的审计事件（最早的在前）")


# --------------------------------------------------------------------------- money trail
class _Evidence(BaseModel):
    # Exactly one shape per kind of step, so a value reads back as the shape it was written as.
    model_config = ConfigDict(extra="forbid")


class SignedEvidence(_Evidence):
    """The gate opened by the verified three-party signature."""

    source: Literal[GateSource.agreement_signed]
    audit_seq: int | None
    agreement_pdf_sha256: str | None
    evidence_zip: str
    registry: str | None
    fully_signed_at: IsoDateTime | None


class ReviewEvidence(_Evidence):
    """The gate opened by a passed review."""

    source: Literal[GateSource.review]
    audit_seq: int | None
    review_id: int | None
    review_kind: str | None
    review_result: str | None
    held_on: date | None
    reviewers: list[str] | None
    attachments: list[AttachmentRead]


class ManualEvidence(_Evidence):
    """The gate opened by hand, with the officer's reason."""

    source: Literal[GateSource.manual]
    audit_seq: int | None
    reason: str


class RequestEvidence(_Evidence):
    """A request for money: where it is to go."""

    payee: str
    bank_name: str
    bank_account: str
    planned_on: date | None


class PaymentEvidence(_Evidence):
    """A recorded payment: its voucher and bank reference."""

    voucher_no: str
    bank_reference: str
    paid_on: date | None


class NoEvidence(_Evidence):
    """An approval, rejection, reversal request or reversal decision: the step itself is the
    record."""


Evidence = (
    SignedEvidence
    | ReviewEvidence
    | ManualEvidence
    | RequestEvidence
    | PaymentEvidence
    | NoEvidence
)


class TrailStep(BaseModel):
    at: IsoDateTime
    step: Literal[
        "gate_opened",
        "requested",
        "approved",
        "rejected",
        "paid",
        "reversal_requested",
        "reversed",
        "reversal_rejected",
    ]
    step_label: str
    actor: str | None
    milestone: str
    amount_fen: Fen
    paid_delta_fen: int = Field(description="已拨付金额的变动（分）")
    detail: str
    disbursement_id: int | None = omitted_when_none()
    evidence: Evidence


class ScheduleItem(BaseModel):
    seq: int
    name: str
    amount_fen: Fen
    gate: Gate
    gate_label: str
    planned_date: date | None
    status_label: str
    paid_fen: Fen


class TrailAgreement(FundingAgreement):
    work_id: int
    current_pdf_sha256: str | None
    evidence_zip: str


class MoneyTrail(BaseModel):
    """资金轨迹: schedule → gates with their evidence → every ledger step (oldest first)."""

    agreement: TrailAgreement
    totals: FundingTotals
    schedule: list[ScheduleItem]
    reviews: list[ReviewRead]
    steps: list[TrailStep]


# --------------------------------------------------------------------------- summary, filings
class SummaryRowRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str = Field(description="推荐单位代码或批次 id（未分批为空）")
    label: str
    agreements: int
    granted_fen: Fen
    unlocked_fen: Fen
    requested_fen: Fen
    approved_fen: Fen
    paid_fen: Fen
    outstanding_fen: Fen
    overdue_fen: Fen


class FinanceSummary(BaseModel):
    group_by: Literal["unit", "batch"]
    rows: list[SummaryRowRead]
    total: SummaryRowRead


class FilingCorrectionRead(BaseModel):
    document_id: int
    sha256: str
    reason: str
    filed_at: IsoDateTime


class FilingRead(BaseModel):
    """A unit's filed 推进表 for one half-month."""

    id: int
    unit: str
    unit_name: str
    period: str = Field(description="YYYY-MM-H1（上半月）或 YYYY-MM-H2（下半月）")
    period_label: str
    document_id: int
    sha256: str
    filed_by: str | None
    filed_at: IsoDateTime
    late: bool
    corrections: list[FilingCorrectionRead]


class FiledUnit(FilingRead):
    state: Literal["on_time", "late"]
    state_label: str


class UnfiledUnit(BaseModel):
    unit: str
    unit_name: str
    period: str
    state: Literal["due", "missing_late", "not_due"]
    state_label: str


class PeriodStatus(BaseModel):
    period: str
    period_label: str
    deadline: date = Field(description="按时报送截止日（北京时间）")
    units: list[FiledUnit | UnfiledUnit]
