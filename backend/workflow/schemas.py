"""API shapes of the application workflow."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from backend.core.dates import SHANGHAI, end_of_day
from backend.workflow.models import ReviewRound, UnitDecision

Opinion = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]


def _deadline(value: Any) -> Any:
    """A date means the end of that day in Beijing; a naive datetime is Beijing time."""

    if isinstance(value, str) and len(value) == 10:
        value = date.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return end_of_day(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=SHANGHAI)
    return value


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: Annotated[int, Field(ge=2020, le=2100)]
    number: Annotated[int, Field(ge=1, le=12)]
    registration_deadline: datetime
    submission_deadline: datetime
    quota: Annotated[int, Field(ge=0, le=100)] = 5
    notice_days: Annotated[int, Field(ge=1, le=60)] = 7

    _norm = field_validator("registration_deadline", "submission_deadline", mode="before")(
        _deadline
    )


class BatchPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: Annotated[int, Field(ge=2020, le=2100)] | None = None
    number: Annotated[int, Field(ge=1, le=12)] | None = None
    registration_deadline: datetime | None = None
    submission_deadline: datetime | None = None
    quota: Annotated[int, Field(ge=0, le=100)] | None = None
    notice_days: Annotated[int, Field(ge=1, le=60)] | None = None

    _norm = field_validator("registration_deadline", "submission_deadline", mode="before")(
        _deadline
    )


class BatchReopen(BaseModel):
    """重新开放：延后已过的截止时间（须说明理由；公示后不可）。"""

    model_config = ConfigDict(extra="forbid")

    registration_deadline: datetime | None = None
    submission_deadline: datetime | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]

    _norm = field_validator("registration_deadline", "submission_deadline", mode="before")(
        _deadline
    )


class BatchRead(BaseModel):
    id: int
    year: int
    number: int
    label: str
    registration_deadline: datetime
    submission_deadline: datetime
    registration_deadline_beijing: str
    submission_deadline_beijing: str
    quota: int
    notice_days: int
    open: bool
    phase: str = Field(description="registration / recommendation / review / notice / confirmed")
    phase_label: str


class QuotaExceptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    reason: Opinion


class QuotaRead(BaseModel):
    batch_id: int
    unit_id: int
    quota: int
    extra: int
    used: int
    remaining: int


class DocumentRead(BaseModel):
    slot: str
    label: str
    version: int
    provided_by: str
    provided_by_label: str
    sha256: str
    size: int
    pages: int
    filename: str
    created_at: datetime


class ApplicationRead(BaseModel):
    """A work's application status: documents of the current version and eligibility now."""

    work_id: int
    status: str
    status_label: str
    version: int
    documents: list[DocumentRead]
    eligible: bool
    problems: dict[str, str]
    unit_review: dict[str, Any] | None
    funding: dict[str, Any]


class UnitReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: UnitDecision
    opinion: Opinion


class SignDocumentIn(BaseModel):
    """在线签章: the signer's password, entered again (fresh confirmation)."""

    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=1, max_length=200)


class RecommendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    opinion: Opinion = ""


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    round: ReviewRound
    expert_ids: list[int] = Field(default_factory=list)
    expert_usernames: list[str] = Field(default_factory=list)


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    round: ReviewRound
    scores: dict[str, Any]
    opinion: Opinion


class ConcludeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advance: bool
    reason: Opinion


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    selected: bool
    reason: Opinion


class DecisionRead(BaseModel):
    work_id: int
    round: str
    selected: bool
    reason: str
    grant_eligible: bool
    funding_note: str
    status: str


class ObjectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    work_id: int
    submitter: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
    content: Opinion


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upheld: bool
    resolution: Opinion


class ObjectionRead(BaseModel):
    id: int
    work_id: int
    submitter: str
    content: str
    outcome: str
    resolution: str


class NoticeRead(BaseModel):
    batch_id: int
    batch_label: str
    starts_at: datetime
    ends_at: datetime
    ends_at_beijing: str
    confirmed_at: datetime | None
    works: list[dict[str, Any]]


class NotificationRead(BaseModel):
    id: int
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None
