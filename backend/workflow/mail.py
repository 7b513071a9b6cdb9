"""The `mail` queue: deliver one outbox message over SMTP (backend.core.mail).

Idempotent per outbox row: a message already marked sent is not sent again. A failure is
recorded on the row (attempts, last error) and raised, so the queue retries with backoff.
Delivery is at least once: a crash between the SMTP reply and the commit resends the same
Message-ID, which mail clients treat as one message.
"""

from __future__ import annotations

from sqlmodel import Session

from backend.core import jobs, mail
from backend.core.db import get_engine, session_scope, utcnow
from backend.workflow.models import OutboxMessage


@jobs.task("mail.send", queue="mail", priority=0, max_attempts=8, wait_base=5)
def send_outbox_message(outbox_id: int) -> None:
    with Session(get_engine()) as session:
        message = session.get(OutboxMessage, outbox_id)
        if message is None or message.sent_at is not None or not message.to_address:
            return
        email = mail.build(
            to=message.to_address,
            subject=message.subject,
            text=message.body,
            message_id=f"<outbox-{message.id}-{message.created_at:%Y%m%d%H%M%S}@jingpin>",
        )
    try:
        mail.send(email)
    except Exception as exc:
        with session_scope() as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is not None:
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:500]
                session.add(row)
        raise
    with session_scope() as session:
        row = session.get(OutboxMessage, outbox_id)
        if row is not None:
            row.attempts += 1
            row.sent_at = utcnow()
            row.last_error = ""
            session.add(row)
