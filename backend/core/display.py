"""Formatting at the edges of the app: Beijing time and yuan typed by people."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from backend.errors import ValidationFailed

BEIJING = ZoneInfo("Asia/Shanghai")


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Aware UTC → Beijing time for display."""
    if value is None:
        return ""
    return value.astimezone(BEIJING).strftime(fmt)


def yuan(fen: int | None) -> str:
    """12345600 → ¥123,456.00 (money is stored in 分)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def plain_yuan(fen: int) -> str:
    whole, cents = divmod(fen, 100)
    return f"{whole}.{cents:02d}"


def parse_yuan(text: str, *, field: str) -> int:
    """A yuan amount typed by a person (at most 2 decimals, not negative) → 分."""
    if text == "":
        return 0
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationFailed(fields={field: "金额须为数字，单位：元"}) from exc
    if not value.is_finite() or value < 0:
        raise ValidationFailed(fields={field: "金额不能为负数"})
    fen = value * 100
    if fen != fen.to_integral_value():
        raise ValidationFailed(fields={field: "金额最多保留两位小数（到分）"})
    if fen > 10_000_000_000:
        raise ValidationFailed(fields={field: "金额超出允许范围"})
    return int(fen)
