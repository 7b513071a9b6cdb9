"""Dates for people: Chinese date labels, Asia/Shanghai display, half-month periods (半月).

Storage is aware UTC (see backend.core.db); these helpers are for documents and deadlines only.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from signing.timefmt import SHANGHAI, beijing, beijing_iso

__all__ = ["SHANGHAI", "beijing", "beijing_iso"]  # and the helpers below
_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})-H([12])$")


def date_zh(d: date | datetime) -> str:
    """``2026年6月15日`` (an aware datetime is first converted to Asia/Shanghai)."""
    if isinstance(d, datetime):
        d = to_shanghai(d).date()
    return f"{d.year}年{d.month}月{d.day}日"


def to_shanghai(dt: datetime) -> datetime:
    """An aware datetime in Asia/Shanghai; naive values are refused (storage is aware UTC)."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime refused: pass an aware datetime")
    return dt.astimezone(SHANGHAI)


def datetime_zh(dt: datetime) -> str:
    """``2026年6月15日 14:05`` in Asia/Shanghai."""
    return beijing(dt, "{date_zh} %H:%M", label=False)


def deadline_zh(dt: datetime) -> str:
    """``2026年6月5日 23:59:59（北京时间）``: deadlines and notice periods, to the second."""
    return beijing(dt, "{date_zh} %H:%M:%S")


def today_shanghai() -> date:
    return datetime.now(SHANGHAI).date()


def end_of_day(d: date) -> datetime:
    """The last second of a Beijing calendar day (a deadline ``d`` means 23:59:59 of ``d``)."""
    return datetime.combine(d, time(23, 59, 59), tzinfo=SHANGHAI)


def before(now: datetime, deadline: datetime) -> bool:
    """True while the deadline's last second has not passed (23:59:59 still counts)."""
    return now.replace(microsecond=0) <= deadline


def now_or_clock(now: datetime | None) -> datetime:
    """``now`` for code that takes an injectable clock (tests); the current UTC time otherwise."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("naive datetime refused: pass an aware `now`")
    return now


def to_local_input(dt: datetime) -> str:
    """For <input type="datetime-local">: Beijing wall time, seconds included."""
    return beijing(dt, "%Y-%m-%dT%H:%M:%S", label=False)


@dataclass(frozen=True)
class HalfMonth:
    """A reporting period of the 推进表: first half (1–15) or second half (16–end) of a month."""

    year: int
    month: int
    half: int  # 1 = 上半月, 2 = 下半月

    def __post_init__(self) -> None:
        if self.half not in (1, 2) or not 1 <= self.month <= 12 or not 2000 <= self.year <= 2100:
            raise ValueError(f"invalid half-month period {self.year}-{self.month}-H{self.half}")

    @property
    def code(self) -> str:
        return f"{self.year:04d}-{self.month:02d}-H{self.half}"

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1 if self.half == 1 else 16)

    @property
    def end(self) -> date:
        last = calendar.monthrange(self.year, self.month)[1]
        return date(self.year, self.month, 15 if self.half == 1 else last)

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月{'上' if self.half == 1 else '下'}半月"

    def next(self) -> HalfMonth:
        if self.half == 1:
            return HalfMonth(self.year, self.month, 2)
        d = self.end + timedelta(days=1)
        return HalfMonth(d.year, d.month, 1)


def parse_period(code: str) -> tuple[int, int, int]:
    """``"2026-06-H1"`` → ``(2026, 6, 1)``; raises ValueError for anything else."""
    return astuple(half_month(code))


def half_month(code: str) -> HalfMonth:
    """``"2026-06-H2"`` → HalfMonth with start/end dates and label ``2026年6月下半月``."""
    m = _PERIOD_RE.match(code.strip())
    if not m:
        raise ValueError(f"期间格式应为 YYYY-MM-H1 或 YYYY-MM-H2：{code!r}")
    return HalfMonth(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def astuple(p: HalfMonth) -> tuple[int, int, int]:
    return (p.year, p.month, p.half)


def period_label(year: int, month: int, half: int) -> str:
    return HalfMonth(year, month, half).label
