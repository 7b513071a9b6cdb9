"""No user enumeration: a caller who may not assign experts gets the same refusal whether the
usernames exist or not, before anything is looked up; the ministry still gets the names."""

from __future__ import annotations

from typing import Any


def _first_work(client: Any, headers: dict[str, str]) -> int:
    works = client.get("/api/v1/works", headers=headers).json()
    assert works
    return int(works[0]["id"])


def test_non_ministry_cannot_learn_whether_a_username_exists(client: Any, token_for: Any) -> None:
    for caller in ("prod-hz", "unit-zj", "expert1"):
        h = token_for(caller)
        work_id = _first_work(client, token_for("prod-hz")) if caller != "expert1" else 1
        answers = []
        for names in (["no-such-user-xyz"], ["expert1"], ["admin"]):
            r = client.post(
                f"/api/v1/reviews/{work_id}/assignments",
                json={"round": "second", "expert_usernames": names},
                headers=h,
            )
            assert r.status_code in (403, 404), (caller, r.text)
            assert "用户" not in r.text and "no-such-user-xyz" not in r.text, r.text
            answers.append((r.status_code, r.json()["code"], r.json()["fields"]))
        assert len(set(map(str, answers))) == 1, (caller, answers)


def test_the_ministry_is_told_that_a_username_does_not_exist(client: Any, token_for: Any) -> None:
    h = token_for("ministry")
    works = client.get("/api/v1/works", headers=h).json()
    work_id = next(w["id"] for w in works if w["status"] in ("recommended", "second_review"))
    r = client.post(
        f"/api/v1/reviews/{work_id}/assignments",
        json={"round": "second", "expert_usernames": ["no-such-user-xyz"]},
        headers=h,
    )
    assert r.status_code == 422, r.text
    assert r.json()["fields"]["expert_usernames"] == "用户 no-such-user-xyz 不存在"
