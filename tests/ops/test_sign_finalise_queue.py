"""The `sign-finalise` queue (JINGPIN_QUEUE=postgres): the last signature commits the agreement
待归档 with its job; a real procrastinate worker verifies, archives (B-LTA) and records
fully_signed, opening the first gate; a second run changes nothing; a rolled-back signing
leaves no job; a signed file that fails the final verification is kept out of fully_signed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from backend.agreements.models import Agreement, AgreementMilestone, AgreementSignature
from backend.audit_log.models import AuditEvent
from backend.core.db import get_engine
from backend.funding.models import MilestoneGateOpening
from tests.agreements.conftest import fresh_work, sign
from tests.conftest import client_login
from tests.ops.conftest import bearer, run_worker

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def finalise_jobs(s: Session) -> list[tuple[Any, ...]]:
    conn = s.connection().connection.driver_connection
    return conn.execute(
        "SELECT id, queue_name, lock, args, status FROM procrastinate_jobs "
        "WHERE task_name = 'agreements.finalise' ORDER BY id"
    ).fetchall()


def actions(s: Session, aid: int) -> list[str]:
    return list(
        s.exec(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "agreement", AuditEvent.object_id == str(aid))
            .order_by(col(AuditEvent.seq))
        ).all()
    )


def gates_open(s: Session, aid: int) -> int:
    return s.exec(
        select(func.count())
        .select_from(MilestoneGateOpening)
        .join(AgreementMilestone, col(AgreementMilestone.id) == MilestoneGateOpening.milestone_id)
        .where(AgreementMilestone.agreement_id == aid)
    ).one()


def signed_by_two(client: Any) -> int:
    with Session(get_engine()) as s:
        wid = fresh_work(s)
    r = client.post("/api/v1/agreements", json={"work_id": wid}, headers=bearer(client, "ministry"))
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    for user in ("prod-hz", "unit-zj"):
        assert sign(client, bearer(client, user), aid).status_code == 200
    return int(aid)


def test_last_signature_leaves_the_agreement_finalising_until_a_worker_finalises_it(
    queued_client: Any,
) -> None:
    from backend.agreements.jobs import finalise_agreement
    from backend.pki.service import verify_bytes

    aid = signed_by_two(queued_client)
    r = sign(queued_client, bearer(queued_client, "ministry"), aid)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["next_party"], body["fully_signed_at"]) == (
        "finalising",
        None,
        None,
    )
    assert body["status_label"] == "待归档：正在验证并生成长期保存格式"
    with Session(get_engine()) as s:
        ((job_id, queue, lock, args, status),) = finalise_jobs(s)
        assert (queue, lock, status) == ("sign-finalise", f"agreement:{aid}", "todo")
        assert args["agreement_id"] == aid
        assert actions(s, aid)[-2:] == ["agreement.sign", "agreement.finalising"]
        assert gates_open(s, aid) == 0  # no money before the final verification
        signed_sha = s.get(Agreement, aid).current_pdf_sha256  # type: ignore[union-attr]

    # The page shows the progress block and polls it; signing again is refused plainly.
    assert client_login(queued_client, "ministry").status_code == 303
    page = queued_client.get(f"/agreements/{aid}")
    assert f'hx-get="/agreements/{aid}/finalising"' in page.text and "已排队" in page.text
    again = sign(queued_client, bearer(queued_client, "ministry"), aid)
    assert again.status_code == 409 and again.json()["code"] == "agreement_finalising"

    run_worker("sign-finalise")

    with Session(get_engine()) as s:
        ag = s.get(Agreement, aid)
        assert ag is not None and ag.status == "fully_signed" and ag.fully_signed_at
        assert ag.current_pdf_sha256 != signed_sha  # the archive form (B-LTA) is the document
        assert [row[4] for row in finalise_jobs(s)] == ["succeeded"]
        trail = actions(s, aid)
        assert trail[-3:] == [
            "agreement.finalising",
            "agreement.archived",
            "agreement.fully_signed",
        ]
        assert gates_open(s, aid) == 1  # 首期款: funding's hook ran in the worker's transaction
        jia = s.exec(
            select(AgreementSignature).where(
                AgreementSignature.agreement_id == aid, AgreementSignature.party == "jia"
            )
        ).one()
        archived_sha = ag.current_pdf_sha256
    pdf = queued_client.get(
        f"/api/v1/agreements/{aid}/document.pdf", headers=bearer(queued_client, "auditor")
    )
    report = verify_bytes(pdf.content)
    assert report.indication == "TOTAL_PASSED"
    assert [s.kind for s in report.signatures] == ["signature"] * 3 + ["document_timestamp"]

    done = queued_client.get(f"/agreements/{aid}/finalising")
    assert done.headers.get("HX-Refresh") == "true" and "hx-trigger" not in done.text

    # A second run (a retry after a lost acknowledgement) finds nothing left to do.
    finalise_agreement(agreement_id=aid, actor_id=jia.user_id)
    with Session(get_engine()) as s:
        assert actions(s, aid) == trail
        assert s.get(Agreement, aid).current_pdf_sha256 == archived_sha  # type: ignore[union-attr]
        assert gates_open(s, aid) == 1


def test_a_rolled_back_last_signature_leaves_no_job_and_no_signature(queued_client: Any) -> None:
    from backend.agreements import service
    from backend.auth.models import User
    from backend.core.db import session_scope

    aid = signed_by_two(queued_client)
    with pytest.raises(RuntimeError), session_scope() as s:
        ministry = s.exec(select(User).where(User.username == "ministry")).one()
        ag = service.sign_sync(s, ministry, aid, "jingpin-demo")
        assert ag.status == "finalising" and finalise_jobs(s)  # deferred in this transaction
        raise RuntimeError("the request failed after the signature")
    with Session(get_engine()) as s:
        assert finalise_jobs(s) == []
        ag = s.get(Agreement, aid)
        assert ag is not None and (ag.status, ag.next_party) == ("signing", "jia")
        assert "agreement.finalising" not in actions(s, aid)


def test_a_signed_file_that_fails_the_final_verification_is_not_fully_signed(
    queued_client: Any,
) -> None:
    """The stored signed file is tampered with before the worker runs (a byte inside the signed
    range): the worker's verification fails, which is a verdict, not a retry."""
    from backend.documents.models import Document, DocumentFormat, DocumentKind, SubjectType
    from backend.documents.service import store_rendered
    from backend.documents.store import get_store

    aid = signed_by_two(queued_client)
    assert sign(queued_client, bearer(queued_client, "ministry"), aid).json()["status"] == (
        "finalising"
    )
    with Session(get_engine()) as s:
        ag = s.get(Agreement, aid)
        assert ag is not None and ag.current_pdf_sha256
        signed = get_store().get(ag.current_pdf_sha256)
        at = signed.index(b"/Title")  # the document info: inside every signature's byte range
        tampered = signed[:at] + b"/Titlf" + signed[at + 6 :]
        doc: Document = store_rendered(
            s,
            kind=DocumentKind.agreement,
            subject_type=SubjectType.agreement,
            subject_id=aid,
            template_name="agreement.docx",
            template_sha256=None,
            context_digest=None,
            fmt=DocumentFormat.pdf,
            data=tampered,
            created_by=None,
            source_sha256=ag.current_pdf_sha256,
        )
        ag.current_pdf_sha256, ag.current_pdf_sm3 = doc.sha256, doc.sm3
        s.add(ag)
        s.commit()

    run_worker("sign-finalise")

    with Session(get_engine()) as s:
        ag = s.get(Agreement, aid)
        assert ag is not None and ag.status == "finalise_failed" and ag.fully_signed_at is None
        assert [row[4] for row in finalise_jobs(s)] == ["succeeded"]  # a verdict, not retried
        trail = actions(s, aid)
        assert trail[-1] == "agreement.finalise_failed" and "agreement.fully_signed" not in trail
        failure = s.exec(
            select(AuditEvent).where(AuditEvent.action == "agreement.finalise_failed")
        ).one()
        assert '"code":"verification_failed"' in failure.payload.replace(" ", "")
        assert gates_open(s, aid) == 0
    assert client_login(queued_client, "ministry").status_code == 303
    page = queued_client.get(f"/agreements/{aid}")
    assert "未通过验证，未标记为签署完成" in page.text and "hx-trigger" not in page.text
    assert f'href="/agreements/{aid}/void"' in page.text  # the ministry may void it
