"""三方协议 (agreements): 甲方 the ministry, 乙方 the producer, 丙方 the recommending unit.

An agreement version is rendered once, prepared with all three signature fields, then signed in
order 乙 → 丙 → 甲, each signature an incremental PDF revision stored content-addressed.
Unique (agreement_id, party) makes a party's signature happen at most once, also under races.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.base import datetime_field, fen_field, timestamp_field


class AgreementStatus(StrEnum):
    draft = "draft"  # 草稿
    open = "open"  # 待签署（尚无签章）
    signing = "signing"  # 签署中（部分签署）
    # With a job queue: the last signature is recorded, the final verification and the archive
    # form (B-LTA) are made by the `sign-finalise` worker (backend.agreements.jobs).
    finalising = "finalising"  # 待归档（正在验证并生成长期保存格式）
    finalise_failed = "finalise_failed"  # 归档前验证未通过（未签署完成）
    fully_signed = "fully_signed"  # 三方签署完成
    declined = "declined"  # 已拒签
    voided = "voided"  # 已作废

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    AgreementStatus.draft: "草稿",
    AgreementStatus.open: "待签署",
    AgreementStatus.signing: "签署中",
    AgreementStatus.finalising: "待归档：正在验证并生成长期保存格式",
    AgreementStatus.finalise_failed: "验证未通过，未完成签署",
    AgreementStatus.fully_signed: "三方签署完成",
    AgreementStatus.declined: "已拒签",
    AgreementStatus.voided: "已作废",
}


class Party(StrEnum):
    yi = "yi"  # 乙方 节目制作机构 (signs first)
    bing = "bing"  # 丙方 推荐单位
    jia = "jia"  # 甲方 总局 (signs last)

    @property
    def label(self) -> str:
        return {"yi": "乙方", "bing": "丙方", "jia": "甲方"}[self.value]

    @property
    def field_name(self) -> str:
        return f"party_{self.value}"

    @property
    def signature_label(self) -> str:
        """The label of the party's row on the agreement's signature page."""
        return f"{self.label}（签章）"


SIGNING_ORDER = (Party.yi, Party.bing, Party.jia)


class Gate(StrEnum):
    agreement_signed = "agreement_signed"
    midterm_check_passed = "midterm_check_passed"
    acceptance_passed = "acceptance_passed"

    @property
    def label(self) -> str:
        return GATE_LABELS[self]


GATE_LABELS = {
    Gate.agreement_signed: "三方签署完成",
    Gate.midterm_check_passed: "中期检查通过",
    Gate.acceptance_passed: "审核验收通过",
}


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Agreement(SQLModel, table=True):
    __tablename__ = "agreements"
    __table_args__ = (
        UniqueConstraint("work_id", "version"),
        UniqueConstraint("number"),
        CheckConstraint(_one_of("status", AgreementStatus), name="status_known"),
        CheckConstraint("grant_fen >= 0", name="grant_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    work_id: int = Field(foreign_key="works.id", index=True)
    version: int = Field(default=1, ge=1)
    number: str = Field(max_length=40)
    status: str = Field(default=AgreementStatus.draft.value, max_length=20, index=True)
    grant_fen: int = fen_field(default=0)
    over_request_reason: str = Field(default="", max_length=500)
    producer_org_id: int = Field(foreign_key="organisations.id", index=True)
    unit_org_id: int = Field(foreign_key="organisations.id", index=True)
    ministry_org_id: int = Field(foreign_key="organisations.id")
    next_party: str | None = Field(default=None, max_length=8)
    current_pdf_sha256: str | None = Field(default=None, max_length=64)
    current_pdf_sm3: str | None = Field(default=None, max_length=64)
    prepared_pdf_sha256: str | None = Field(default=None, max_length=64)
    decline_reason: str = Field(default="", sa_type=Text)
    declined_by: int | None = Field(default=None, foreign_key="users.id")
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
    opened_at: datetime | None = datetime_field(default=None)
    fully_signed_at: datetime | None = datetime_field(default=None)
    voided_at: datetime | None = datetime_field(default=None)


class AgreementMilestone(SQLModel, table=True):
    __tablename__ = "agreement_milestones"
    __table_args__ = (
        UniqueConstraint("agreement_id", "seq"),
        CheckConstraint(_one_of("gate", Gate), name="gate_known"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreements.id", index=True)
    seq: int = Field(ge=1)
    name: str = Field(max_length=100)
    amount_fen: int = fen_field(gt=0)
    gate: str = Field(max_length=30)
    planned_date: date | None = None


class AgreementSignature(SQLModel, table=True):
    __tablename__ = "agreement_signatures"
    __table_args__ = (
        UniqueConstraint("agreement_id", "party"),
        CheckConstraint(_one_of("party", Party), name="party_known"),
        CheckConstraint("crypto_profile in ('intl','gm','dual')", name="crypto_profile_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreements.id", index=True)
    party: str = Field(max_length=8)
    user_id: int = Field(foreign_key="users.id")
    organisation_id: int = Field(foreign_key="organisations.id")
    # The seal certificate of the party's first signature (ECDSA in intl and dual, SM2 in gm)
    # and, in gm and dual, of its SM2 signature; crypto_profile says which signatures it made.
    cert_serial: str = Field(max_length=64)
    sm2_cert_serial: str | None = Field(default=None, max_length=64)
    crypto_profile: str = Field(default="intl", max_length=8)
    # GB/T 38540 SES_Signature of the SM2 signature (in the store), made when the party signed
    # and its organisation had an electronic seal listing the SM2 certificate.
    ses_signature_sha256: str | None = Field(default=None, max_length=64)
    revision_sha256: str = Field(max_length=64)
    revision_sm3: str = Field(max_length=64)
    signed_at: datetime = timestamp_field()
