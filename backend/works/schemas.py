"""API shapes for works. Money is integer 分 (strict: no floats, no strings, never negative)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from backend.works.models import Direction, WorkStatus

Fen = Annotated[int, Field(ge=0, le=10_000_000_000, strict=True)]
Text50 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
FILING_PATTERN = r"^[\u4e00-\u9fa5A-Za-z0-9（）()〔〕\[\]\-—第号字]{6,60}$"


class WorkFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    direction: Direction
    genre: Text50
    episodes: Annotated[int, Field(gt=0, le=1000, strict=True)]
    minutes_per_episode: Annotated[float, Field(gt=0, le=120)]
    synopsis: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)
    ]
    filing_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] = ""
    is_original: bool = True
    is_online: bool = False
    budget_fen: Fen = 0
    requested_fen: Fen = 0
    central_support_received: bool = False
    central_support_details: Annotated[str, StringConstraints(max_length=500)] = ""
    director: Text50
    screenwriter: Text50
    producer_name: Text50
    schedule: Annotated[str, StringConstraints(max_length=1000)] = ""
    planned_start: date | None = None
    planned_completion: date | None = None
    partner_platform: Annotated[str, StringConstraints(max_length=100)] = ""
    unit_code: Annotated[str, StringConstraints(max_length=32)] | None = None
    batch_id: int | None = None

    @model_validator(mode="after")
    def _consistent(self) -> WorkFields:
        if self.requested_fen > self.budget_fen:
            raise ValueError("申请扶持金额不能超过预算总额")
        if (
            self.planned_start
            and self.planned_completion
            and self.planned_completion < self.planned_start
        ):
            raise ValueError("计划完成日期不能早于开机日期")
        if self.central_support_received and not self.central_support_details.strip():
            raise ValueError("已获其他中央财政资金扶持时须填写说明")
        return self


class WorkCreate(WorkFields):
    pass


class WorkUpdate(BaseModel):
    """PATCH: any subset of the fields; the merged work is validated as a whole."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    direction: Direction | None = None
    genre: str | None = None
    episodes: Annotated[int, Field(strict=True)] | None = None
    minutes_per_episode: float | None = None
    synopsis: str | None = None
    filing_number: str | None = None
    is_original: bool | None = None
    is_online: bool | None = None
    budget_fen: Fen | None = None
    requested_fen: Fen | None = None
    central_support_received: bool | None = None
    central_support_details: str | None = None
    director: str | None = None
    screenwriter: str | None = None
    producer_name: str | None = None
    schedule: str | None = None
    planned_start: date | None = None
    planned_completion: date | None = None
    partner_platform: str | None = None
    unit_code: str | None = None
    batch_id: int | None = None


class WorkRead(BaseModel):
    id: int
    organisation_id: int
    organisation_name: str
    unit_code: str
    unit_name: str
    batch_id: int | None
    status: WorkStatus
    status_label: str
    version: int
    title: str
    direction: Direction
    direction_label: str
    genre: str
    episodes: int
    minutes_per_episode: float
    synopsis: str
    filing_number: str
    is_original: bool
    is_online: bool
    budget_fen: int
    requested_fen: int
    central_support_received: bool
    central_support_details: str
    director: str
    screenwriter: str
    producer_name: str
    schedule: str
    planned_start: date | None
    planned_completion: date | None
    partner_platform: str
    created_at: datetime
    updated_at: datetime
