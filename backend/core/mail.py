"""E-mail over SMTP: one message with a plain-text and an HTML part, in Chinese.

Configured by JINGPIN_SMTP_HOST (unset: no mail leaves the system; notifications stay in the
site and in the outbox). The `mail` queue's task (backend.workflow.mail) calls `send`; a failure
raises so the queue retries it with backoff.
"""

from __future__ import annotations

import html
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from backend.core.config import get_settings


class MailNotConfigured(RuntimeError):
    pass


def build(*, to: str, subject: str, text: str, message_id: str | None = None) -> EmailMessage:
    s = get_settings()
    msg = EmailMessage()
    msg["From"] = formataddr((s.smtp_from_name, s.smtp_from))
    msg["To"] = to
    msg["Subject"] = subject
    # A stable id per outbox row: a resend after a crash is recognisable as the same message.
    msg["Message-ID"] = message_id or make_msgid(domain=s.smtp_from.rsplit("@", 1)[-1])
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(_html(subject, text), subtype="html", charset="utf-8")
    return msg


def _html(subject: str, text: str) -> str:
    paragraphs = "".join(
        f"<p>{'<br>'.join(_linked(line) for line in para.splitlines())}</p>"
        for para in text.split("\n\n")
        if para.strip()
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>"
        '<body style="font-family: sans-serif; line-height: 1.6">'
        f"{paragraphs}"
        '<p style="color:#666;font-size:12px">本邮件由微短剧精品创作传播计划管理系统自动发送，'
        "请勿直接回复。</p></body></html>"
    )


def _linked(line: str) -> str:
    escaped = html.escape(line)
    if line.startswith(("http://", "https://")) and " " not in line:
        return f'<a href="{escaped}">{escaped}</a>'
    return escaped


def configured() -> bool:
    return bool(get_settings().smtp_host)


def send(msg: EmailMessage) -> None:
    s = get_settings()
    if not s.smtp_host:
        raise MailNotConfigured("JINGPIN_SMTP_HOST is not set")
    with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds) as smtp:
        if s.smtp_starttls:
            smtp.starttls()
        if s.smtp_user:
            smtp.login(s.smtp_user, s.secret("smtp_password"))
        smtp.send_message(msg)
