"""Spreadsheet formula injection (issue 14.9): text that looks like a formula — a work titled
``=HYPERLINK("http://x","y")``, notes starting with + - @ tab CR — reaches every XLSX the system
writes (资金汇总 with its 拨付台账, 资金轨迹, 推进表) as text, value unchanged."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from sqlmodel import Session, col, select

from tests.funding.test_pages import login

TITLE = '=HYPERLINK("http://x","y")'
NOTE = "@SUM(A1)"
TRIGGERS = [TITLE, "+1+2", "-3*4", NOTE, "\t=1+1", "\r=1+1", "#N/A"]


def _cells(data: bytes) -> list[Cell]:
    wb = load_workbook(io.BytesIO(data))
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def _assert_text(data: bytes, values: list[str]) -> None:
    cells = _cells(data)
    assert not [c.coordinate for c in cells if c.data_type in ("f", "e")]
    for value in values:
        found = [c for c in cells if c.value == value]
        assert found, f"{value!r} missing from the workbook"
        assert all(c.data_type == "s" for c in found), value
        if value[0] in "=+-@\t\r":
            assert all(c.quotePrefix for c in found), value


def _disbursed_work(session: Session) -> Any:
    """A work of 浙江 whose agreement has a disbursement: it shows in the ledger and 推进表."""
    from backend.agreements.models import Agreement
    from backend.funding.models import Disbursement
    from backend.orgs.models import RecommendingUnit
    from backend.works.models import Work

    row = session.exec(
        select(Disbursement, Agreement, Work)
        .join(Agreement, col(Agreement.id) == col(Disbursement.agreement_id))
        .join(Work, col(Work.id) == col(Agreement.work_id))
        .join(RecommendingUnit, col(RecommendingUnit.id) == col(Work.unit_id))
        .where(RecommendingUnit.code == "zj")
        .order_by(col(Disbursement.id))
    ).first()
    assert row is not None
    return row


def test_formula_looking_text_is_stored_as_text_in_every_export(
    client: Any, session: Session, token_for: Any
) -> None:
    disbursement, agreement, work = _disbursed_work(session)
    work.title = TITLE
    disbursement.note = NOTE
    session.add_all([work, disbursement])
    session.commit()

    progress = client.get(
        "/api/v1/units/zj/progress-tables/2026-06-H1.xlsx", headers=token_for("unit-zj")
    )
    assert progress.status_code == 200, progress.text
    _assert_text(progress.content, [TITLE])

    login(client, "finance-a")
    finance = client.get("/finance/export.xlsx")
    assert finance.status_code == 200, finance.text
    _assert_text(finance.content, [TITLE, NOTE])

    trail = client.get(f"/audit/money-trail/{agreement.id}/trail.xlsx")
    assert trail.status_code == 200, trail.text
    _assert_text(trail.content, [NOTE])


def test_the_helper_keeps_every_trigger_as_text_and_numbers_as_numbers() -> None:
    from backend.core.xlsx import Workbook, to_bytes

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([*TRIGGERS, 42])
    data = to_bytes(wb)
    _assert_text(data, TRIGGERS)
    assert [c for c in _cells(data) if c.value == 42][0].data_type == "n"
