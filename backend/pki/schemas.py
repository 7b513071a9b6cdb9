"""Read schemas of the seal API: an organisation's crypto profile, certificates and electronic
seals (电子印章, GB/T 38540 SES_Seal)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.core.schemas import IsoDateTime

ProfileName = Literal["intl", "gm", "dual"]


class ElectronicSealRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    es_id: str = Field(description="印章标识 esID")
    name: str
    picture_type: str
    width_mm: int
    height_mm: int
    sm2_cert_serial: str = Field(description="印章所列的 SM2 签章人证书")
    valid_start: IsoDateTime
    valid_end: IsoDateTime
    seal_sha256: str
    seal_sm3: str
    created_at: IsoDateTime


class OrganisationSeals(BaseModel):
    """An organisation's seals by profile: the ECDSA and SM2 seal certificates, its SES_Seals."""

    organisation_id: int
    organisation: str
    crypto_profile: ProfileName = Field(description="生效的密码算法配置")
    crypto_profile_own: ProfileName | None = Field(description="机构自己的设置；null 随系统设置")
    crypto_profile_label: str
    ecdsa_cert_serial: str | None
    sm2_cert_serial: str | None
    electronic_seals: list[ElectronicSealRead]


class CryptoProfileBody(BaseModel):
    crypto_profile: ProfileName | None = Field(description="intl / gm / dual；null 随系统设置")
