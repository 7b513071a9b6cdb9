"""Access matrix: every role × every works endpoint × own vs foreign record."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, func, select

from backend.audit_log.models import AuditEvent
from backend.auth.models import User
from backend.works.models import Work, WorkStatus
from backend.works.schemas import WorkCreate
from backend.works.service import create_work

ROLES = [
    "prod-hz",
    "prod-cd",
    "unit-zj",
    "unit-sc",
    "ministry",
    "expert1",
    "finance-a",
    "auditor",
    "admin",
]

NEW_WORK = {
    "title": "测试作品",
    "direction": "new_era",
    "genre": "现实题材",
    "episodes": 10,
    "minutes_per_episode": 2.5,
    "synopsis": "简介",
    "director": "甲",
    "screenwriter": "乙",
    "producer_name": "丙",
    "budget_fen": 100,
    "requested_fen": 50,
}


def _hz_work(session, status: WorkStatus, title: str = "矩阵测试作品") -> int:
    """A new Zhejiang work of prod-hz, assigned to no expert, put into the given status."""
    producer = session.exec(select(User).where(User.username == "prod-hz")).one()
    work = create_work(session, producer, WorkCreate(**{**NEW_WORK, "title": title}))
    work.status = status
    session.add(work)
    session.commit()
    return work.id


# Expected status per role for a Zhejiang producer's work that has left the drafts.
READ_SUBMITTED = {
    "prod-hz": 200,
    "prod-cd": 404,
    "unit-zj": 200,
    "unit-sc": 404,
    "ministry": 200,
    "expert1": 404,
    "finance-a": 200,
    "auditor": 200,
    "admin": 200,
}
# Drafts stay with the producer (and the admin).
READ_DRAFT = {**{r: 404 for r in ROLES}, "prod-hz": 200, "admin": 200}
# PATCH of a returned (editable) work: owner 200; in scope but not the owner 403; else 404.
PATCH_RETURNED = {
    "prod-hz": 200,
    "prod-cd": 404,
    "unit-zj": 403,
    "unit-sc": 404,
    "ministry": 403,
    "expert1": 404,
    "finance-a": 403,
    "auditor": 403,
    "admin": 403,
}
CREATE = {**{r: 403 for r in ROLES}, "prod-hz": 201, "prod-cd": 201}


@pytest.mark.parametrize("role", ROLES)
def test_reading_a_submitted_work_follows_role_and_organisation_scope(
    client, session, token_for, role
):
    work_id = _hz_work(session, WorkStatus.submitted)
    assert (
        client.get(f"/api/v1/works/{work_id}", headers=token_for(role)).status_code
        == READ_SUBMITTED[role]
    )


@pytest.mark.parametrize("role", ROLES)
def test_a_draft_is_visible_only_to_its_producer_and_admin(client, session, token_for, role):
    work_id = _hz_work(session, WorkStatus.draft)
    assert (
        client.get(f"/api/v1/works/{work_id}", headers=token_for(role)).status_code
        == READ_DRAFT[role]
    )


def _state(session, work_id: int | None = None) -> tuple[dict | None, set[int], int]:
    """(the work's columns, the ids of all works, the last audit event's seq), read afresh."""
    with Session(session.get_bind()) as s:
        work = s.get(Work, work_id) if work_id is not None else None
        return (
            work.model_dump() if work is not None else None,
            set(s.exec(select(Work.id)).all()),
            s.exec(select(func.max(AuditEvent.seq))).one() or 0,
        )


def _events_after(session, seq: int) -> list[AuditEvent]:
    with Session(session.get_bind()) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.seq > seq)).all())


@pytest.mark.parametrize("role", ROLES)
def test_patching_a_work_is_for_its_producer_only_404_before_403(client, session, token_for, role):
    work_id = _hz_work(session, WorkStatus.returned)
    headers = token_for(role)  # logging in may write its own audit event
    before, works, seq = _state(session, work_id)
    assert before is not None and before["genre"] != "都市"
    r = client.patch(f"/api/v1/works/{work_id}", json={"genre": "都市"}, headers=headers)
    assert r.status_code == PATCH_RETURNED[role], r.text
    after, works_after, _ = _state(session, work_id)
    assert works_after == works
    events = _events_after(session, seq)
    if r.status_code == 200:
        assert r.json()["genre"] == "都市"
        assert after == {**before, "genre": "都市", "updated_at": after["updated_at"]}
        assert after["updated_at"] > before["updated_at"]
        assert [(e.action, e.actor, e.object_id) for e in events] == [
            ("work.update", role, str(work_id))
        ]
        assert json.loads(events[0].payload) == {"genre": "都市"}
    else:
        assert after == before and events == []


@pytest.mark.parametrize("role", ROLES)
def test_only_producers_create_works(client, session, token_for, role):
    headers = token_for(role)
    _, works, seq = _state(session)
    r = client.post("/api/v1/works", json=NEW_WORK, headers=headers)
    assert r.status_code == CREATE[role], r.text
    _, works_after, _ = _state(session)
    events = _events_after(session, seq)
    if r.status_code == 201:
        new_id = r.json()["id"]
        assert works_after == works | {new_id} and new_id not in works
        created, _, _ = _state(session, new_id)
        caller = session.exec(select(User).where(User.username == role)).one()
        assert created is not None
        assert {k: created[k] for k in NEW_WORK} == NEW_WORK
        assert created["organisation_id"] == caller.organisation_id
        assert created["created_by"] == caller.id and created["status"] == WorkStatus.draft
        assert [(e.action, e.actor, e.object_id) for e in events] == [
            ("work.create", role, str(new_id))
        ]
    else:
        assert works_after == works and events == []


@pytest.mark.parametrize("role", ROLES)
def test_work_list_contains_only_what_the_role_may_see(client, session, token_for, role):
    _hz_work(session, WorkStatus.submitted, title="已提交的矩阵作品")
    _hz_work(session, WorkStatus.draft, title="草稿矩阵作品")
    titles = {w["title"] for w in client.get("/api/v1/works", headers=token_for(role)).json()}
    assert ("已提交的矩阵作品" in titles) is (READ_SUBMITTED[role] == 200)
    assert ("草稿矩阵作品" in titles) is (role in ("prod-hz", "admin"))


def test_every_endpoint_refuses_anonymous_callers(client):
    for method, path in [
        ("get", "/api/v1/works"),
        ("get", "/api/v1/works/1"),
        ("post", "/api/v1/works"),
        ("patch", "/api/v1/works/1"),
        ("get", "/api/v1/auth/me"),
    ]:
        r = getattr(client, method)(path)
        assert r.status_code == 401, (method, path)
        assert r.json()["code"] == "not_authenticated"


def test_editing_a_submitted_work_is_a_conflict(client, session, token_for):
    work_id = _hz_work(session, WorkStatus.submitted)
    r = client.patch(
        f"/api/v1/works/{work_id}", json={"genre": "都市"}, headers=token_for("prod-hz")
    )
    assert r.status_code == 409 and r.json()["code"] == "work_frozen"


# Administration pages (issue 15.6): the admin only. An organisation the role may not see at
# all is 404 (its own, or any for the seal readers — ministry, auditor — is 403).
ADMIN_LIST = {**{r: 403 for r in ROLES}, "admin": 200}
HZ_ORG_ADMIN = {
    **{r: 404 for r in ROLES},
    "prod-hz": 403,
    "ministry": 403,
    "auditor": 403,
    "admin": 200,
}


@pytest.mark.parametrize("role", ROLES)
def test_organisation_and_reset_administration_is_for_the_admin_404_before_403(
    client, session, token_for, role
):
    from backend.orgs.models import Organisation
    from backend.pki.service import usable_seal

    producer = session.exec(select(User).where(User.username == "prod-hz")).one()
    org_id = producer.organisation_id
    headers = {**token_for(role), "accept": "text/html"}
    assert client.get("/admin/organisations", headers=headers).status_code == ADMIN_LIST[role]
    assert client.get("/admin/reset-requests", headers=headers).status_code == ADMIN_LIST[role]
    assert client.get("/admin/organisations/999999", headers=headers).status_code == 404
    detail = client.get(f"/admin/organisations/{org_id}", headers=headers)
    assert detail.status_code == HZ_ORG_ADMIN[role]
    if role == "admin":
        return
    _, _, seq = _state(session)
    revoke = client.post(
        f"/admin/organisations/{org_id}/certificates/revoke",
        data={"algorithm": "ecdsa", "reason": "key_compromise", "confirmed": "1"},
        headers=headers,
    )
    assert revoke.status_code == HZ_ORG_ADMIN[role]
    with Session(session.get_bind()) as fresh:
        usable_seal(fresh.get(Organisation, org_id))  # still signs
    assert _events_after(session, seq) == []
