"""Request bodies of the funding API. Money is integer 分: fractions and negatives are a 422."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DisbursementCreate(_Body):
    milestone_id: int
    amount_fen: StrictInt = Field(gt=0, description="金额（分），正整数")
    planned_on: date | None = None
    note: str = Field(default="", max_length=1000)


class ApproveBody(_Body):
    note: str = Field(default="", max_length=1000)


class ReasonBody(_Body):
    reason: str = Field(default="", max_length=2000)


class PayBody(_Body):
    voucher_no: str = Field(max_length=60, description="凭证号")
    bank_reference: str = Field(max_length=80, description="银行流水号")
    paid_on: date | None = None


class ReviewRequestCreate(_Body):
    kind: str = Field(description="midterm（中期检查）或 acceptance（审核验收）")
    note: str = Field(default="", max_length=2000)
