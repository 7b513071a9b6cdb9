"""One batch from the producer's draft to the confirmed selection, every step by its role."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from backend.audit_log.service import verify_chain
from backend.auth.models import User
from backend.workflow import notices
from backend.workflow.models import OutboxMessage, PublicNotice
from backend.works.models import Work, WorkStatus
from tests.workflow.conftest import SCORES


def test_one_batch_travels_from_draft_to_confirmed_selection_across_all_roles_through_the_api(
    flow, env
):
    batch = flow.open_batch()
    assert batch["registration_deadline_beijing"] == "2027年6月5日 23:59:59（北京时间）"
    w = flow.work(batch["id"])
    wid = w["id"]
    app = flow.call("GET", f"/api/v1/works/{wid}/application", "prod-hz", 200).json()
    assert not app["eligible"] and set(app["problems"]) == {
        "documents.application",
        "documents.copyright-pledge",
    }
    flow.upload_both(wid)
    assert (
        flow.call("POST", f"/api/v1/works/{wid}/submit", "prod-hz", 200).json()["status"]
        == "submitted"
    )
    # Frozen once submitted.
    flow.call("PATCH", f"/api/v1/works/{wid}", "prod-hz", 409, json={"genre": "改"})
    assert any(
        "收到新的申报" in n["title"]
        for n in flow.call("GET", "/api/v1/notifications", "unit-zj", 200).json()
    )

    queue = flow.call("GET", f"/api/v1/reviews/unit?batch_id={batch['id']}", "unit-zj", 200).json()
    assert [q["id"] for q in queue] == [wid]
    flow.call(
        "POST",
        f"/api/v1/reviews/unit/{wid}",
        "unit-zj",
        200,
        json={"decision": "pass", "opinion": "符合条件"},
    )
    flow.call(
        "POST", f"/api/v1/works/{wid}/recommend", "unit-zj", 200, json={"opinion": "同意推荐"}
    )
    assert (
        flow.call("GET", f"/api/v1/batches/{batch['id']}/quota", "unit-zj", 200).json()["used"] == 1
    )

    flow.call(
        "POST",
        f"/api/v1/reviews/{wid}/assignments",
        "ministry",
        201,
        json={"round": "second", "expert_usernames": ["expert1"]},
    )
    flow.call(
        "POST",
        f"/api/v1/reviews/{wid}/scores",
        "expert1",
        201,
        json={"round": "second", "scores": SCORES, "opinion": "进入终评"},
    )
    flow.call(
        "POST",
        f"/api/v1/reviews/{wid}/second-round-conclusion",
        "ministry",
        200,
        json={"advance": True, "reason": "复评第一"},
    )
    flow.call(
        "POST",
        f"/api/v1/reviews/{wid}/assignments",
        "ministry",
        201,
        json={"round": "final", "expert_usernames": ["expert2"]},
    )
    flow.call(
        "POST",
        f"/api/v1/reviews/{wid}/scores",
        "expert2",
        201,
        json={"round": "final", "scores": SCORES, "opinion": "拟入选"},
    )
    ranking = flow.call("GET", f"/api/v1/reviews/batches/{batch['id']}", "ministry", 200).json()
    assert ranking[0]["rank"] == 1 and ranking[0]["final"]["average"] == 89
    d = flow.call(
        "POST",
        f"/api/v1/reviews/{wid}/decision",
        "ministry",
        200,
        json={"selected": True, "reason": "终评第一"},
    ).json()
    assert d["status"] == "selected" and d["grant_eligible"] is True

    notice = flow.call("POST", f"/api/v1/batches/{batch['id']}/notice", "ministry", 201).json()
    assert [x["id"] for x in notice["works"]] == [wid]
    public = flow.client.get(f"/public/notices/{batch['id']}")  # no login
    assert public.status_code == 200 and w["title"] in public.text
    assert (
        flow.call("GET", f"/api/v1/public/notices/{batch['id']}", None, 200).json()["works"][0][
            "id"
        ]
        == wid
    )
    o = flow.call(
        "POST",
        f"/api/v1/batches/{batch['id']}/notice/objections",
        "ministry",
        201,
        json={"work_id": wid, "submitter": "观众", "content": "质疑原创性"},
    ).json()
    flow.call(
        "POST", f"/api/v1/batches/{batch['id']}/confirm", "ministry", 409
    )  # objection open, period running
    flow.call(
        "POST",
        f"/api/v1/objections/{o['id']}/resolve",
        "ministry",
        200,
        json={"upheld": False, "resolution": "经核查系原创"},
    )
    r = flow.call("POST", f"/api/v1/batches/{batch['id']}/confirm", "ministry", 409)
    assert "期满后方可确认" in r.json()["message"]

    with Session(flow_engine()) as s:  # the period ends: confirm with `now` after it
        officer = s.exec(select(User).where(User.username == "ministry")).one()
        n = s.exec(select(PublicNotice).where(PublicNotice.batch_id == batch["id"])).one()
        notices.confirm_selection(s, officer, batch["id"], now=n.ends_at + timedelta(seconds=1))
        s.commit()
        assert s.get(Work, wid).status is WorkStatus.confirmed
        assert s.exec(select(OutboxMessage)).first() is not None
        assert verify_chain(s).ok


def flow_engine():
    from backend.core.db import get_engine

    return get_engine()
