"""What funding does when other domains announce something (installed by backend.wiring)."""

from __future__ import annotations

from sqlmodel import Session

from backend.agreements.events import AgreementFullySigned
from backend.core import events
from backend.funding.service import open_gates_for_signature


def _open_first_gate(session: Session, event: AgreementFullySigned) -> None:
    open_gates_for_signature(session, event.agreement, event.audit_event, event.actor)


def install() -> None:
    events.subscribe(AgreementFullySigned, _open_first_gate)
