"""Irreversible workflow steps on the pages (issue 15.8, 15.9): the first post shows a
confirmation page naming what will happen and changes nothing; only the re-post with
confirmed=1 acts; blocked actions are disabled on the desk with the reason beside the button."""

from __future__ import annotations

from typing import Any

from tests.web.helpers import csrf, login
from tests.workflow.conftest import SCORES


def _status(flow: Any, wid: int, user: str = "prod-hz") -> str:
    return str(flow.call("GET", f"/api/v1/works/{wid}", user, 200).json()["status"])


def test_submit_recommend_and_unit_review_confirm_before_acting(flow: Any, client: Any) -> None:
    batch = flow.open_batch()
    w = flow.work(batch["id"])
    flow.upload_both(w["id"])
    login(client, "prod-hz")
    url = f"/works/{w['id']}/application"
    token = csrf(client, url)
    first = client.post(f"{url}/submit", data={"csrf_token": token})
    assert first.status_code == 200 and "确认提交至浙江省广播电视局" in first.text
    assert 'name="confirmed" value="1"' in first.text
    assert _status(flow, w["id"]) == "draft"
    done = client.post(
        f"{url}/submit", data={"csrf_token": token, "confirmed": "1"}, follow_redirects=False
    )
    assert done.status_code == 303 and _status(flow, w["id"]) == "submitted"

    login(client, "unit-zj")
    token = csrf(client, url)
    missing = client.post(f"{url}/unit-review", data={"csrf_token": token, "decision": "pass"})
    assert missing.status_code == 422 and 'id="opinion-err"' in missing.text
    form = {"csrf_token": token, "decision": "pass", "opinion": "符合条件"}
    shown = client.post(f"{url}/unit-review", data=form)
    assert shown.status_code == 200 and "初评通过" in shown.text and "符合条件" in shown.text
    assert (
        flow.call("GET", f"/api/v1/works/{w['id']}", "unit-zj", 200).json()["status"] == "submitted"
    )
    client.post(f"{url}/unit-review", data={**form, "confirmed": "1"}, follow_redirects=False)
    shown = client.post(f"{url}/recommend", data={"csrf_token": token, "opinion": "推荐"})
    assert shown.status_code == 200 and "推荐后已用 1 部 / 上限 5 部" in shown.text
    assert _status(flow, w["id"], "unit-zj") == "submitted"
    client.post(
        f"{url}/recommend",
        data={"csrf_token": token, "opinion": "推荐", "confirmed": "1"},
        follow_redirects=False,
    )
    assert _status(flow, w["id"], "unit-zj") == "recommended"


def test_blocked_submit_and_recommend_are_disabled_with_the_reason(flow: Any, client: Any) -> None:
    batch = flow.open_batch(quota=0)
    w = flow.work(batch["id"], filing_number="")
    login(client, "prod-hz")
    page = client.get(f"/works/{w['id']}/application").text
    assert 'id="submit-blocked"' in page and "disabled" in page
    token = csrf(client)
    blocked = client.post(f"/works/{w['id']}/application/submit", data={"csrf_token": token})
    assert 'id="blocked"' in blocked.text and "规划立项备案号" in blocked.text
    assert 'name="confirmed"' not in blocked.text

    wid = flow.passed(batch["id"])
    login(client, "unit-zj")
    page = client.get(f"/works/{wid}/application").text
    assert 'id="recommend-blocked"' in page and "推荐名额已用完" in page
    token = csrf(client)
    blocked = client.post(f"/works/{wid}/application/recommend", data={"csrf_token": token})
    assert 'id="blocked"' in blocked.text and 'name="confirmed"' not in blocked.text


def test_publish_with_unfinished_works_is_blocked_before_the_click(flow: Any, client: Any) -> None:
    batch = flow.open_batch()
    flow.recommended(batch["id"])
    login(client, "ministry")
    page = client.get(f"/reviews/ministry?batch_id={batch['id']}").text
    assert 'id="publish-blocked"' in page and "未完成评审" in page
    r = client.post(
        f"/reviews/ministry/batches/{batch['id']}/publish", data={"csrf_token": csrf(client)}
    )
    assert r.status_code == 200 and 'id="blocked"' in r.text


