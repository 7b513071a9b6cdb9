"""Request bodies and read schemas of the agreements API (money in 分, times ISO 8601)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from backend.agreements.models import AgreementStatus, Gate, Party
from backend.core.schemas import IsoDateTime


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
    totp_code: str = Field(
        default="", max_length=20, description="动态口令（已绑定时必填；也可填一个恢复码）"
    )


class DeclineBody(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)
    password: str = Field(min_length=1, max_length=200, description="再次输入登录密码以确认")


class VoidBody(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, description="作废理由（记入审计日志）")


# --------------------------------------------------------------------------- read schemas
class SignatureRead(BaseModel):
    """One party's signature: who signed, with which certificate, and the PDF revision it made."""

    user_id: int
    signer: str | None = Field(description="签署人姓名")
    username: str | None
    cert_serial: str = Field(description="该方第一个签名的印章证书序列号")
    sm2_cert_serial: str | None = Field(description="国密 SM2 签名的印章证书序列号（如有）")
    crypto_profile: Literal["intl", "gm", "dual"] = Field(
        description="intl 国际算法、gm 国密算法、dual 双算法（SM2 与 ECDSA 各签一次）"
    )
    algorithms: list[str] = Field(description="签名算法，按签署顺序：国际 ECDSA / 国密 SM2")
    ses_signature: bool = Field(
        description="有 GB/T 38540 电子签章数据（SES_Signature，见 …/ses-signature.der）"
    )
    revision_sha256: str
    revision_sm3: str
    signed_at: IsoDateTime


class PartySignatureRead(SignatureRead):
    party: Party


class PartyRead(BaseModel):
    party: Party = Field(
        description="yi 乙方（节目制作机构）、bing 丙方（推荐单位）、jia 甲方（总局）"
    )
    label: str
    organisation_id: int
    organisation: str | None
    signed: bool
    signature: SignatureRead | None


class MilestoneTermRead(BaseModel):
    """A payment milestone as the agreement states it (its funding state: the funding API)."""

    seq: int
    name: str
    amount_fen: int = Field(description="金额（分）")
    gate: Gate
    gate_label: str
    planned_date: date | None


class AgreementRead(BaseModel):
    id: int
    number: str
    version: int
    work_id: int
    work_title: str | None
    status: AgreementStatus
    status_label: str
    next_party: Party | None = Field(description="下一个签署方；签署完成或作废后为 null")
    grant_fen: int = Field(description="扶持资金（分）")
    over_request_reason: str
    current_pdf_sha256: str | None
    current_pdf_sm3: str | None
    decline_reason: str | None
    created_at: IsoDateTime
    updated_at: IsoDateTime
    fully_signed_at: IsoDateTime | None
    parties: list[PartyRead] = Field(description="签署顺序：乙方 → 丙方 → 甲方")
    signatures: list[PartySignatureRead]
    milestones: list[MilestoneTermRead]
    my_party: Party | None = Field(description="当前用户在协议中的身份（不是签署方为 null）")


class HistoryEntry(BaseModel):
    seq: int
    at: IsoDateTime
    actor: str
    action: str


class AgreementDetail(AgreementRead):
    history: list[HistoryEntry] = Field(description="协议的审计轨迹（最早的在前）")
