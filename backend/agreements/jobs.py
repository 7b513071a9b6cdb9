"""The `sign-finalise` queue (JINGPIN_QUEUE=postgres): after the last signature, a worker
verifies the agreement, stores its archive form (PAdES B-LTA) and records ``fully_signed``.

The signing request commits the signature with the agreement 待归档 (``finalising``) and this
job in the same transaction (service.finish_signing). The job holds the agreement's lock
(``agreement:<id>``) and its row lock; it finalises only an agreement still ``finalising``, so a
retried or duplicated run changes nothing the first one committed. A verdict that the signed
file does not verify is final (``finalise_failed`` with the reason in the audit log); anything
else (no archive form now: a CRL, the TSA; the database, the object store) raises and
procrastinate retries with backoff.
"""

from __future__ import annotations

import logging

from sqlmodel import select

from backend.agreements import service
from backend.agreements.models import Agreement, AgreementStatus
from backend.auth.models import User
from backend.core import jobs
from backend.core.db import session_scope
from backend.core.errors import Conflict
from backend.documents.models import Document, DocumentFormat, SubjectType
from backend.documents.store import get_store

log = logging.getLogger(__name__)


@jobs.task(service.FINALISE_TASK, queue="sign-finalise", priority=5, max_attempts=6, wait_base=2)
def finalise_agreement(agreement_id: int, actor_id: int) -> None:
    """``actor_id``: the last signer, in whose name fully_signed is recorded (as in the request)."""
    with session_scope() as session:
        ag = session.exec(
            select(Agreement).where(Agreement.id == agreement_id).with_for_update()
        ).first()
        if ag is None or ag.status != AgreementStatus.finalising:
            log.info("agreement %s is not waiting to be finalised: nothing to do", agreement_id)
            return
        actor = session.get(User, actor_id)
        assert actor is not None and ag.current_pdf_sha256
        doc = session.exec(
            select(Document).where(
                Document.sha256 == ag.current_pdf_sha256,
                Document.format == DocumentFormat.pdf.value,
                Document.subject_type == SubjectType.agreement.value,
                Document.subject_id == ag.id,
            )
        ).first()
        assert doc is not None
        signed = get_store().get(ag.current_pdf_sha256)
        try:
            with session.begin_nested():
                service.finalise(session, ag, actor, signed, doc)
        except Conflict as failure:
            if failure.code != "verification_failed":
                raise  # archive_failed: a CRL or the TSA now; retried with backoff
            session.refresh(ag)
            service.finalise_failed(session, ag, actor, failure)
