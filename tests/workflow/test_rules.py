"""The rules of the notice (六): eligibility, deadlines in Beijing time, quota, scope, experts,
the funding rule — each refused the way a person or a program can act on."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import Session, select

from backend.auth.models import User
from backend.core.dates import SHANGHAI
from backend.core.errors import Conflict, ValidationFailed
from backend.workflow import applications, unit_review
from backend.workflow.models import DocumentSlot, UnitDecision, WorkVersion
from backend.works.models import Batch, Work, WorkStatus
from backend.works.schemas import WorkCreate
from backend.works.service import create_work
from tests.workflow.conftest import SCORES, WORK


def _user(session: Session, name: str) -> User:
    return session.exec(select(User).where(User.username == name)).one()


def test_submit_lists_every_eligibility_failure_at_once_in_chinese(flow):
    w = flow.work(None, filing_number="", is_original=False, is_online=True)
    r = flow.call("POST", f"/api/v1/works/{w['id']}/submit", "prod-hz", 422).json()
    assert set(r["fields"]) == {
        "filing_number",
        "is_original",
        "is_online",
        "documents.application",
        "documents.copyright-pledge",
        "batch_id",
    }
    assert "规划立项备案号" in r["fields"]["filing_number"] and "原创" in r["fields"]["is_original"]
    assert "未上线播出" in r["fields"]["is_online"] and "未选择申报批次" in r["fields"]["batch_id"]
    bad = flow.work(None, filing_number="x!")
    r = flow.call("POST", f"/api/v1/works/{bad['id']}/submit", "prod-hz", 422).json()
    assert "格式不正确" in r["fields"]["filing_number"]


def test_batch_patch_with_null_fields_is_422_naming_them_and_changes_nothing(flow):
    batch = flow.open_batch()
    r = flow.call(
        "PATCH", f"/api/v1/batches/{batch['id']}", "admin", 422, json={"quota": None, "year": None}
    ).json()
    assert r["code"] == "validation_failed"
    assert r["fields"] == {"quota": "不能为空", "year": "不能为空"}
    after = flow.call("GET", "/api/v1/batches", "admin", 200).json()
    assert next(b for b in after if b["id"] == batch["id"])["quota"] == batch["quota"]


def test_registration_deadline_admits_235959_and_refuses_000000_beijing_time(session, pdf):
    batch = session.exec(select(Batch).where(Batch.year == 2026, Batch.number == 1)).one()
    producer = _user(session, "prod-hz")
    works = []
    for i in range(2):
        w = create_work(
            session, producer, WorkCreate(**{**WORK, "title": f"截止测试{i}"}, batch_id=batch.id)
        )
        for slot in DocumentSlot:
            applications.upload_document(session, producer, w.id, slot, pdf)
        works.append(w)
    last_second = datetime(2026, 6, 5, 23, 59, 59, 999000, tzinfo=SHANGHAI)
    assert (
        applications.submit(session, producer, works[0].id, now=last_second).status
        is WorkStatus.submitted
    )
    with pytest.raises(ValidationFailed) as exc:
        applications.submit(
            session, producer, works[1].id, now=datetime(2026, 6, 6, 0, 0, 0, tzinfo=SHANGHAI)
        )
    assert exc.value.fields["batch_id"] == "已超过注册截止时间 2026年6月5日 23:59:59（北京时间）"
    assert "2026年6月5日 23:59:59（北京时间）" in exc.value.message

    reviewer = _user(session, "unit-zj")
    unit_review.review_submission(
        session,
        reviewer,
        works[0].id,
        UnitDecision.passed,
        "通过",
        now=datetime(2026, 6, 10, tzinfo=SHANGHAI),
    )
    with pytest.raises(Conflict) as late:
        unit_review.recommend(
            session, reviewer, works[0].id, now=datetime(2026, 6, 16, 0, 0, 0, tzinfo=SHANGHAI)
        )
    assert "已超过报送截止时间 2026年6月15日 23:59:59（北京时间）" in late.value.message
    unit_review.recommend(
        session, reviewer, works[0].id, now=datetime(2026, 6, 15, 23, 59, 59, tzinfo=SHANGHAI)
    )
    assert works[0].status is WorkStatus.recommended


def test_sixth_recommendation_is_refused_with_409_naming_the_quota_until_an_admin_records_an_exception(
    flow,
):
    batch = flow.open_batch(quota=5)
    ids = [flow.passed(batch["id"]) for _ in range(6)]
    for wid in ids[:5]:
        flow.call("POST", f"/api/v1/works/{wid}/recommend", "unit-zj", 200, json={})
    r = flow.call("POST", f"/api/v1/works/{ids[5]}/recommend", "unit-zj", 409, json={}).json()
    assert r["code"] == "quota_exceeded" and "不超过 5 部" in r["message"] and r["quota"] == 5
    flow.call(
        "POST",
        f"/api/v1/batches/{batch['id']}/quota-exceptions",
        "unit-zj",
        403,
        json={"unit_code": "zj", "reason": "自己批"},
    )
    flow.call(
        "POST",
        f"/api/v1/batches/{batch['id']}/quota-exceptions",
        "admin",
        422,
        json={"unit_code": "zj", "reason": "  "},
    )
    q = flow.call(
        "POST",
        f"/api/v1/batches/{batch['id']}/quota-exceptions",
        "admin",
        201,
        json={"unit_code": "zj", "reason": "重大主题作品，经司务会研究同意"},
    ).json()
    assert q["extra"] == 1 and q["remaining"] == 1
    flow.call("POST", f"/api/v1/works/{ids[5]}/recommend", "unit-zj", 200, json={})
    assert (
        flow.call("GET", f"/api/v1/batches/{batch['id']}/quota", "unit-zj", 200).json()["used"] == 6
    )
    # Another unit's quota is untouched.
    assert (
        flow.call("GET", f"/api/v1/batches/{batch['id']}/quota", "unit-sc", 200).json()["used"] == 0
    )


def test_acting_on_another_units_application_is_404_and_a_role_not_allowed_is_403(flow):
    batch = flow.open_batch()
    w = flow.submitted(batch["id"])
    flow.call(
        "POST",
        f"/api/v1/reviews/unit/{w['id']}",
        "unit-sc",
        404,
        json={"decision": "pass", "opinion": "x"},
    )
    flow.call("POST", f"/api/v1/works/{w['id']}/recommend", "unit-sc", 404, json={})
    flow.call(
        "POST",
        f"/api/v1/reviews/unit/{w['id']}",
        "prod-cd",
        404,
        json={"decision": "pass", "opinion": "x"},
    )
    flow.call(
        "POST",
        f"/api/v1/reviews/unit/{w['id']}",
        "prod-hz",
        403,
        json={"decision": "pass", "opinion": "x"},
    )
    flow.call(
        "POST",
        f"/api/v1/reviews/unit/{w['id']}",
        "ministry",
        403,
        json={"decision": "pass", "opinion": "x"},
    )
    flow.call(
        "POST",
        "/api/v1/batches",
        "ministry",
        403,
        json={
            "year": 2030,
            "number": 1,
            "registration_deadline": "2030-06-05",
            "submission_deadline": "2030-06-15",
        },
    )


def test_non_pdf_upload_is_422_and_a_returned_application_becomes_a_new_version_keeping_the_old_snapshot(
    flow, env
):
    batch = flow.open_batch()
    w = flow.work(batch["id"])
    for data in (b"hello, not a pdf", b"%PDF-1.7\n garbage"):
        r = flow.call(
            "POST",
            f"/api/v1/works/{w['id']}/documents/application/upload",
            "prod-hz",
            422,
            files={"file": ("a.pdf", data, "application/pdf")},
        ).json()
        assert "PDF" in r["fields"]["file"]
    flow.upload_both(w["id"])
    flow.call("POST", f"/api/v1/works/{w['id']}/submit", "prod-hz", 200)
    flow.call(
        "POST",
        f"/api/v1/works/{w['id']}/documents/application/upload",
        "prod-hz",
        409,
        files={"file": ("a.pdf", flow.pdf, "application/pdf")},
    )
    flow.call(
        "POST",
        f"/api/v1/reviews/unit/{w['id']}",
        "unit-zj",
        200,
        json={"decision": "return", "opinion": "请补充分集大纲"},
    )
    flow.call(
        "POST",
        f"/api/v1/reviews/unit/{w['id']}",
        "unit-zj",
        409,
        json={"decision": "pass", "opinion": "x"},
    )
    back = flow.call(
        "PATCH", f"/api/v1/works/{w['id']}", "prod-hz", 200, json={"schedule": "已补充分集大纲"}
    ).json()
    assert back["status"] == "returned" and back["version"] == 2
    r = flow.call("POST", f"/api/v1/works/{w['id']}/submit", "prod-hz", 422).json()
    assert set(r["fields"]) == {
        "documents.application",
        "documents.copyright-pledge",
    }  # new version, new documents
    flow.upload_both(w["id"])
    flow.call("POST", f"/api/v1/works/{w['id']}/submit", "prod-hz", 200)
    versions = flow.call("GET", f"/api/v1/works/{w['id']}/versions", "prod-hz", 200).json()
    assert [v["version"] for v in versions] == [1, 2]
    assert (
        versions[0]["snapshot"]["schedule"] == ""
        and versions[1]["snapshot"]["schedule"] == "已补充分集大纲"
    )


def test_experts_see_only_their_assigned_works_score_in_range_and_only_once_per_round(flow):
    batch = flow.open_batch()
    wid = flow.recommended(batch["id"])
    other = flow.recommended(batch["id"])
    flow.call(
        "POST",
        f"/api/v1/reviews/{wid}/assignments",
        "ministry",
        201,
        json={"round": "second", "expert_usernames": ["expert1"]},
    )
    flow.call(
        "POST",
        f"/api/v1/reviews/{wid}/assignments",
        "expert1",
        403,
        json={"round": "second", "expert_usernames": ["expert1"]},
    )
    flow.call("GET", f"/api/v1/works/{wid}", "expert1", 200)
    flow.call("GET", f"/api/v1/works/{wid}", "expert2", 404)
    flow.call("GET", f"/api/v1/works/{other}", "expert1", 404)
    assert wid not in [
        t["work_id"] for t in flow.call("GET", "/api/v1/reviews/assignments", "expert2", 200).json()
    ]
    assert wid in [
        t["work_id"] for t in flow.call("GET", "/api/v1/reviews/assignments", "expert1", 200).json()
    ]
    flow.call(
        "POST",
        f"/api/v1/reviews/{wid}/scores",
        "expert2",
        404,
        json={"round": "second", "scores": SCORES, "opinion": "x"},
    )
    r = flow.call(
        "POST",
        f"/api/v1/reviews/{wid}/scores",
        "expert1",
        422,
        json={"round": "second", "scores": {**SCORES, "ideology": 31, "reach": -1}, "opinion": "x"},
    ).json()
    assert set(r["fields"]) == {"ideology", "reach"} and "0–30" in r["fields"]["ideology"]
    flow.call(
        "POST",
        f"/api/v1/reviews/{wid}/scores",
        "expert1",
        201,
        json={"round": "second", "scores": SCORES, "opinion": "好"},
    )
    flow.call(
        "POST",
        f"/api/v1/reviews/{wid}/scores",
        "expert1",
        409,
        json={"round": "second", "scores": SCORES, "opinion": "再评一次"},
    )
    flow.call(
        "POST",
        f"/api/v1/reviews/{wid}/scores",
        "expert1",
        404,
        json={"round": "final", "scores": SCORES, "opinion": "未分配终评"},
    )


def test_selected_work_with_central_support_gets_no_grant_and_the_pages_say_why(flow, client):
    batch = flow.open_batch()
    wid = flow.recommended(
        batch["id"],
        central_support_received=True,
        central_support_details="已获2025年度中央财政资金扶持",
    )
    for rnd, expert in (("second", "expert1"), ("final", "expert2")):
        flow.call(
            "POST",
            f"/api/v1/reviews/{wid}/assignments",
            "ministry",
            201,
            json={"round": rnd, "expert_usernames": [expert]},
        )
        flow.call(
            "POST",
            f"/api/v1/reviews/{wid}/scores",
            expert,
            201,
            json={"round": rnd, "scores": SCORES, "opinion": "好"},
        )
        if rnd == "second":
            flow.call(
                "POST",
                f"/api/v1/reviews/{wid}/second-round-conclusion",
                "ministry",
                200,
                json={"advance": True, "reason": "进入终评"},
            )
    d = flow.call(
        "POST",
        f"/api/v1/reviews/{wid}/decision",
        "ministry",
        200,
        json={"selected": True, "reason": "终评通过"},
    ).json()
    assert d["status"] == "selected" and d["grant_eligible"] is False
    assert "不再发放扶持资金" in d["funding_note"]
    app = flow.call("GET", f"/api/v1/works/{wid}/application", "prod-hz", 200).json()
    assert app["funding"] == {"selected": True, "grant_eligible": False, "note": d["funding_note"]}
    page = client.get(
        f"/works/{wid}/application", headers={**flow.token_for("prod-hz"), "accept": "text/html"}
    )
    assert page.status_code == 200 and "入选但不再发放扶持资金" in page.text
    flow.call("POST", f"/api/v1/batches/{batch['id']}/notice", "ministry", 201)
    assert "不再发放扶持资金" in client.get(f"/public/notices/{batch['id']}").text


def test_demo_leaves_works_in_every_state_and_a_second_run_changes_nothing(session):
    from backend.demo import load_demo

    before = {w.title: (w.status, w.version) for w in session.exec(select(Work))}
    assert {s for s, _v in before.values()} == set(WorkStatus)
    load_demo(session)
    session.flush()
    assert {w.title: (w.status, w.version) for w in session.exec(select(Work))} == before
    assert session.exec(select(WorkVersion)).first() is not None
