"""拒签 and 作废 (issue 15.1): a party that has already signed cannot decline; decline needs a
reason and the signing password; voiding a partly signed agreement is the ministry's act, with a
reason, in the audit log. Through the API and through the pages."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from tests.agreements.conftest import fresh_work, sign
from tests.conftest import DEMO_PASSWORD
from tests.web.helpers import csrf, login


def _new_agreement(client: Any, token_for: Any, session: Session) -> int:
    wid = fresh_work(session)
    r = client.post("/api/v1/agreements", json={"work_id": wid}, headers=token_for("ministry"))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _status(client: Any, token_for: Any, aid: int) -> str:
    return str(
        client.get(f"/api/v1/agreements/{aid}", headers=token_for("ministry")).json()["status"]
    )


def _actions(session: Session, aid: int) -> list[str]:
    from backend.audit_log.models import AuditEvent

    session.commit()
    return [
        e.action
        for e in session.exec(
            select(AuditEvent).where(
                AuditEvent.object_type == "agreement", AuditEvent.object_id == str(aid)
            )
        ).all()
    ]


def test_a_party_that_signed_cannot_decline_through_the_api(
    pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    aid = _new_agreement(client, token_for, session)
    for user in ("prod-hz", "unit-zj"):
        assert sign(client, token_for(user), aid).status_code == 200
    for user in ("prod-hz", "unit-zj"):
        r = client.post(
            f"/api/v1/agreements/{aid}/decline",
            json={"reason": "不想签了", "password": DEMO_PASSWORD},
            headers=token_for(user),
        )
        assert r.status_code == 409 and r.json()["code"] == "already_signed", r.text
    assert _status(client, token_for, aid) == "signing"
    assert "agreement.declined" not in _actions(session, aid)


def test_decline_needs_the_password_and_a_reason(
    pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    aid = _new_agreement(client, token_for, session)
    url = f"/api/v1/agreements/{aid}/decline"
    no_password = client.post(url, json={"reason": "金额有误"}, headers=token_for("prod-hz"))
    assert no_password.status_code == 422
    wrong = client.post(
        url, json={"reason": "金额有误", "password": "wrong"}, headers=token_for("prod-hz")
    )
    assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_password"
    blank = client.post(
        url, json={"reason": "  ", "password": DEMO_PASSWORD}, headers=token_for("prod-hz")
    )
    assert blank.status_code == 422 and "reason" in blank.json()["fields"]
    assert _status(client, token_for, aid) == "open"
    ok = client.post(
        url, json={"reason": "金额有误", "password": DEMO_PASSWORD}, headers=token_for("prod-hz")
    )
    assert ok.status_code == 200 and ok.json()["status"] == "declined", ok.text
    assert ok.json()["decline_reason"] == "金额有误"


def test_only_the_ministry_voids_a_partly_signed_agreement_with_a_reason(
    pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    aid = _new_agreement(client, token_for, session)
    assert sign(client, token_for("prod-hz"), aid).status_code == 200
    url = f"/api/v1/agreements/{aid}/void"
    for user in ("prod-hz", "unit-zj", "finance-a"):
        r = client.post(url, json={"reason": "文本有误"}, headers=token_for(user))
        assert r.status_code == 403, (user, r.text)
    assert client.post(url, json={"reason": ""}, headers=token_for("ministry")).status_code == 422
    assert _status(client, token_for, aid) == "signing"
    r = client.post(url, json={"reason": "协议文本有误，重新生成"}, headers=token_for("ministry"))
    assert r.status_code == 200 and r.json()["status"] == "voided", r.text
    assert "agreement.voided" in _actions(session, aid)
    again = client.post(url, json={"reason": "再次"}, headers=token_for("ministry"))
    assert again.status_code == 409


def test_a_fully_signed_agreement_cannot_be_voided(
    pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    aid = _new_agreement(client, token_for, session)
    for user in ("prod-hz", "unit-zj", "ministry"):
        assert sign(client, token_for(user), aid).status_code == 200
    r = client.post(
        f"/api/v1/agreements/{aid}/void", json={"reason": "x"}, headers=token_for("ministry")
    )
    assert r.status_code == 409 and r.json()["code"] == "agreement_fully_signed"


def test_the_page_offers_decline_only_to_unsigned_parties_and_confirms_first(
    pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    aid = _new_agreement(client, token_for, session)
    assert sign(client, token_for("prod-hz"), aid).status_code == 200
    # 乙 signed: the page shows the block and its reason, no decline form anywhere
    login(client, "prod-hz")
    page = client.get(f"/agreements/{aid}").text
    assert 'id="decline-blocked"' in page and "乙方已签署，不能再拒签" in page
    assert f'action="/agreements/{aid}/decline"' not in page
    confirm = client.get(f"/agreements/{aid}/decline").text
    assert 'id="blocked"' in confirm and "<textarea" not in confirm
    token = csrf(client)
    r = client.post(
        f"/agreements/{aid}/decline",
        data={"csrf_token": token, "reason": "x", "password": DEMO_PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "error=" in r.headers["location"]
    assert _status(client, token_for, aid) == "signing"
    # 丙 has not signed: a link to the confirmation page, which asks for reason + password
    login(client, "unit-zj")
    page = client.get(f"/agreements/{aid}").text
    assert f'href="/agreements/{aid}/decline"' in page and "<textarea" not in page
    confirm = client.get(f"/agreements/{aid}/decline").text
    assert "此操作不可撤销" in confirm and 'name="password"' in confirm
    token = csrf(client)
    wrong = client.post(
        f"/agreements/{aid}/decline",
        data={"csrf_token": token, "reason": "金额有误", "password": "nope"},
        follow_redirects=False,
    )
    assert wrong.status_code == 303 and "error=" in wrong.headers["location"]
    assert _status(client, token_for, aid) == "signing"
    ok = client.post(
        f"/agreements/{aid}/decline",
        data={"csrf_token": token, "reason": "金额有误", "password": DEMO_PASSWORD},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and "error=" not in ok.headers["location"]
    assert _status(client, token_for, aid) == "declined"


def test_the_ministry_voids_from_the_page_after_a_confirmation(
    pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    aid = _new_agreement(client, token_for, session)
    assert sign(client, token_for("prod-hz"), aid).status_code == 200
    login(client, "prod-hz")
    assert client.get(f"/agreements/{aid}/void").status_code == 403
    login(client, "ministry")
    page = client.get(f"/agreements/{aid}").text
    assert f'href="/agreements/{aid}/void"' in page
    confirm = client.get(f"/agreements/{aid}/void").text
    assert "作废理由" in confirm and "乙方" in confirm
    r = client.post(
        f"/agreements/{aid}/void",
        data={"csrf_token": csrf(client), "reason": "文本有误"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "error=" not in r.headers["location"]
    assert _status(client, token_for, aid) == "voided"
    assert "agreement.voided" in _actions(session, aid)


def test_the_agreement_page_speaks_plainly_with_digests_one_click_away(
    pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    import re

    aid = _new_agreement(client, token_for, session)
    assert sign(client, token_for("prod-hz"), aid).status_code == 200
    login(client, "prod-hz")
    page = client.get(f"/agreements/{aid}").text
    visible = re.sub(r"<details.*?</details>", "", page, flags=re.S)
    visible = re.sub(r"<[^>]+>", " ", visible)
    for word in ("agreement.sign", "agreement.create", "SHA-256", "signing", "prod-hz"):
        assert word not in visible, word
    assert 'id="file-digests"' in page and 'id="history"' in page
    assert "签署三方协议" in page  # the history in Chinese, behind its toggle


def test_agreement_pages_are_served_as_images_rendered_once(
    pool: Any, client: Any, token_for: Any, session: Session, env: dict[str, Any]
) -> None:
    aid = _new_agreement(client, token_for, session)
    login(client, "prod-hz")
    page = client.get(f"/agreements/{aid}").text
    assert f'src="/agreements/{aid}/pages/1.png"' in page
    first = client.get(f"/agreements/{aid}/pages/1.png")
    assert first.status_code == 200 and first.content.startswith(b"\x89PNG")
    cache = env["data_dir"] / "page-images"
    [folder] = list(cache.iterdir())
    rendered = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert client.get(f"/agreements/{aid}/pages/1.png").content == first.content
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == rendered  # not re-rendered
    assert client.get(f"/agreements/{aid}/pages/999.png").status_code == 404
    login(client, "prod-cd")
    assert client.get(f"/agreements/{aid}/pages/1.png").status_code == 404
