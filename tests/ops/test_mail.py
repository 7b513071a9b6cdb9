"""E-mail: notifications delivered over real SMTP (aiosmtpd on loopback), reminders."""

from __future__ import annotations

import email
import email.policy
import socket
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from backend.auth.models import User
from backend.core.db import get_engine, session_scope, utcnow
from backend.workflow import notifications as notes
from backend.workflow.models import Notification, OutboxMessage
from tests.agreements.conftest import (
    fresh_work,
    pool,  # noqa: F401  (fixture)
    sign,
)
from tests.funding.conftest import funded_agreement, milestones, post


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    from backend.core.config import get_settings

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("JINGPIN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JINGPIN_SMTP_PORT", str(port))
    monkeypatch.setenv("JINGPIN_BASE_URL", "https://jingpin.example.cn")
    get_settings.cache_clear()
    yield inbox
    controller.stop()


def user(session: Session, username: str, **changes: Any) -> User:
    u = session.exec(select(User).where(User.username == username)).one()
    for k, v in changes.items():
        setattr(u, k, v)
    session.add(u)
    session.flush()
    return u


def test_a_notification_arrives_as_chinese_mail_with_plain_and_html_parts(smtp):
    with session_scope() as s:
        u = user(s, "prod-hz", email="hz@example.cn")
        notes.notify(
            s, [u], "三方协议待您签署", "《西湖边的修伞人》三方协议轮到乙方签署。", "/agreements/1"
        )
    assert len(smtp.messages) == 1
    to, msg = smtp.messages[0]
    assert to == ["hz@example.cn"]
    assert msg["Subject"] == "【微短剧精品创作传播计划】三方协议待您签署"
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "轮到乙方签署" in plain and "https://jingpin.example.cn/agreements/1" in plain
    assert "轮到乙方签署" in html and 'href="https://jingpin.example.cn/agreements/1"' in html
    with Session(get_engine()) as s:
        row = s.exec(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert row.sent_at is not None and row.attempts == 1


def test_without_an_own_address_mail_goes_to_the_organisations_contact(smtp):
    from backend.orgs.models import Organisation

    with session_scope() as s:
        u = user(s, "prod-hz", email=None)
        org = s.get(Organisation, u.organisation_id)
        org.contact_email = "office@example.cn"
        s.add(org)
        notes.notify(s, [u], "入选通知")
    assert [to for to, _ in smtp.messages] == [["office@example.cn"]]


def test_a_rolled_back_transaction_sends_no_mail(smtp):
    with pytest.raises(RuntimeError), session_scope() as s:
        notes.notify(s, [user(s, "prod-hz", email="hz@example.cn")], "不会发送")
        raise RuntimeError("the request failed")
    assert smtp.messages == []


def test_opt_out_stops_reminders_but_not_mandatory_mail(smtp):
    with session_scope() as s:
        u = user(s, "prod-hz", email="hz@example.cn", mail_opt_out=True)
        notes.notify(s, [u], "提醒：请签署", mandatory=False)
        notes.notify(s, [u], "已退回修改")
    assert [m["Subject"] for _, m in smtp.messages] == ["【微短剧精品创作传播计划】已退回修改"]
    with Session(get_engine()) as s:  # the reminder is still on the site
        titles = s.exec(select(Notification.title).where(Notification.user_id == u.id)).all()
        assert "提醒：请签署" in titles


def test_an_unreachable_smtp_server_is_recorded_on_the_outbox_row(env, monkeypatch):
    from backend.core.config import get_settings

    monkeypatch.setenv("JINGPIN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JINGPIN_SMTP_PORT", str(free_port()))
    get_settings.cache_clear()
    with session_scope() as s:
        notes.notify(s, [user(s, "prod-hz", email="hz@example.cn")], "发送失败的邮件")
    with Session(get_engine()) as s:
        row = s.exec(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert row.sent_at is None and row.attempts == 1
        assert "ConnectionRefused" in row.last_error


def test_daily_reminders_mail_the_party_whose_signature_is_overdue(smtp):
    from backend.agreements.models import Agreement
    from backend.core.dates import today_shanghai
    from backend.funding.reminders import send_reminders

    with session_scope() as s:
        waiting = s.exec(select(Agreement).where(Agreement.next_party == "yi")).first()
        assert waiting is not None
        waiting.updated_at = utcnow() - timedelta(days=5)
        s.add(waiting)
        user(s, "prod-hz", email="hz@example.cn")
        sent = send_reminders(s, today=today_shanghai(), now=utcnow())
    assert sent.signatures >= 1
    subjects = [(to, m["Subject"]) for to, m in smtp.messages]
    assert any(to == ["hz@example.cn"] and "等待乙方签署" in subj for to, subj in subjects)


def test_reminders_tell_units_that_the_half_month_ends_in_three_days(smtp):
    from datetime import date

    from backend.funding.reminders import send_reminders

    with session_scope() as s:
        user(s, "unit-zj", email="zj@example.cn")
        sent = send_reminders(s, today=date(2026, 7, 12), now=utcnow())
    assert sent.filings_due >= 1
    assert any(
        to == ["zj@example.cn"] and "2026年7月上半月推进表将于7月15日截止统计" in m["Subject"]
        for to, m in smtp.messages
    )


def _turns(smtp: Inbox) -> list[tuple[list[str], str]]:
    return [(to, str(m["Subject"])) for to, m in smtp.messages if "三方协议轮到" in m["Subject"]]


@pytest.mark.usefixtures("pool")
def test_each_party_is_mailed_when_it_is_their_turn_to_sign(smtp, client, token_for):
    with session_scope() as s:
        for name in ("prod-hz", "unit-zj", "ministry"):
            user(s, name, email=f"{name}@example.cn")
    with Session(get_engine()) as s:
        wid = fresh_work(s)
    r = client.post("/api/v1/agreements", json={"work_id": wid}, headers=token_for("ministry"))
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    subject = "【微短剧精品创作传播计划】《西湖边的修伞人》三方协议轮到{}签署"
    assert _turns(smtp) == [(["prod-hz@example.cn"], subject.format("乙方"))]
    plain = smtp.messages[-1][1].get_body(("plain",)).get_content()
    assert f"https://jingpin.example.cn/agreements/{aid}" in plain
    assert sign(client, token_for("prod-hz"), aid).status_code == 200
    assert _turns(smtp)[1:] == [(["unit-zj@example.cn"], subject.format("丙方"))]
    assert sign(client, token_for("unit-zj"), aid).status_code == 200
    assert _turns(smtp)[2:] == [(["ministry@example.cn"], subject.format("甲方"))]
    assert sign(client, token_for("ministry"), aid).status_code == 200
    assert len(_turns(smtp)) == 3  # fully signed: nobody's turn any more


def test_the_requester_is_mailed_when_a_disbursement_is_approved_and_paid(
    smtp, session, client, token_for
):
    ag = funded_agreement(session)
    m1 = milestones(session, ag.id)[0]
    with session_scope() as s:
        user(s, "finance-a", email="fa@example.cn")
    d = post(
        client, "/api/v1/disbursements", token_for("finance-a"),
        {"milestone_id": m1.id, "amount_fen": 1_234_00},
    ).json()["id"]  # fmt: skip
    assert smtp.messages == []  # a request mails nobody yet
    assert post(client, f"/api/v1/disbursements/{d}/approve", token_for("finance-b")).is_success
    pay = {"voucher_no": "PZ-17", "bank_reference": "BR-17"}
    assert post(client, f"/api/v1/disbursements/{d}/pay", token_for("finance-b"), pay).is_success
    got = [(to, str(m["Subject"])) for to, m in smtp.messages]
    assert got == [
        (["fa@example.cn"], f"【微短剧精品创作传播计划】拨付申请已审批：{ag.number} ¥1,234.00"),
        (["fa@example.cn"], f"【微短剧精品创作传播计划】拨付已完成：{ag.number} ¥1,234.00"),
    ]
    plain = smtp.messages[1][1].get_body(("plain",)).get_content()
    assert "凭证号 PZ-17" in plain
    assert f"https://jingpin.example.cn/finance/agreements/{ag.id}" in plain
