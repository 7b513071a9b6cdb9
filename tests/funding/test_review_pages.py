"""中期检查 / 审核验收 pages (issue 15.5): the producer asks on the page, the ministry records
the result with its PDF on the page, and a pass opens the matching payment gate."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from backend.workflow.demo import demo_scan_pdf
from tests.agreements.conftest import fresh_work, sign
from tests.web.helpers import csrf, login

GATE = "acceptance_passed"


def _signed(session: Session, client: Any, token_for: Any) -> tuple[int, str]:
    """A freshly signed agreement (乙 prod-hz, 丙 unit-zj, 甲 ministry): its later gates closed."""
    wid = fresh_work(session)
    r = client.post("/api/v1/agreements", json={"work_id": wid}, headers=token_for("ministry"))
    assert r.status_code == 201, r.text
    aid = int(r.json()["id"])
    for user in ("prod-hz", "unit-zj", "ministry"):
        assert sign(client, token_for(user), aid).status_code == 200
    return aid, "prod-hz"


def _gate_open(client: Any, token_for: Any, aid: int, gate: str) -> bool:
    rows = client.get(f"/api/v1/agreements/{aid}/milestones", headers=token_for("ministry")).json()
    return any(m["gate"] == gate and m["gate_opening"] is not None for m in rows)


def test_producer_requests_and_ministry_records_an_acceptance_review_on_the_pages(
    app_pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    aid, producer = _signed(session, client, token_for)
    assert not _gate_open(client, token_for, aid, GATE)
    login(client, producer)
    page = client.get(f"/agreements/{aid}/reviews").text
    assert 'id="request-form"' in page and 'id="record-form"' not in page
    r = client.post(
        f"/agreements/{aid}/reviews/request",
        data={"csrf_token": csrf(client), "kind": "acceptance", "note": "已完成拍摄过半"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    login(client, "prod-cd" if producer != "prod-cd" else "prod-hz")
    assert client.get(f"/agreements/{aid}/reviews").status_code == 404

    login(client, "ministry")
    page = client.get(f"/agreements/{aid}/reviews").text
    assert "已完成拍摄过半" in page and 'id="record-form"' in page
    token = csrf(client)
    form = {
        "csrf_token": token,
        "kind": "acceptance",
        "held_on": "2026-11-20",
        "result": "passed",
        "reviewers": "张三，李四",
        "opinion": "进度符合计划",
    }
    pdf = demo_scan_pdf()
    unconfirmed = client.post(
        f"/agreements/{aid}/reviews/record",
        data=form,
        files={"files": ("意见.pdf", pdf, "application/pdf")},
    )
    assert unconfirmed.status_code == 422 and 'id="confirmed-err"' in unconfirmed.text
    no_file = client.post(f"/agreements/{aid}/reviews/record", data={**form, "confirmed": "1"})
    assert no_file.status_code == 422 and 'id="files-err"' in no_file.text
    assert not _gate_open(client, token_for, aid, GATE)
    done = client.post(
        f"/agreements/{aid}/reviews/record",
        data={**form, "confirmed": "1"},
        files={"files": ("意见.pdf", pdf, "application/pdf")},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert _gate_open(client, token_for, aid, GATE)
    assert "进度符合计划" in client.get(f"/agreements/{aid}/reviews").text
