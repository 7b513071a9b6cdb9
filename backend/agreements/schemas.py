"""Request bodies of the agreements API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from backend.agreements.models import Gate


class MilestoneIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    amount_fen: int = Field(gt=0)
    gate: Gate
    planned_date: date | None = None


class AgreementCreate(BaseModel):
    work_id: int
    grant_fen: int | None = Field(
        default=None, ge=0, description="扶持资金（分）；默认：申请金额，已获中央财政扶持的为0"
    )
    milestones: list[MilestoneIn] | None = Field(default=None, description="默认 40%/30%/30%")
    over_request_reason: str = Field(default="", max_length=500)


class SignBody(BaseModel):
    password: str = Field(min_length=1, max_length=200)


class DeclineBody(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)
