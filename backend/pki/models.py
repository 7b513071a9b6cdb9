"""电子印章 (GB/T 38540-2020 SES_Seal) of an organisation: made by the SM2 CA's seal maker
(制章者) from the organisation's seal picture, listing its SM2 seal certificate."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from backend.core.base import datetime_field, timestamp_field


class ElectronicSeal(SQLModel, table=True):
    """One SES_Seal; the newest of an organisation is the one its SM2 signatures use."""

    __tablename__ = "electronic_seals"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    es_id: str = Field(max_length=40, unique=True)  # 印章标识 esID (IA5String)
    name: str = Field(max_length=100)  # 印章名称
    picture_type: str = Field(max_length=8)
    width_mm: int
    height_mm: int
    sm2_cert_serial: str = Field(max_length=64)  # the certificate the seal lists
    valid_start: datetime = datetime_field()
    valid_end: datetime = datetime_field()
    # The SES_Seal DER in the content-addressed store (documents.store), by sha256 / SM3.
    seal_sha256: str = Field(max_length=64)
    seal_sm3: str = Field(max_length=64)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = timestamp_field()
