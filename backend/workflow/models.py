"""The application workflow's records: what each role did to a work on its way from a draft to a
confirmed selection. Work.status is the state; these rows are the evidence behind each step.

- WorkVersion 申报版本快照: the frozen content of each submitted version (JSON).
- ApplicationDocument 申报材料: 申请书 / 承诺书 of one version, signed online or a sealed scan.
- UnitReview 初评: a recommending unit's decision (pass / reject / return) with its opinion.
- UnitQuota 推荐名额: one row per unit and batch, locked while recommending (the quota guard).
- QuotaException 名额例外: an admin's recorded +1 for one unit and batch, with its reason.
- Recommendation 推荐: the unit forwarding a work to the ministry.
- ExpertAssignment / ExpertScore 复评·终评: experts assigned per round and their scores.
- SelectionDecision 入选决定: selected / not selected, with the reason and the funding rule.
- PublicNotice 公示 and Objection 异议: the public notice of a batch and what it brought.
- Notification 站内通知 and OutboxMessage 待发邮件: telling the next actor.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, String, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from backend.core.base import datetime_field, timestamp_field


class EnumText(TypeDecorator[Any]):
    """A StrEnum stored as plain VARCHAR (no native enum type), read back as the enum."""

    impl = String
    cache_ok = True

    def __init__(self, enum_cls: type[StrEnum], length: int) -> None:
        super().__init__(length)
        self.enum_cls = enum_cls

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else self.enum_cls(value).value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else self.enum_cls(value)


class DocumentSlot(StrEnum):
    """The two documents every application carries."""

    application = "application"  # 扶持项目申请书（附件1）
    copyright_pledge = "copyright_pledge"  # 版权承诺书（附件2）

    @property
    def label(self) -> str:
        return {"application": "扶持项目申请书", "copyright_pledge": "版权承诺书"}[self.value]

    @property
    def url_name(self) -> str:
        return self.value.replace("_", "-")


class ProvidedBy(StrEnum):
    signed_online = "signed_online"  # 在线电子签章
    sealed_scan = "sealed_scan"  # 上传签字盖章扫描件

    @property
    def label(self) -> str:
        return {"signed_online": "在线签章", "sealed_scan": "签字盖章扫描件"}[self.value]


class UnitDecision(StrEnum):
    passed = "pass"  # 初评通过
    reject = "reject"  # 初评不通过
    return_ = "return"  # 退回修改

    @property
    def label(self) -> str:
        return {"pass": "初评通过", "reject": "初评不通过", "return": "退回修改"}[self.value]


class ReviewRound(StrEnum):
    second = "second"  # 复评
    final = "final"  # 终评

    @property
    def label(self) -> str:
        return {"second": "复评", "final": "终评"}[self.value]


class ObjectionOutcome(StrEnum):
    open = "open"  # 待处理
    dismissed = "dismissed"  # 异议不成立，维持入选
    upheld = "upheld"  # 异议成立，取消入选

    @property
    def label(self) -> str:
        return {
            "open": "待处理",
            "dismissed": "异议不成立，维持入选",
            "upheld": "异议成立，取消入选",
        }[self.value]


class WorkVersion(SQLModel, table=True):
    __tablename__ = "work_versions"
    __table_args__ = (UniqueConstraint("work_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    work_id: int = Field(foreign_key="works.id", index=True)
    version: int
    snapshot: str = Field(sa_type=Text)  # canonical JSON of the work and its documents
    submitted_by: int | None = Field(default=None, foreign_key="users.id")
    submitted_at: datetime = timestamp_field()


class ApplicationDocument(SQLModel, table=True):
    __tablename__ = "application_documents"
    __table_args__ = (UniqueConstraint("work_id", "version", "slot"),)
    id: int | None = Field(default=None, primary_key=True)
    work_id: int = Field(foreign_key="works.id", index=True)
    version: int
    slot: DocumentSlot = Field(sa_type=EnumText(DocumentSlot, 20))
    provided_by: ProvidedBy = Field(sa_type=EnumText(ProvidedBy, 20))
    sha256: str = Field(max_length=64, index=True)
    size: int = Field(ge=0)
    pages: int = Field(default=0, ge=0)
    filename: str = Field(default="", max_length=200)
    # For signed_online: the issued document row (backend.documents) the signature lives in.
    document_id: int | None = Field(default=None)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = timestamp_field()


class UnitReview(SQLModel, table=True):
    __tablename__ = "unit_reviews"
    id: int | None = Field(default=None, primary_key=True)
    work_id: int = Field(foreign_key="works.id", index=True)
    version: int
    unit_id: int = Field(foreign_key="recommending_units.id", index=True)
    decision: UnitDecision = Field(sa_type=EnumText(UnitDecision, 10))
    opinion: str = Field(sa_type=Text)
    reviewer_id: int = Field(foreign_key="users.id")
    created_at: datetime = timestamp_field()


class UnitQuota(SQLModel, table=True):
    """The row recommendations lock (SELECT … FOR UPDATE): used never exceeds quota + extra."""

    __tablename__ = "unit_quotas"
    __table_args__ = (
        UniqueConstraint("unit_id", "batch_id"),
        CheckConstraint("used >= 0 AND extra >= 0", name="counts_not_negative"),
    )
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="recommending_units.id", index=True)
    batch_id: int = Field(foreign_key="batches.id", index=True)
    used: int = 0
    extra: int = 0


class QuotaException(SQLModel, table=True):
    __tablename__ = "quota_exceptions"
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="recommending_units.id", index=True)
    batch_id: int = Field(foreign_key="batches.id", index=True)
    amount: int = Field(default=1, ge=1, le=1)
    reason: str = Field(max_length=500)
    granted_by: int = Field(foreign_key="users.id")
    created_at: datetime = timestamp_field()


class Recommendation(SQLModel, table=True):
    __tablename__ = "recommendations"
    __table_args__ = (UniqueConstraint("work_id"),)
    id: int | None = Field(default=None, primary_key=True)
    work_id: int = Field(foreign_key="works.id")
    unit_id: int = Field(foreign_key="recommending_units.id", index=True)
    batch_id: int = Field(foreign_key="batches.id", index=True)
    opinion: str = Field(default="", sa_type=Text)
    recommended_by: int = Field(foreign_key="users.id")
    beyond_quota: bool = False  # used one of the admin's recorded exceptions
    created_at: datetime = timestamp_field()


class ExpertAssignment(SQLModel, table=True):
    __tablename__ = "expert_assignments"
    __table_args__ = (UniqueConstraint("work_id", "round", "expert_id"),)
    id: int | None = Field(default=None, primary_key=True)
    work_id: int = Field(foreign_key="works.id", index=True)
    round: ReviewRound = Field(sa_type=EnumText(ReviewRound, 10))
    expert_id: int = Field(foreign_key="users.id", index=True)
    assigned_by: int = Field(foreign_key="users.id")
    created_at: datetime = timestamp_field()


class ExpertScore(SQLModel, table=True):
    __tablename__ = "expert_scores"
    __table_args__ = (UniqueConstraint("work_id", "round", "expert_id"),)
    id: int | None = Field(default=None, primary_key=True)
    work_id: int = Field(foreign_key="works.id", index=True)
    round: ReviewRound = Field(sa_type=EnumText(ReviewRound, 10))
    expert_id: int = Field(foreign_key="users.id", index=True)
    scores: str = Field(sa_type=Text)  # canonical JSON {criterion key: points}
    total: int = Field(ge=0, le=100)
    opinion: str = Field(sa_type=Text)
    created_at: datetime = timestamp_field()


class SelectionDecision(SQLModel, table=True):
    __tablename__ = "selection_decisions"
    id: int | None = Field(default=None, primary_key=True)
    work_id: int = Field(foreign_key="works.id", index=True)
    round: ReviewRound = Field(sa_type=EnumText(ReviewRound, 10))
    selected: bool  # for the second round: advanced to the final round
    reason: str = Field(sa_type=Text)
    # Funding rule: selected works that already had central-finance support get no grant.
    grant_eligible: bool = True
    funding_note: str = Field(default="", max_length=300)
    decided_by: int = Field(foreign_key="users.id")
    created_at: datetime = timestamp_field()


class PublicNotice(SQLModel, table=True):
    __tablename__ = "public_notices"
    __table_args__ = (UniqueConstraint("batch_id"),)
    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batches.id")
    starts_at: datetime = datetime_field()
    ends_at: datetime = datetime_field()
    published_by: int = Field(foreign_key="users.id")
    confirmed_at: datetime | None = datetime_field(default=None)
    confirmed_by: int | None = Field(default=None, foreign_key="users.id")


class Objection(SQLModel, table=True):
    __tablename__ = "objections"
    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="public_notices.id", index=True)
    work_id: int = Field(foreign_key="works.id", index=True)
    submitter: str = Field(max_length=100)
    content: str = Field(sa_type=Text)
    outcome: ObjectionOutcome = Field(
        default=ObjectionOutcome.open, sa_type=EnumText(ObjectionOutcome, 10)
    )
    resolution: str = Field(default="", sa_type=Text)
    recorded_by: int = Field(foreign_key="users.id")
    created_at: datetime = timestamp_field()
    resolved_by: int | None = Field(default=None, foreign_key="users.id")
    resolved_at: datetime | None = datetime_field(default=None)


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    title: str = Field(max_length=200)
    body: str = Field(default="", sa_type=Text)
    link: str = Field(default="", max_length=300)
    created_at: datetime = timestamp_field(index=True)
    read_at: datetime | None = datetime_field(default=None)


class OutboxMessage(SQLModel, table=True):
    """Mail waiting to be sent; a sender drains rows with sent_at NULL after the commit."""

    __tablename__ = "outbox_messages"
    id: int | None = Field(default=None, primary_key=True)
    notification_id: int | None = Field(default=None, foreign_key="notifications.id")
    to_user_id: int = Field(foreign_key="users.id")
    to_address: str = Field(default="", max_length=100)
    subject: str = Field(max_length=200)
    body: str = Field(sa_type=Text)
    created_at: datetime = timestamp_field()
    attempts: int = 0
    sent_at: datetime | None = datetime_field(default=None, index=True)
    last_error: str = Field(default="", max_length=500)
