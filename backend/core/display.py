"""Web-page edges over backend.core.money/dates: filters and parsing of what people type."""

from __future__ import annotations

from datetime import datetime

from backend.core.dates import beijing, beijing_iso
from backend.core.errors import ValidationFailed
from backend.core.money import format_fen, format_fen_plain
from backend.core.money import parse_yuan as _parse_yuan


def local_time(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Aware UTC (or its ISO 8601 text, as in API shapes) → Beijing time for display (pages
    label the column 北京时间 once, so no label per value)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return beijing_iso(value, fmt, label=False)
    return beijing(value, fmt, label=False)


def yuan(fen: int | None) -> str:
    return "" if fen is None else format_fen(fen)


def plain_yuan(fen: int) -> str:
    return format_fen_plain(fen)


def parse_yuan(text: str, *, field: str) -> int:
    """A yuan amount typed into a form → 分, or a field error in Chinese."""
    if text == "":
        return 0
    try:
        return _parse_yuan(text)
    except ValueError as exc:
        raise ValidationFailed(fields={field: str(exc)}) from exc
