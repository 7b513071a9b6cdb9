"""Shared model plumbing: explicit constraint names, aware UTC timestamps, money in 分."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from backend.core.db import UTCDateTime, utcnow

# Explicit, predictable constraint names so migrations are reviewable and portable.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def timestamp_field(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


def datetime_field(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


def fen_field(*, signed: bool = False, **kw: Any) -> Any:
    """A money column in 分 (integer cents of CNY): 64-bit, never negative unless ``signed``
    (ledger deltas). 32-bit columns would stop at ¥21,474,836.47."""
    if not signed and "gt" not in kw:
        kw.setdefault("ge", 0)
    return Field(sa_type=BigInteger, **kw)


__all__ = ["SQLModel", "Field", "datetime", "timestamp_field", "datetime_field", "fen_field"]
