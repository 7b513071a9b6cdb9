"""Server-side SVG charts (图表) drawn by the project itself: no CDN, no JavaScript library.

Each chart is a standalone, well-formed SVG document with ``role="img"``, a ``<title>`` and a
``<desc>`` in Chinese; the pages put a data table next to it as the accessible fallback.
Amounts arrive in 分 and are shown in 万元 on the axis, in ¥ with two decimals in the tooltips.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from backend.core.money import format_fen

WIDTH, HEIGHT = 760, 360
LEFT, RIGHT, TOP, BOTTOM = 80, 20, 40, 90
GRANTED_COLOUR, PAID_COLOUR = "#8c959f", "#a4161a"
FONT = "Noto Sans CJK SC, Noto Sans SC, sans-serif"


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def _wan(fen: int) -> str:
    """分 → 万元 with up to two decimals for the axis (1 万元 = 1,000,000 分)."""
    value = fen / 1_000_000
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value else "0"


def _nice_max(value: int) -> int:
    """A round axis maximum ≥ value (1, 2, 5 × 10^n 分), never zero."""
    if value <= 0:
        return 1_000_000
    step = 1
    while step * 10 <= value:
        step *= 10
    for m in (1, 2, 5, 10):
        if m * step >= value:
            return m * step
    return 10 * step


def _open(title: str, desc: str, chart_id: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{chart_id}-title '
        f'{chart_id}-desc" font-family="{_attr(FONT)}" font-size="12">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{WIDTH / 2:.0f}" y="22" text-anchor="middle" font-size="15" '
        f'font-weight="bold">{escape(title)}</text>',
    ]


def _y_axis(top_value: int) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    out = [f'<text x="12" y="{TOP - 8}" font-size="11">（万元）</text>']
    for i in range(5):
        value = top_value * i // 4
        y = HEIGHT - BOTTOM - plot_h * i / 4
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="#d0d7de" stroke-width="1"/>'
        )
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_wan(value)}</text>')
    return out


def bar_chart_granted_paid(rows: Sequence[tuple[str, int, int]]) -> str:
    """Grouped bars per unit: (unit name, granted 分, paid 分) → SVG text."""
    title = "各推荐单位扶持资金与已拨付金额"
    if rows:
        desc = "；".join(
            f"{name}：扶持资金{format_fen(g)}，已拨付{format_fen(max(p, 0))}" for name, g, p in rows
        )
    else:
        desc = "暂无已签署协议的扶持资金数据"
    out = _open(title, desc, "granted-paid")
    top_value = _nice_max(max([max(g, p) for _n, g, p in rows] or [0]))
    out += _y_axis(top_value)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(rows), 1)
    bar = min(28.0, slot / 3)
    base = HEIGHT - BOTTOM
    for i, (name, granted, paid) in enumerate(rows):
        x0 = LEFT + slot * i + slot / 2 - bar
        for j, (value, colour, what) in enumerate(
            ((granted, GRANTED_COLOUR, "扶持资金"), (max(paid, 0), PAID_COLOUR, "已拨付"))
        ):
            h = plot_h * value / top_value
            out.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{base - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(name)} {what} '
                f"{format_fen(value)}</title></rect>"
            )
        cx = LEFT + slot * i + slot / 2
        out.append(
            f'<text x="{cx:.1f}" y="{base + 16}" text-anchor="end" '
            f'transform="rotate(-30 {cx:.1f} {base + 16})">{escape(name)}</text>'
        )
    out += _legend([("扶持资金", GRANTED_COLOUR), ("已拨付", PAID_COLOUR)])
    out.append("</svg>")
    return "\n".join(out)


def _legend(items: list[tuple[str, str]]) -> list[str]:
    out = []
    x = WIDTH - RIGHT - 110 * len(items)
    for label, colour in items:
        out.append(f'<rect x="{x}" y="{TOP - 14}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="{TOP - 4}">{escape(label)}</text>')
        x += 110
    return out


def line_chart_monthly(months: Sequence[tuple[str, int]]) -> str:
    """Month-by-month disbursement curve: (YYYY-MM Beijing month, paid that month 分) → SVG of the
    cumulative paid amount, one point per month."""
    title = "按月拨付金额（累计，北京时间）"
    cumulative: list[tuple[str, int, int]] = []
    running = 0
    for month, paid in months:
        running += paid
        cumulative.append((month, paid, running))
    if cumulative:
        desc = "；".join(
            f"{_month_zh(m)}拨付{_signed(p)}，累计{format_fen(max(c, 0))}" for m, p, c in cumulative
        )
    else:
        desc = "暂无拨付记录"
    out = _open(title, desc, "monthly")
    top_value = _nice_max(max([c for _m, _p, c in cumulative] or [0]))
    out += _y_axis(top_value)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = HEIGHT - BOTTOM
    n = len(cumulative)
    points = []
    for i, (month, paid, cum) in enumerate(cumulative):
        x = LEFT + (plot_w * (i + 0.5) / n)
        y = base - plot_h * max(cum, 0) / top_value
        points.append((x, y, month, paid, cum))
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, *_ in points)
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{PAID_COLOUR}" stroke-width="2"/>'
        )
    for x, y, month, paid, cum in points:
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{PAID_COLOUR}"><title>'
            f"{_month_zh(month)}：本月{_signed(paid)}，累计{format_fen(max(cum, 0))}"
            "</title></circle>"
        )
        out.append(
            f'<text x="{x:.1f}" y="{base + 18}" text-anchor="middle">{_month_zh(month)}</text>'
        )
    out += _legend([("累计已拨付", PAID_COLOUR)])
    out.append("</svg>")
    return "\n".join(out)


def _signed(fen: int) -> str:
    return format_fen(fen) if fen >= 0 else "−" + format_fen(-fen)


def _month_zh(month: str) -> str:
    """``2026-09`` → ``2026年9月``."""
    year, _, mm = month.partition("-")
    return f"{year}年{int(mm)}月" if mm.isdigit() else month
