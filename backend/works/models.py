"""Batches (批次) and works (作品) with every field of the application form (附件1)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.base import datetime_field, fen_field, timestamp_field


class Direction(StrEnum):
    """“五个一批”创作方向 (section 四 of the notice)."""

    mainstream_values = "mainstream_values"
    new_era = "new_era"
    regional_culture = "regional_culture"
    everyday_life = "everyday_life"
    china_stories = "china_stories"

    @property
    def label(self) -> str:
        return DIRECTION_LABELS[self]


DIRECTION_LABELS = {
    Direction.mainstream_values: "培根铸魂、弘扬主流价值的精品",
    Direction.new_era: "反映时代新气象、讴歌人民新创造的精品",
    Direction.regional_culture: "具有鲜明地域特色、突出文化标识的精品",
    Direction.everyday_life: "聚焦人间烟火、反映美好新生活的精品",
    Direction.china_stories: "面向世界、讲好中国故事的精品",
}


class WorkStatus(StrEnum):
    draft = "draft"  # 草稿
    submitted = "submitted"  # 已提交推荐单位
    returned = "returned"  # 退回修改
    rejected = "rejected"  # 初评未通过
    recommended = "recommended"  # 已推荐至总局
    second_review = "second_review"  # 复评中
    final_review = "final_review"  # 终评中
    selected = "selected"  # 拟入选
    not_selected = "not_selected"  # 未入选
    in_notice = "in_notice"  # 公示中
    confirmed = "confirmed"  # 确认入选

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    WorkStatus.draft: "草稿",
    WorkStatus.submitted: "已提交",
    WorkStatus.returned: "退回修改",
    WorkStatus.rejected: "初评未通过",
    WorkStatus.recommended: "已推荐",
    WorkStatus.second_review: "复评中",
    WorkStatus.final_review: "终评中",
    WorkStatus.selected: "拟入选",
    WorkStatus.not_selected: "未入选",
    WorkStatus.in_notice: "公示中",
    WorkStatus.confirmed: "确认入选",
}


class Batch(SQLModel, table=True):
    """评审批次. Deadlines are data (aware UTC), compared in Asia/Shanghai."""

    __tablename__ = "batches"
    __table_args__ = (
        UniqueConstraint("year", "number", name="uq_batches_year_number"),
        CheckConstraint("quota >= 0", name="quota_not_negative"),
    )
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(ge=2020, le=2100)
    number: int = Field(ge=1, le=12)
    registration_deadline: datetime = datetime_field()  # 参评机构注册提交截止
    submission_deadline: datetime = datetime_field()  # 推荐单位报送总局截止
    quota: int = Field(default=5, ge=0, le=100)  # 每个推荐单位推荐上限（原则上）
    notice_days: int = Field(default=7, ge=1, le=60)  # 公示天数

    @property
    def label(self) -> str:
        return f"{self.year}年第{self.number}批"


class Work(SQLModel, table=True):
    """作品: a micro-drama in its creation stage, as declared in the application form."""

    __tablename__ = "works"
    __table_args__ = (
        CheckConstraint("budget_fen >= 0", name="budget_not_negative"),
        CheckConstraint("requested_fen >= 0", name="requested_not_negative"),
        CheckConstraint("episodes > 0", name="episodes_positive"),
    )
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    unit_id: int = Field(foreign_key="recommending_units.id", index=True)
    batch_id: int | None = Field(default=None, foreign_key="batches.id", index=True)
    status: WorkStatus = Field(default=WorkStatus.draft, max_length=20, index=True)
    version: int = Field(default=1)

    title: str = Field(max_length=100)
    direction: Direction = Field(max_length=30)
    genre: str = Field(max_length=50)  # 题材类型
    episodes: int = Field(gt=0, le=1000)
    minutes_per_episode: float = Field(gt=0, le=120)
    synopsis: str = Field(sa_type=Text, max_length=5000)
    filing_number: str = Field(default="", max_length=60)  # 规划立项备案号
    is_original: bool = True
    is_online: bool = False
    budget_fen: int = fen_field(default=0)
    requested_fen: int = fen_field(default=0)
    central_support_received: bool = False
    central_support_details: str = Field(default="", max_length=500)
    director: str = Field(max_length=50)
    screenwriter: str = Field(max_length=50)
    producer_name: str = Field(max_length=50)  # 制片人
    schedule: str = Field(default="", max_length=1000)  # 制作计划
    planned_start: date | None = None
    planned_completion: date | None = None
    partner_platform: str = Field(default="", max_length=100)

    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
    submitted_at: datetime | None = datetime_field(default=None)
