"""Beijing time for people: the one place that turns an aware moment into the text shown on
signatures, reports, pages and documents (storage and protocols stay UTC).

It lives in the signing library, the lowest layer, so that the library's own appearance and
summaries and the backend (backend.core.dates re-exports it) share one definition."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

__all__ = ["SHANGHAI", "beijing", "beijing_iso"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
LABEL = "（北京时间）"


def beijing(moment: dt.datetime, fmt: str = "%Y-%m-%d %H:%M:%S", *, label: bool = True) -> str:
    """``2026-06-15 14:05:09（北京时间）``; naive values are refused (storage is aware UTC).

    ``fmt`` may contain ``{date_zh}`` for ``2026年6月15日``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime refused: pass an aware datetime")
    local = moment.astimezone(SHANGHAI)
    text = local.strftime(fmt.replace("{date_zh}", f"{local.year}年{local.month}月{local.day}日"))
    return text + LABEL if label else text


def beijing_iso(iso: str | None, fmt: str = "%Y-%m-%d %H:%M:%S", *, label: bool = True) -> str:
    """The same for ISO 8601 text (API and report shapes); text that is not a moment is kept."""
    if not iso:
        return ""
    try:
        moment = dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    return beijing(moment, fmt, label=label) if moment.tzinfo else iso
