"""站内通知 and the mail outbox: tell the next actor what waits for them.

`notify` writes one Notification per recipient and one OutboxMessage, and defers its delivery
on the `mail` queue (backend.workflow.mail) in the same transaction, so a rolled-back
transaction sends nothing. A user who opted out gets no mail for what is not `mandatory`."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from backend.auth.models import Role, User
from backend.core import jobs, mail
from backend.core.config import get_settings
from backend.core.db import utcnow
from backend.core.errors import NotFound
from backend.orgs.models import Organisation, OrgKind
from backend.workflow.models import Notification, OutboxMessage


def unit_reviewers(session: Session, unit_id: int) -> list[User]:
    return list(
        session.exec(
            select(User)
            .join(Organisation, col(Organisation.id) == col(User.organisation_id))
            .where(
                Organisation.unit_id == unit_id,
                Organisation.kind == OrgKind.unit,
                User.role == Role.unit_reviewer,
                col(User.is_active).is_(True),
            )
        )
    )


def producers(session: Session, organisation_id: int) -> list[User]:
    return list(
        session.exec(
            select(User).where(
                User.organisation_id == organisation_id,
                User.role == Role.producer,
                col(User.is_active).is_(True),
            )
        )
    )


def with_role(session: Session, role: Role) -> list[User]:
    return list(session.exec(select(User).where(User.role == role, col(User.is_active).is_(True))))


def notify(
    session: Session,
    users: Iterable[User],
    title: str,
    body: str = "",
    link: str = "",
    *,
    mandatory: bool = True,
) -> int:
    seen: set[int] = set()
    for user in users:
        if user.id is None or user.id in seen:
            continue
        seen.add(user.id)
        note = Notification(user_id=user.id, title=title[:200], body=body, link=link[:300])
        session.add(note)
        session.flush()
        if user.mail_opt_out and not mandatory:
            continue
        org = session.get(Organisation, user.organisation_id)
        message = OutboxMessage(
            notification_id=note.id,
            to_user_id=user.id,
            to_address=(user.email or (org.contact_email if org else ""))[:100],
            subject=f"【微短剧精品创作传播计划】{title}"[:200],
            body=f"{user.display_name}：\n\n{body or title}\n\n{_absolute(link)}".strip(),
        )
        session.add(message)
        session.flush()
        if message.to_address and mail.configured():
            jobs.defer(session, "mail.send", outbox_id=message.id)
    session.flush()
    return len(seen)


def _absolute(link: str) -> str:
    """Links in mail need the site's address; on the site they stay relative."""
    if link.startswith("/"):
        return get_settings().base_url.rstrip("/") + link
    return link


def unread_count(session: Session, user: User) -> int:
    return session.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, col(Notification.read_at).is_(None))
    ).one()


def list_notifications(session: Session, user: User, limit: int = 100) -> list[Notification]:
    return list(
        session.exec(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(col(Notification.id).desc())
            .limit(limit)
        )
    )


def mark_read(session: Session, user: User, notification_id: int) -> Notification:
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        raise NotFound("未找到该通知", code="notification_not_found")
    if note.read_at is None:
        note.read_at = utcnow()
        session.add(note)
        session.flush()
    return note


def mark_all_read(session: Session, user: User) -> int:
    """全部已读: every unread notification of this user, in one statement; returns how many."""
    result = session.execute(
        update(Notification)
        .where(col(Notification.user_id) == user.id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def pending_mail(session: Session, limit: int = 100) -> list[OutboxMessage]:
    """What a mail sender should send next (oldest first)."""
    return list(
        session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.sent_at).is_(None))
            .order_by(col(OutboxMessage.id))
            .limit(limit)
        )
    )
