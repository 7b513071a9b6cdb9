"""附件3 推进表 as an Excel workbook (openpyxl), from the same context as the Word table.

``progress_xlsx(context)`` takes the dict built by
:func:`backend.documents.contexts.progress_context` and returns deterministic .xlsx bytes:
landscape A4, frozen header, amounts as numbers formatted ``¥#,##0.00``, a totals row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from backend.core.xlsx import Workbook, to_bytes
from backend.documents.render import normalise_package

TITLE = "微短剧精品创作传播“五个一批工程”重点项目推进表"
MONEY_FORMAT = "¥#,##0.00"
SANS = "Noto Sans CJK SC"
SERIF = "Noto Serif CJK SC"
FIXED_TIME = datetime(2026, 1, 1, 0, 0, 0)

# (header, row key, column width in characters)
COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("序号", "index", 6),
    ("作品名称", "title", 20),
    ("制作机构", "producer", 22),
    ("入选批次", "batch", 13),
    ("创作方向", "direction", 14),
    ("当前阶段", "stage", 12),
    ("本期进展情况", "progress", 36),
    ("扶持资金（元）", "grant_fen", 16),
    ("已拨付（元）", "paid_fen", 16),
    ("播出平台及上线时间", "broadcast", 20),
    ("备注", "remarks", 16),
)
MONEY_KEYS = {"grant_fen", "paid_fen"}
HEADER_ROW = 4


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def progress_xlsx(context: dict[str, Any]) -> bytes:
    """Workbook bytes for one unit and one half-month (same input as progress_table.docx)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "推进表"
    ncols = len(COLUMNS)
    last = get_column_letter(ncols)
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center")
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)

    ws["A1"] = "附件3"
    ws["A1"].font = Font(name=SANS, size=12)
    ws.merge_cells(f"A2:{last}2")
    ws["A2"] = TITLE
    ws["A2"].font = Font(name=SANS, size=16)
    ws["A2"].alignment = centre
    ws.row_dimensions[2].height = 30
    ws.merge_cells(f"A3:{last}3")
    ws["A3"] = (
        f"填报单位（盖章）：{context['unit_name']}　　填报期间：{context['period_label']}"
        f"（{context['period_start']}至{context['period_end']}）　　"
        f"填报日期：{context['filing_date']}"
    )
    ws["A3"].font = Font(name=SERIF, size=11)
    ws["A3"].alignment = Alignment(vertical="center")
    ws.row_dimensions[3].height = 22

    for col, (header, _key, width) in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=header)
        cell.font = Font(name=SANS, size=10, bold=True)
        cell.alignment = centre
        cell.border = border
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.row_dimensions[HEADER_ROW].height = 32

    total_grant = total_paid = 0
    r = HEADER_ROW
    for r, row in enumerate(context["rows"], start=HEADER_ROW + 1):
        total_grant += row["grant_fen"]
        total_paid += row["paid_fen"]
        for col, (_header, key, _width) in enumerate(COLUMNS, start=1):
            value = row[key]
            cell = ws.cell(row=r, column=col)
            if key in MONEY_KEYS:
                cell.value = _yuan(value)
                cell.number_format = MONEY_FORMAT
                cell.alignment = Alignment(horizontal="right", vertical="center")
            else:
                cell.value = value if value != "" else None
                cell.alignment = centre if key in ("index", "batch", "stage") else wrap
            cell.font = Font(name=SERIF, size=10)
            cell.border = border

    total_row = r + 1
    ws.merge_cells(start_row=total_row, start_column=1, end_row=total_row, end_column=7)
    ws.cell(row=total_row, column=1, value=f"合计（{len(context['rows'])}部）")
    for col in range(1, ncols + 1):
        cell = ws.cell(row=total_row, column=col)
        cell.font = Font(name=SERIF, size=10, bold=True)
        cell.border = border
        cell.alignment = centre
    for col, amount in ((8, total_grant), (9, total_paid)):
        cell = ws.cell(row=total_row, column=col, value=_yuan(amount))
        cell.number_format = MONEY_FORMAT
        cell.alignment = Alignment(horizontal="right", vertical="center")
    ws.row_dimensions[total_row].height = 24
    note = ws.cell(
        row=total_row + 2,
        column=1,
        value="注：本表自6月起按双周（月中、月末）填写，报送国家广播电视总局网络视听节目管理司；金额单位为元。",
    )
    note.font = Font(name=SERIF, size=10)

    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.print_area = f"A1:{last}{total_row + 2}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddFooter.center.text = "第 &P 页 共 &N 页"

    props = wb.properties
    props.creator = "jingpin"
    props.lastModifiedBy = "jingpin"
    props.title = TITLE
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    return normalise_package(to_bytes(wb))
