"""Bad input gets a clear 4xx with a stable code, and nothing is half-saved."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from backend.audit_log.models import AuditEvent
from backend.auth.models import User
from backend.auth.service import delete_user
from backend.core.errors import ValidationFailed
from backend.orgs.service import normalise_uscc
from backend.works.models import Work
from backend.works.schemas import WorkCreate
from backend.works.service import create_work
from tests.conftest import client_login

GOOD = {
    "title": "测试作品",
    "direction": "new_era",
    "genre": "现实题材",
    "episodes": 10,
    "minutes_per_episode": 2.5,
    "synopsis": "简介",
    "director": "甲",
    "screenwriter": "乙",
    "producer_name": "丙",
    "budget_fen": 100000,
    "requested_fen": 50000,
}


def _counts(session):
    session.rollback()  # end the read snapshot (SQLite WAL) before looking again
    works = session.exec(select(func.count()).select_from(Work)).one()
    events = session.exec(select(func.count()).select_from(AuditEvent)).one()
    return works, events


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"title": None}, "title", "validation_failed"),
        ({"title": "长" * 101}, "title", "validation_failed"),
        ({"budget_fen": -1}, "budget_fen", "validation_failed"),
        ({"budget_fen": 100.5}, "budget_fen", "validation_failed"),
        ({"budget_fen": "100"}, "budget_fen", "validation_failed"),
        ({"episodes": "ten"}, "episodes", "validation_failed"),
        ({"direction": "not-a-direction"}, "direction", "validation_failed"),
        ({"is_online": "perhaps"}, "is_online", "validation_failed"),
        ({"unexpected": 1}, "unexpected", "validation_failed"),
        ({"requested_fen": 200000}, "__all__", "validation_failed"),
    ],
)
def test_invalid_work_is_refused_with_field_message_and_nothing_saved(
    client, session, token_for, change, field, code
):
    headers = token_for("prod-hz")
    before = _counts(session)
    body = {**GOOD, **change}
    body = {k: v for k, v in body.items() if v is not None}
    r = client.post("/api/v1/works", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code
    assert field in r.json()["fields"]
    assert all(
        "\u4e00" <= ch <= "\u9fff" for ch in r.json()["fields"][field][:1]
    )  # Chinese message
    assert _counts(session) == before


def test_missing_required_fields_are_all_listed(client, token_for):
    r = client.post("/api/v1/works", json={"title": "只有标题"}, headers=token_for("prod-hz"))
    assert r.status_code == 422
    assert {"direction", "genre", "episodes", "synopsis", "director"} <= set(r.json()["fields"])


def test_patch_that_breaks_the_whole_is_refused_and_leaves_the_work_unchanged(
    client, session, token_for
):
    producer = session.exec(select(User).where(User.username == "prod-hz")).one()
    work = create_work(session, producer, WorkCreate(**GOOD))
    session.commit()
    r = client.patch(
        f"/api/v1/works/{work.id}",
        json={"requested_fen": work.budget_fen + 1},
        headers=token_for("prod-hz"),
    )
    assert r.status_code == 422
    session.rollback()  # end the read snapshot (SQLite WAL) before looking again
    assert session.get(Work, work.id).requested_fen == work.requested_fen


@pytest.mark.parametrize("value", ["91330106MA2H3XK5PD", "12345", "", "91330106MA2H3XK5PC!"])
def test_invalid_uscc_is_refused(value):
    with pytest.raises(ValidationFailed) as err:
        normalise_uscc(value)
    assert "uscc" in err.value.fields


def test_valid_uscc_is_accepted():
    assert normalise_uscc("91330106MA2H3XK5PC") == "91330106MA2H3XK5PC"


def test_token_of_a_deleted_user_stops_working(client, session, token_for):
    headers = token_for("prod-cd")
    assert client.get("/api/v1/works", headers=headers).status_code == 200
    user = session.exec(select(User).where(User.username == "prod-cd")).one()
    delete_user(session, user, actor="test")
    session.commit()
    r = client.get("/api/v1/works", headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "token_invalid"


def test_form_post_without_csrf_token_is_refused_and_nothing_saved(client, session):
    before = _counts(session)
    assert client_login(client, "prod-hz").status_code == 303
    r = client.post("/works/new", data={"title": "无令牌", "genre": "x"})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    assert _counts(session)[0] == before[0]


def test_repeated_failed_logins_are_throttled_per_account(client):
    for _ in range(5):
        r = client.post("/api/v1/auth/token", data={"username": "prod-hz", "password": "wrong"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", data={"username": "prod-hz", "password": "jingpin-demo"})
    assert r.status_code == 429 and r.json()["code"] == "too_many_attempts"
    assert "Retry-After" in r.headers


def test_wrong_types_in_path_are_a_clear_422(client, token_for):
    r = client.get("/api/v1/works/abc", headers=token_for("prod-hz"))
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"


def test_unknown_page_is_a_json_404_for_programs(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_amounts_beyond_32_bits_are_stored_exactly(client, token_for):
    big = 3_000_000_000  # ¥30,000,000.00 in 分
    r = client.post(
        "/api/v1/works",
        json={**GOOD, "budget_fen": big, "requested_fen": big - 1},
        headers=token_for("prod-hz"),
    )
    assert r.status_code == 201, r.text
    again = client.get(f"/api/v1/works/{r.json()['id']}", headers=token_for("prod-hz")).json()
    assert (again["budget_fen"], again["requested_fen"]) == (big, big - 1)
