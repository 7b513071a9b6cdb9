"""Recommending units (推荐单位) and organisations (机构)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.base import timestamp_field


class UnitKind(StrEnum):
    """省级广电局 / 新疆生产建设兵团 / 中央直属单位."""

    provincial = "provincial"
    corps = "corps"
    central = "central"

    @property
    def label(self) -> str:
        return {
            "provincial": "省级广电主管部门",
            "corps": "新疆生产建设兵团",
            "central": "中央直属单位",
        }[self.value]


class RecommendingUnit(SQLModel, table=True):
    """推荐单位: a provincial bureau, the XPCC bureau, or a central unit that forwards works."""

    __tablename__ = "recommending_units"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=100)
    short_name: str = Field(max_length=20)
    kind: UnitKind = Field(max_length=16)


class OrgKind(StrEnum):
    producer = "producer"
    unit = "unit"
    ministry = "ministry"

    @property
    def label(self) -> str:
        return {"producer": "节目制作机构", "unit": "推荐单位", "ministry": "国家广播电视总局"}[
            self.value
        ]


class Organisation(SQLModel, table=True):
    """机构: a producer company, a recommending unit's own organisation, or the ministry."""

    __tablename__ = "organisations"
    __table_args__ = (
        UniqueConstraint("uscc", name="uq_organisations_uscc"),
        CheckConstraint("kind in ('producer','unit','ministry')", name="kind_known"),
        CheckConstraint(
            "crypto_profile is null or crypto_profile in ('intl','gm','dual')",
            name="crypto_profile_known",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: OrgKind = Field(max_length=16)
    name: str = Field(max_length=100)
    uscc: str | None = Field(default=None, max_length=18)  # 统一社会信用代码
    address: str = Field(default="", max_length=200)
    legal_representative: str = Field(default="", max_length=50)
    contact_name: str = Field(default="", max_length=50)
    contact_phone: str = Field(default="", max_length=30)
    contact_email: str = Field(default="", max_length=100)
    bank_name: str = Field(default="", max_length=100)
    bank_account: str = Field(default="", max_length=40)
    # For kind=unit: the unit it is; for producers: the unit they normally apply through.
    unit_id: int | None = Field(default=None, foreign_key="recommending_units.id", index=True)
    # Serial of the organisation seal certificate issued by the in-house CA (signing/).
    seal_cert_serial: str | None = Field(default=None, max_length=64)
    # Serial of its SM2 seal certificate (国密 profile: signing/gm), when it signs with SM2.
    sm2_seal_cert_serial: str | None = Field(default=None, max_length=64)
    # intl / gm / dual for this organisation's signatures; None = the deployment's setting.
    crypto_profile: str | None = Field(default=None, max_length=8)
    # sha256 (documents.store) of the seal picture the admin uploaded (normalised to PNG); the
    # visible signature uses it instead of the generated round seal. None = generated.
    seal_picture_sha256: str | None = Field(default=None, max_length=64)
    created_at: datetime = timestamp_field()
