"""XLSX exports open with openpyxl and their totals equal the database; SVG charts are
well-formed XML naming the units; the money trail exports as JSON Lines."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlmodel import Session

SVG = "{http://www.w3.org/2000/svg}"


def test_finance_workbook_totals_match_the_database(session: Session) -> None:
    from backend.agreements.models import Agreement
    from backend.funding.exports import YUAN_FORMAT, finance_workbook
    from backend.funding.models import DisbursementEntry

    wb = load_workbook(io.BytesIO(finance_workbook(session)))
    assert wb.sheetnames == ["按推荐单位", "按批次", "拨付台账"]
    paid = session.execute(select(func.sum(DisbursementEntry.paid_delta_fen))).scalar_one()
    granted = session.execute(
        select(func.sum(Agreement.grant_fen)).where(Agreement.status == "fully_signed")
    ).scalar_one()
    for name in ("按推荐单位", "按批次"):
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        headers = [c.value for c in ws[1]]
        last = list(ws.iter_rows(min_row=ws.max_row, values_only=True))[0]
        assert last[0] == "合计"
        assert Decimal(str(last[headers.index("已拨付")])) == Decimal(paid) / 100
        assert Decimal(str(last[headers.index("扶持资金")])) == Decimal(granted) / 100
        assert (
            ws.cell(row=ws.max_row, column=headers.index("已拨付") + 1).number_format == YUAN_FORMAT
        )
        assert ws.column_dimensions["A"].width >= 20
    ledger = wb["拨付台账"]
    headers = [c.value for c in ledger[1]]
    col = headers.index("已拨付变动")
    rows = list(ledger.iter_rows(min_row=2, values_only=True))
    body, footer = rows[:-1], rows[-1]
    assert footer[0] == "合计"
    assert (
        sum(Decimal(str(r[col])) for r in body) == Decimal(paid) / 100 == Decimal(str(footer[col]))
    )
    assert {r[headers.index("操作")] for r in body} >= {
        "申请拨付",
        "审批通过",
        "审批退回",
        "登记拨付",
        "冲销",
    }


def test_charts_are_well_formed_svg_with_the_units_names(session: Session) -> None:
    from backend.funding import charts
    from backend.funding.summary import monthly_paid, summary

    rows = summary(session, "unit")
    bar = ET.fromstring(
        charts.bar_chart_granted_paid([(r.label, r.granted_fen, r.paid_fen) for r in rows])
    )
    assert bar.tag == SVG + "svg" and bar.get("role") == "img"
    assert bar.find(SVG + "title").text == "各推荐单位扶持资金与已拨付金额"  # type: ignore[union-attr]
    text = ET.tostring(bar, encoding="unicode")
    for r in rows:
        assert r.label in text
    assert "浙江省广播电视局" in (bar.find(SVG + "desc").text or "")  # type: ignore[union-attr]
    line = ET.fromstring(charts.line_chart_monthly(monthly_paid(session)))
    assert line.find(SVG + "desc") is not None
    assert "月" in ET.tostring(line, encoding="unicode")
    # Hostile names are escaped, not injected.
    ET.fromstring(charts.bar_chart_granted_paid([('<script>&"单位', 100, 50)]))
    ET.fromstring(charts.line_chart_monthly([]))


def test_money_trail_lists_gates_with_evidence_and_every_ledger_step(session: Session) -> None:
    from backend.agreements.models import Agreement
    from backend.funding.exports import money_trail, trail_jsonl, trail_workbook
    from tests.funding.conftest import user

    ag = session.exec(
        select(Agreement)
        .where(Agreement.status == "fully_signed")  # type: ignore[call-overload]
        .order_by(Agreement.id)
    ).first()[0]
    result = money_trail(session, user(session, "auditor"), ag.id)
    trail = result.model_dump(mode="json")
    steps = [s["step"] for s in trail["steps"]]
    assert steps.count("gate_opened") == 3
    assert {"requested", "approved", "rejected", "paid", "reversal_requested", "reversed"} <= set(
        steps
    )
    signed = next(s for s in trail["steps"] if s["evidence"].get("source") == "agreement_signed")
    assert signed["evidence"]["evidence_zip"].endswith("/evidence.zip")
    assert signed["evidence"]["agreement_pdf_sha256"] == ag.current_pdf_sha256
    review = next(s for s in trail["steps"] if s["evidence"].get("source") == "review")
    assert review["evidence"]["attachments"][0]["sha256"]
    assert all(s["actor"] and s["at"] for s in trail["steps"])
    lines = [json.loads(x) for x in trail_jsonl(result).decode().splitlines()]
    assert lines[0]["type"] == "agreement" and sum(x["type"] == "step" for x in lines) == len(steps)
    wb = load_workbook(io.BytesIO(trail_workbook(result)))
    assert wb["资金轨迹"].max_row == len(steps) + 1
