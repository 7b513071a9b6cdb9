"""What the agreements domain announces (backend.core.events); higher domains subscribe."""

from __future__ import annotations

from dataclasses import dataclass

from backend.agreements.models import Agreement
from backend.audit_log.models import AuditEvent
from backend.auth.models import User


@dataclass(frozen=True)
class AgreementFullySigned:
    """The last party signed and the final verification passed (TOTAL_PASSED, three
    signatures); ``audit_event`` is the ``agreement.fully_signed`` entry that records it."""

    agreement: Agreement
    audit_event: AuditEvent
    actor: User
