"""Excel output (openpyxl) without formula injection (公式注入).

openpyxl turns any string that starts with ``=`` into a formula (and ``#N/A`` & co. into error
values), so a work titled ``=HYPERLINK("http://x","y")`` would become a live link in the finance
department's spreadsheet. Nothing this system writes is a formula: :func:`to_bytes` stores every
string cell as text and marks the ones Excel or LibreOffice would read as a formula when someone
edits the cell (``= + - @``, tab, CR) with the quote prefix, the XLSX form of a leading
apostrophe. The value itself is kept as it is. Every writer takes its ``Workbook`` from here
and saves through :func:`to_bytes` (ruff bans importing openpyxl's ``Workbook`` elsewhere).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

__all__ = ["FORMULA_TRIGGERS", "Workbook", "as_text", "table", "to_bytes"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def as_text(cell: Cell) -> None:
    """Make a string cell plain text whatever it starts with."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if cell.value.startswith(FORMULA_TRIGGERS):
            cell.quotePrefix = True


def to_bytes(wb: Workbook) -> bytes:
    """The workbook as .xlsx bytes, every string cell as text."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell, Cell):
                    as_text(cell)
    out = io.BytesIO()
    # ExcelWriter rather than wb.save: save_workbook overwrites properties.modified with the
    # clock, so a writer that fixes the time (reproducible progress tables) would not get it.
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()
    return out.getvalue()


def table(title: str, header: list[str], rows: Sequence[Sequence[object]]) -> bytes:
    """A one-sheet list (作品清单, 评审结果, …): bold frozen header, readable column widths."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]  # Excel's limit for a sheet name
    ws.append(header)
    for row in rows:
        ws.append(row)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, Decimal):  # money in 元
                cell.number_format = "#,##0.00"
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for i, name in enumerate(header, start=1):
        longest = max([len(str(r[i - 1])) for r in rows if r[i - 1] is not None] + [len(name)])
        ws.column_dimensions[get_column_letter(i)].width = min(60, 4 + longest * 2)
    return to_bytes(wb)
