"""Money (integer 分 → ¥ figures and 大写 capitals) and date helpers (中文日期, 半月 periods)."""

from datetime import UTC, date, datetime

import pytest

from backend.core.dates import date_zh, datetime_zh, half_month, parse_period, to_shanghai
from backend.core.money import capitals, format_fen, format_fen_plain, parse_fen, parse_yuan

MONEY_TABLE = [
    (0, "¥0.00", "零元整"),
    (1, "¥0.01", "壹分"),
    (50, "¥0.50", "伍角"),
    (100, "¥1.00", "壹元整"),
    (1000, "¥10.00", "壹拾元整"),
    (10005, "¥100.05", "壹佰元零伍分"),
    (12345, "¥123.45", "壹佰贰拾叁元肆角伍分"),
    (168032, "¥1,680.32", "壹仟陆佰捌拾元叁角贰分"),
    (10001000, "¥100,010.00", "壹拾万零壹拾元整"),
    (50000000, "¥500,000.00", "伍拾万元整"),
    (123450000, "¥1,234,500.00", "壹佰贰拾叁万肆仟伍佰元整"),
    (100000000000, "¥1,000,000,000.00", "壹拾亿元整"),
]


@pytest.mark.parametrize(("fen", "figures", "caps"), MONEY_TABLE)
def test_fen_formats_as_figures_and_capitals(fen, figures, caps):
    assert format_fen(fen) == figures
    assert format_fen_plain(fen) == figures[1:]
    assert capitals(fen) == caps


@pytest.mark.parametrize("bad", [-1, 1.5, True, "100", None])
def test_formatting_refuses_negative_and_non_integer_amounts(bad):
    with pytest.raises((TypeError, ValueError)):
        format_fen(bad)
    with pytest.raises((TypeError, ValueError)):
        capitals(bad)


@pytest.mark.parametrize(
    ("text", "fen"),
    [("500000", 50000000), ("1,234.5", 123450), ("¥12.30", 1230), (" ￥0.05 ", 5), ("7", 700)],
)
def test_parse_yuan_accepts_plain_amounts(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["-1", "1.234", "abc", "", "1e5", "12.3.4", "¥-5"])
def test_parse_yuan_refuses_negative_fractional_and_garbage(text):
    with pytest.raises(ValueError):
        parse_yuan(text)


def test_parse_fen_accepts_whole_fen_and_refuses_fractions_and_negatives():
    assert parse_fen(12345) == 12345
    assert parse_fen("12345") == 12345
    assert parse_fen(100.0) == 100
    for bad in (-1, 1.5, "1.5", "-3", True, "abc"):
        with pytest.raises(ValueError):
            parse_fen(bad)


def test_date_zh_has_no_leading_zeros():
    assert date_zh(date(2026, 6, 5)) == "2026年6月5日"
    assert date_zh(date(2026, 12, 15)) == "2026年12月15日"


def test_aware_datetimes_display_in_shanghai():
    late_utc = datetime(2026, 6, 14, 17, 30, tzinfo=UTC)  # already 15 June in Beijing
    assert date_zh(late_utc) == "2026年6月15日"
    assert datetime_zh(late_utc) == "2026年6月15日 01:30"
    with pytest.raises(ValueError):
        to_shanghai(datetime(2026, 6, 14, 17, 30))


def test_parse_period_gives_tuple_dates_and_label():
    assert parse_period("2026-06-H1") == (2026, 6, 1)
    first = half_month("2026-06-H1")
    assert (first.start, first.end, first.label) == (
        date(2026, 6, 1),
        date(2026, 6, 15),
        "2026年6月上半月",
    )
    second = half_month("2026-06-H2")
    assert (second.start, second.end, second.label) == (
        date(2026, 6, 16),
        date(2026, 6, 30),
        "2026年6月下半月",
    )
    assert half_month("2028-02-H2").end == date(2028, 2, 29)
    assert half_month("2026-12-H2").next().code == "2027-01-H1"


@pytest.mark.parametrize("code", ["2026-6-H1", "2026-06-H3", "2026-13-H1", "2026-06", "x"])
def test_parse_period_refuses_malformed_codes(code):
    with pytest.raises(ValueError):
        parse_period(code)
