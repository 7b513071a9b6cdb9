"""资金拨付 (funding): gate openings, 中期检查/审核验收 reviews, and the append-only
disbursement ledger. Milestones themselves are the agreement's schedule
(``AgreementMilestone``); their funding status is derived from the rows here (``MilestoneMoney``
only caches the ledger's sums for the finance summary).

Append-only: a ``Disbursement`` (拨付申请) never changes after it is written; what happens to it
(approved / rejected / paid / reversal requested / reversed or reversal rejected) is a
``DisbursementEntry``. Unique (disbursement_id, step) makes each request decided once, paid once,
its reversal requested once and decided once — also when two clerks press the button at the same
moment.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.base import fen_field, timestamp_field


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class GateSource(StrEnum):
    agreement_signed = "agreement_signed"  # the verified full signature (audit event)
    review = "review"  # a passed 中期检查 / 审核验收 record
    manual = "manual"  # opened by a ministry officer with a recorded reason


class MilestoneGateOpening(SQLModel, table=True):
    """The moment a milestone's gate opened, with its evidence. At most one per milestone."""

    __tablename__ = "milestone_gate_openings"
    __table_args__ = (
        UniqueConstraint("milestone_id"),
        CheckConstraint(_one_of("source", GateSource), name="source_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    milestone_id: int = Field(foreign_key="agreement_milestones.id")
    agreement_id: int = Field(foreign_key="agreements.id", index=True)
    gate: str = Field(max_length=30)
    source: str = Field(max_length=20)
    audit_seq: int | None = None  # the audit event that is the evidence (fully_signed / review)
    review_id: int | None = Field(default=None, foreign_key="funding_reviews.id")
    reason: str = Field(default="", sa_type=Text)
    opened_by: int | None = Field(default=None, foreign_key="users.id")
    opened_at: datetime = timestamp_field()


class ReviewKind(StrEnum):
    midterm = "midterm"  # 中期检查
    acceptance = "acceptance"  # 审核验收

    @property
    def label(self) -> str:
        return {"midterm": "中期检查", "acceptance": "审核验收"}[self.value]


class ReviewResult(StrEnum):
    passed = "passed"  # 通过
    failed = "failed"  # 不通过
    passed_with_conditions = "passed_with_conditions"  # 有条件通过

    @property
    def label(self) -> str:
        return {"passed": "通过", "failed": "不通过", "passed_with_conditions": "有条件通过"}[
            self.value
        ]

    @property
    def opens_gate(self) -> bool:
        return self != ReviewResult.failed


class ReviewRequest(SQLModel, table=True):
    """A producer's request for a 中期检查 or 审核验收."""

    __tablename__ = "funding_review_requests"
    __table_args__ = (CheckConstraint(_one_of("kind", ReviewKind), name="kind_known"),)

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreements.id", index=True)
    kind: str = Field(max_length=20)
    note: str = Field(default="", sa_type=Text)
    requested_by: int = Field(foreign_key="users.id")
    requested_at: datetime = timestamp_field()


class FundingReview(SQLModel, table=True):
    """A recorded 中期检查 / 审核验收 (AcceptanceReview). Immutable; a re-review is a new row."""

    __tablename__ = "funding_reviews"
    __table_args__ = (
        CheckConstraint(_one_of("kind", ReviewKind), name="kind_known"),
        CheckConstraint(_one_of("result", ReviewResult), name="result_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreements.id", index=True)
    request_id: int | None = Field(default=None, foreign_key="funding_review_requests.id")
    kind: str = Field(max_length=20)
    held_on: date
    reviewers: str = Field(sa_type=Text)  # JSON list of names
    result: str = Field(max_length=30)
    conditions: str = Field(default="[]", sa_type=Text)  # JSON list
    opinion: str = Field(default="", sa_type=Text)
    recorded_by: int = Field(foreign_key="users.id")
    recorded_at: datetime = timestamp_field()


class ReviewAttachment(SQLModel, table=True):
    """A PDF attached to a review; the bytes live content-addressed in the blob store."""

    __tablename__ = "funding_review_attachments"
    __table_args__ = (UniqueConstraint("review_id", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="funding_reviews.id", index=True)
    filename: str = Field(max_length=200)
    sha256: str = Field(max_length=64)
    size: int
    pages: int


class Disbursement(SQLModel, table=True):
    """拨付申请: one request for money against one milestone. Never updated."""

    __tablename__ = "disbursements"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreements.id", index=True)
    milestone_id: int = Field(foreign_key="agreement_milestones.id", index=True)
    amount_fen: int = fen_field(gt=0)
    payee_org_id: int = Field(foreign_key="organisations.id")
    payee_name: str = Field(max_length=200)
    bank_name: str = Field(max_length=100)
    bank_account: str = Field(max_length=40)
    planned_on: date | None = None
    note: str = Field(default="", sa_type=Text)
    requested_by: int = Field(foreign_key="users.id")
    requested_at: datetime = timestamp_field()


class EntryKind(StrEnum):
    approved = "approved"  # 审批通过
    rejected = "rejected"  # 审批退回
    paid = "paid"  # 已拨付
    reversal_requested = "reversal_requested"  # 申请冲销
    reversed = "reversed"  # 冲销（经另一名财务人员批准）
    reversal_rejected = "reversal_rejected"  # 冲销申请被退回

    @property
    def step(self) -> str:
        return {
            "approved": "decision",
            "rejected": "decision",
            "paid": "payment",
            "reversal_requested": "reversal_request",
            "reversed": "reversal",
            "reversal_rejected": "reversal",
        }[self.value]

    @property
    def label(self) -> str:
        return {
            "approved": "审批通过",
            "rejected": "退回",
            "paid": "拨付",
            "reversal_requested": "申请冲销",
            "reversed": "冲销",
            "reversal_rejected": "退回冲销申请",
        }[self.value]


STEPS = ("decision", "payment", "reversal_request", "reversal")


class DisbursementEntry(SQLModel, table=True):
    """One append-only ledger line about a disbursement. ``paid_delta_fen`` is what the line
    changes in money actually paid: +amount for a payment, −amount for reversing a paid one."""

    __tablename__ = "disbursement_entries"
    __table_args__ = (
        UniqueConstraint("disbursement_id", "step"),
        CheckConstraint(_one_of("kind", EntryKind), name="kind_known"),
        CheckConstraint(f"step IN ({', '.join(repr(v) for v in STEPS)})", name="step_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    disbursement_id: int = Field(foreign_key="disbursements.id", index=True)
    milestone_id: int = Field(foreign_key="agreement_milestones.id", index=True)
    step: str = Field(max_length=20)
    kind: str = Field(max_length=20)
    paid_delta_fen: int = fen_field(signed=True, default=0)
    voucher_no: str = Field(default="", max_length=60)  # 凭证号
    bank_reference: str = Field(default="", max_length=80)
    paid_on: date | None = None
    reason: str = Field(default="", sa_type=Text)
    actor_id: int = Field(foreign_key="users.id")
    at: datetime = timestamp_field()


class IdempotencyKey(SQLModel, table=True):
    """A POST's Idempotency-Key, stored with the first response in the same transaction."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_body: str = Field(sa_type=Text)
    created_at: datetime = timestamp_field()


class MilestoneMoney(SQLModel, table=True):
    """Running totals of one milestone's ledger, written in the same transaction as each
    request and ledger line (``backend.funding.totals``) so the finance summary reads one row per
    milestone instead of aggregating the whole ledger. Derived data: the ledger stays the truth
    (a test recomputes these from it)."""

    __tablename__ = "milestone_money"

    milestone_id: int = Field(foreign_key="agreement_milestones.id", primary_key=True)
    agreement_id: int = Field(foreign_key="agreements.id", index=True)
    requested_fen: int = fen_field(signed=True, default=0)  # waiting for approval
    approved_fen: int = fen_field(signed=True, default=0)  # approved, not yet paid
    paid_fen: int = fen_field(signed=True, default=0)  # sum of the ledger's paid deltas
