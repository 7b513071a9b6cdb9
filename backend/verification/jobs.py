"""The `verify` queue (JINGPIN_QUEUE=postgres): an auditor's large upload is verified by a
worker (service.goes_to_queue decides), the result written where every app host reads it.

The request stores the file in the object store, marks the uploader's result pending and defers
this job in one transaction (service.queue_verification). The job verifies only while that row
still waits for this upload (same file, same validation time): a retried or duplicated run, or a
run overtaken by a newer upload of the same bytes, writes nothing stale. A file the verifier
gives up on (time or memory limit) is a final answer (`failed`); a busy pool or a lost worker
raises and procrastinate retries with backoff.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from backend.core import jobs
from backend.core.db import get_engine, session_scope
from backend.documents.store import get_store
from backend.verification import service
from backend.verification.models import ResultState, VerificationResultRow
from backend.verification.worker import VerificationAborted


def _waiting(row: VerificationResultRow | None, at: dt.datetime | None) -> bool:
    """The row still waits for this upload (aware datetimes compare as instants)."""
    return row is not None and row.state == ResultState.pending and row.verify_at == at


@jobs.task(service.VERIFY_TASK, queue="verify", priority=0, max_attempts=4, wait_base=2)
def verify_file(
    actor_id: int, file_sha256: str, at: str | None = None, download_path: str = ""
) -> None:
    """``download_path`` is where the uploader fetches the result (the jobs API shows it)."""
    when = dt.datetime.fromisoformat(at) if at else None
    with Session(get_engine()) as session:
        row = service.own_result(session, actor_id, file_sha256)
        if not _waiting(row, when):
            return
        assert row is not None and row.source_sha256
        filename = row.file_name
        data = get_store().get(row.source_sha256)
    # Outside any transaction: a large file can take the worker's whole time limit.
    try:
        report = service.verify_in_pool(data, when)
    except VerificationAborted as exc:
        with session_scope() as session:
            row = service.own_result(session, actor_id, file_sha256)
            if _waiting(row, when):
                assert row is not None
                row.state, row.error = ResultState.failed.value, exc.message
                session.add(row)
        return
    with session_scope() as session:
        row = service.own_result(session, actor_id, file_sha256)
        if not _waiting(row, when):
            return
        result = service.result_body(session, report, data, filename)
        service.remember(session, actor_id, result, data)
