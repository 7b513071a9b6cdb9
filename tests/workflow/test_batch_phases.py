"""A batch's phases (issue 15.2, 15.4): once the 公示 is published nothing new enters and the
deadlines are fixed; extending a passed deadline is an explicit 重新开放 with a reason; the
admin's batch form names the field that is wrong. Through the API and the pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from backend.audit_log.models import AuditEvent
from backend.auth.models import User
from backend.workflow.models import PublicNotice
from tests.web.helpers import csrf, login


def _publish_behind_the_scenes(session: Session, batch_id: int) -> None:
    """Arrange: the batch's notice is out (the review rounds are tested elsewhere)."""
    ministry = session.exec(select(User).where(User.username == "ministry")).one()
    now = datetime.now(UTC)
    session.add(
        PublicNotice(batch_id=batch_id, starts_at=now, ends_at=now, published_by=ministry.id or 0)
    )
    session.commit()


def _actions(session: Session, batch_id: int) -> list[str]:
    session.commit()
    rows = session.exec(
        select(AuditEvent).where(
            AuditEvent.object_type == "batch", AuditEvent.object_id == str(batch_id)
        )
    ).all()
    return [e.action for e in rows]


def test_after_the_notice_no_recommendation_or_submission_enters_and_deadlines_are_fixed(
    flow: Any, session: Session
) -> None:
    batch = flow.open_batch()
    passed = flow.passed(batch["id"])
    late = flow.work(batch["id"])
    flow.upload_both(late["id"])
    _publish_behind_the_scenes(session, batch["id"])
    r = flow.call("POST", f"/api/v1/works/{passed}/recommend", "unit-zj", json={"opinion": "x"})
    assert r.status_code == 409 and r.json()["code"] == "batch_closed", r.text
    r = flow.call("POST", f"/api/v1/works/{late['id']}/submit", "prod-hz")
    assert r.status_code == 422 and "已公示" in r.json()["fields"]["batch_id"], r.text
    r = flow.call(
        "PATCH",
        f"/api/v1/batches/{batch['id']}",
        "admin",
        json={"submission_deadline": "2027-12-31"},
    )
    assert r.status_code == 409 and r.json()["code"] == "notice_published", r.text
    r = flow.call(
        "POST",
        f"/api/v1/batches/{batch['id']}/reopen",
        "admin",
        json={"submission_deadline": "2027-12-31", "reason": "延期"},
    )
    assert r.status_code == 409
    after = next(
        b
        for b in flow.call("GET", "/api/v1/batches", "admin", 200).json()
        if b["id"] == batch["id"]
    )
    assert after["submission_deadline_beijing"] == batch["submission_deadline_beijing"]
    assert after["phase"] == "notice" and after["phase_label"] == "已公示"
    assert "batch.update" not in _actions(session, batch["id"])


def test_extending_a_passed_deadline_needs_the_explicit_reopen_with_a_reason(
    flow: Any, session: Session
) -> None:
    batch = flow.open_batch(registration_deadline="2026-01-05", submission_deadline="2026-01-15")
    r = flow.call(
        "PATCH",
        f"/api/v1/batches/{batch['id']}",
        "admin",
        json={"submission_deadline": "2099-01-15"},
    )
    assert r.status_code == 409 and r.json()["code"] == "reopen_required"
    assert "submission_deadline" in r.json()["fields"]
    url = f"/api/v1/batches/{batch['id']}/reopen"
    assert (
        flow.call("POST", url, "admin", json={"submission_deadline": "2099-01-15"}).status_code
        == 422
    )
    assert (
        flow.call(
            "POST", url, "unit-zj", json={"submission_deadline": "2099-01-15", "reason": "x"}
        ).status_code
        == 403
    )
    r = flow.call(
        "POST", url, "admin", json={"submission_deadline": "2099-01-15", "reason": "疫情延期"}
    )
    assert r.status_code == 200 and r.json()["phase"] == "recommendation", r.text
    assert "batch.reopen" in _actions(session, batch["id"])
    # a change that re-opens nothing (quota) still goes through the ordinary edit
    ok = flow.call("PATCH", f"/api/v1/batches/{batch['id']}", "admin", json={"quota": 6})
    assert ok.status_code == 200


def test_the_batch_page_names_the_wrong_field_and_refuses_a_silent_reopen(
    flow: Any, client: Any, session: Session
) -> None:
    batch = flow.open_batch(registration_deadline="2026-01-05", submission_deadline="2026-01-15")
    login(client, "admin")
    url = f"/batches/{batch['id']}/edit"
    form = {
        "csrf_token": csrf(client, url),
        "year": "2027",
        "number": str(batch["number"]),
        "quota": "5",
        "notice_days": "0",
        "registration_deadline": "2026-01-05T23:59:59",
        "submission_deadline": "2026-01-15T23:59:59",
    }
    r = client.post(url, data=form)
    assert r.status_code == 422
    assert 'id="b-notice_days-err"' in r.text and "公示天数须不小于 1" in r.text
    r = client.post(
        url,
        data={**form, "notice_days": "7", "registration_deadline": "2026-01-20T00:00:00"},
    )
    assert r.status_code == 422 and 'id="b-submission_deadline-err"' in r.text
    assert "不能早于注册截止时间" in r.text
    r = client.post(
        url, data={**form, "notice_days": "7", "submission_deadline": "2099-01-15T23:59:59"}
    )
    assert r.status_code == 409 and "重新开放" in r.text and 'id="reopen"' in r.text
    assert _actions(session, batch["id"]) == ["batch.create"]
    reopen = client.post(
        f"/batches/{batch['id']}/reopen",
        data={
            "csrf_token": form["csrf_token"],
            "submission_deadline": "2099-01-15T23:59:59",
            "reason": "",
        },
    )
    assert reopen.status_code == 422 and 'id="r-reason-err"' in reopen.text
    done = client.post(
        f"/batches/{batch['id']}/reopen",
        data={
            "csrf_token": form["csrf_token"],
            "submission_deadline": "2099-01-15T23:59:59",
            "reason": "疫情延期",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "batch.reopen" in _actions(session, batch["id"])
    _publish_behind_the_scenes(session, batch["id"])
    page = client.get(url).text
    assert 'id="batch-closed"' in page and 'id="reopen"' not in page


def test_the_demo_has_a_batch_open_now_and_the_desks_default_to_it(
    client: Any, token_for: Any, flow: Any
) -> None:
    listed = flow.call("GET", "/api/v1/batches", "admin", 200).json()
    current = [b for b in listed if b["phase"] == "registration"]
    assert len(current) == 1 and current[0]["open"]
    page = client.get("/reviews/unit", headers={**token_for("unit-zj"), "accept": "text/html"})
    assert page.status_code == 200 and current[0]["label"] in page.text


def test_the_public_notice_list_downloads_as_excel(client: Any, session: Session) -> None:
    import io

    from openpyxl import load_workbook

    from backend.works.models import Batch

    b1 = session.exec(select(Batch).where(Batch.year == 2026, Batch.number == 1)).one()
    r = client.get(f"/public/notices/{b1.id}.xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][1] == "作品名称" and "西湖边的修伞人" in {row[1] for row in rows[1:]}
    page = client.get(f"/public/notices/{b1.id}", headers={"accept": "text/html"})
    assert 'id="notice-xlsx"' in page.text
