"""The audit log page in plain Chinese (issue 15.11): 时间 / 操作人 (姓名) / 操作 / 对象 / 摘要
with the raw record behind 详情; an Excel export of the filtered events; and a button that
checks an uploaded signed export instead of a command line."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from sqlmodel import Session

from tests.verification.conftest import signed_agreement
from tests.web.helpers import csrf, login


def test_events_read_in_chinese_with_details_one_click_away(client: Any, session: Session) -> None:
    ag = signed_agreement(session)
    login(client, "auditor")
    params = {"object_type": "agreement", "object_id": str(ag.id)}
    page = client.get("/audit", params=params).text
    assert '<th scope="col">摘要</th>' in page and "签署三方协议" in page
    assert "三方协议 " + str(ag.id) in page
    assert "<summary>详情</summary>" in page
    assert "jingpin audit verify-export" not in page and 'id="verify-export"' in page
    xlsx = client.get("/audit/export.xlsx", params=params)
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("序号", "时间（北京时间）", "操作人", "操作", "对象", "摘要")
    assert "签署三方协议" in {r[3] for r in rows[1:]}
    login(client, "prod-hz")
    assert client.get("/audit/export.xlsx", params=params).status_code == 403


def test_the_export_check_button_tells_intact_from_tampered(
    client: Any, token_for: Any, session: Session
) -> None:
    ag = signed_agreement(session)
    export = client.get(
        "/api/v1/audit/export",
        params={"object_type": "agreement", "object_id": str(ag.id)},
        headers=token_for("auditor"),
    )
    assert export.status_code == 200
    login(client, "auditor")
    token = csrf(client, "/audit")
    good = client.post(
        "/audit/verify-export",
        data={"csrf_token": token},
        files={"file": ("trail.jsonl", export.content, "application/jsonl")},
    )
    assert good.status_code == 200 and "核验通过" in good.text
    tampered = export.content.replace(b'"agreement.sign"', b'"agreement.sigN"', 1)
    bad = client.post(
        "/audit/verify-export",
        data={"csrf_token": token},
        files={"file": ("trail.jsonl", tampered, "application/jsonl")},
    )
    assert bad.status_code == 422 and "核验失败" in bad.text