def test_a_score_is_confirmed_with_its_total_before_it_is_stored(flow: Any, client: Any) -> None:
    batch = flow.open_batch()
    wid = flow.recommended(batch["id"])
    flow.call(
        "POST",
        f"/api/v1/reviews/{wid}/assignments",
        "ministry",
        201,
        json={"round": "second", "expert_usernames": ["expert1"]},
    )
    login(client, "expert1")
    token = csrf(client, "/reviews/expert")
    form = {"csrf_token": token, "round": "second", **{k: str(v) for k, v in SCORES.items()}}
    bad = client.post(
        f"/reviews/expert/{wid}/score", data={**form, "ideology": "99", "opinion": "好"}
    )
    assert bad.status_code == 422
    shown = client.post(f"/reviews/expert/{wid}/score", data={**form, "opinion": "好作品"})
    assert shown.status_code == 200 and "提交后不能修改" in shown.text
    assert f"<dd>{sum(SCORES.values())}</dd>" in shown.text
    tasks = flow.call("GET", "/api/v1/reviews/assignments", "expert1", 200).json()
    assert [t["total"] for t in tasks if t["work_id"] == wid] == [None]
    done = client.post(
        f"/reviews/expert/{wid}/score",
        data={**form, "opinion": "好作品", "confirmed": "1"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    tasks = flow.call("GET", "/api/v1/reviews/assignments", "expert1", 200).json()
    assert [t["total"] for t in tasks if t["work_id"] == wid] == [sum(SCORES.values())]
    again = client.post(
        f"/reviews/expert/{wid}/score",
        data={**form, "opinion": "好作品", "confirmed": "1"},
        follow_redirects=False,
    )
    assert again.status_code in (303, 409)


def test_second_round_conclusion_and_final_decision_confirm_before_recording(
    flow: Any, client: Any
) -> None:
    batch = flow.open_batch()
    wid = flow.recommended(batch["id"])
    for rnd in ("second", "final"):
        flow.call(
            "POST",
            f"/api/v1/reviews/{wid}/assignments",
            "ministry",
            201,
            json={"round": rnd, "expert_usernames": ["expert1"]},
        )
        flow.call(
            "POST",
            f"/api/v1/reviews/{wid}/scores",
            "expert1",
            201,
            json={"round": rnd, "scores": SCORES, "opinion": "好作品"},
        )
        login(client, "ministry")
        token = csrf(client, f"/reviews/ministry?batch_id={batch['id']}")
        url, form, before, after, outcome = (
            (
                f"/reviews/ministry/{wid}/conclude",
                {"advance": "yes"},
                "second_review",
                "final_review",
                "进入终评",
            )
            if rnd == "second"
            else (
                f"/reviews/ministry/{wid}/decide",
                {"selected": "yes"},
                "final_review",
                "selected",
                "拟入选",
            )
        )
        form = {"csrf_token": token, **form, "reason": "均分靠前"}
        empty = client.post(url, data={**form, "reason": ""})
        assert empty.status_code == 422 and _status(flow, wid, "ministry") == before
        long = client.post(url, data={**form, "reason": "长" * 5001, "confirmed": "1"})
        assert long.status_code == 422 and _status(flow, wid, "ministry") == before
        shown = client.post(url, data=form)
        assert shown.status_code == 200 and outcome in shown.text and "均分靠前" in shown.text
        assert 'name="confirmed" value="1"' in shown.text
        assert _status(flow, wid, "ministry") == before  # nothing recorded yet
        done = client.post(url, data={**form, "confirmed": "1"}, follow_redirects=False)
        assert done.status_code == 303 and _status(flow, wid, "ministry") == after


def test_all_notifications_are_marked_read_with_one_click(client: Any, flow: Any) -> None:
    login(client, "unit-zj")
    page = client.get("/notifications").text
    assert 'id="read-all"' in page and "条未读" in page
    r = client.post(
        "/notifications/read-all", data={"csrf_token": csrf(client)}, follow_redirects=False
    )
    assert r.status_code == 303
    after = client.get("/notifications").text
    assert 'id="read-all"' not in after and "未读</span>" not in after


def test_a_negative_episode_count_is_named_for_what_it_is(client: Any) -> None:
    login(client, "prod-hz")
    token = csrf(client, "/works/new")
    r = client.post(
        "/works/new",
        data={
            "csrf_token": token,
            "title": "负数集数",
            "episodes": "-3",
            "budget_yuan": "1",
            "requested_yuan": "1",
        },
    )
    assert r.status_code == 422 and "集数须大于 0" in r.text and "集数须为整数" not in r.text


def test_the_error_summary_lists_each_problem_it_counts(client: Any) -> None:
    login(client, "prod-hz")
    token = csrf(client, "/works/new")
    r = client.post(
        "/works/new",
        data={"csrf_token": token, "title": "", "budget_yuan": "1", "requested_yuan": "1"},
    )
    assert r.status_code == 422
    import re

    summary = re.search(
        r'<div class="alert" role="alert" id="error-summary">请修正以下 (\d+) 处问题(.*?)</div>',
        r.text,
        re.S,
    )
    assert summary is not None
    assert int(summary.group(1)) == summary.group(2).count("<li>") > 0
