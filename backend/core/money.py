"""Money at the edges: amounts are integer 分 (fen, 1/100 CNY) everywhere else.

``format_fen(50000000) == "¥500,000.00"``; ``capitals(50000000) == "伍拾万元整"`` (大写金额).
"""

from __future__ import annotations

import re

import cn2an

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_YUAN_RE = re.compile(r"^(\d{1,13})(?:\.(\d{1,2}))?$")


def _check_fen(fen: int) -> int:
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"amount must be integer 分, got {type(fen).__name__}")
    if fen < 0:
        raise ValueError("amount must not be negative")
    return fen


def format_fen(fen: int) -> str:
    """Figures with the yuan sign and thousands separators: 12345 → ``¥123.45``."""
    yuan, cents = divmod(_check_fen(fen), 100)
    return f"¥{yuan:,}.{cents:02d}"


def format_fen_plain(fen: int) -> str:
    """Figures without the sign (for table cells headed “（元）”): 12345 → ``123.45``."""
    return format_fen(fen)[1:]


def capitals(fen: int) -> str:
    """Chinese capital amount (人民币大写): 12345 → 壹佰贰拾叁元肆角伍分, 0 → 零元整."""
    yuan, cents = divmod(_check_fen(fen), 100)
    jiao, fen_digit = divmod(cents, 10)
    out = ""
    if yuan or not cents:
        out = cn2an.an2cn(yuan, "up") + "元"
    if not cents:
        return out + "整"
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif yuan:
        out += "零"
    if fen_digit:
        out += _DIGITS[fen_digit] + "分"
    return out


def parse_yuan(text: str) -> int:
    """Parse a yuan amount typed by a person ("500000", "1,234.5", "¥12.30") into 分.

    Refuses negative numbers, more than two decimals and anything that is not a plain number.
    """
    cleaned = str(text).strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
    if cleaned.startswith("-"):
        raise ValueError("金额不能为负数")
    m = _YUAN_RE.match(cleaned)
    if not m:
        # Say which rule broke: a 16-digit amount is too large, not "too many decimals".
        whole, _, frac = cleaned.partition(".")
        if whole.isdigit() and (not frac or frac.isdigit()):
            if len(whole) > 13:
                raise ValueError("金额过大：整数部分最多 13 位（单位：元）")
            raise ValueError("金额最多两位小数（单位：元）")
        raise ValueError(f"金额格式不正确：{text!r}（请填写数字，单位：元）")
    cents = (m.group(2) or "").ljust(2, "0")
    return int(m.group(1)) * 100 + int(cents)


def parse_fen(value: object) -> int:
    """Accept an integer count of 分 (int, or a string of digits); refuse fractions and negatives."""
    if isinstance(value, bool):
        raise ValueError("金额必须是整数分")
    if isinstance(value, int):
        return _check_fen_value(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("金额必须是整数分，不能有小数")
        return _check_fen_value(int(value))
    text = str(value).strip()
    if not re.fullmatch(r"\d{1,15}", text):
        raise ValueError(f"金额必须是非负整数分：{value!r}")
    return int(text)


def _check_fen_value(fen: int) -> int:
    if fen < 0:
        raise ValueError("金额不能为负数")
    return fen
