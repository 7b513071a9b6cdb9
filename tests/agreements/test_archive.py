"""Archive form of fully signed agreements (PAdES B-LTA) and `jingpin archive renew`."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from io import BytesIO
from typing import Any

from freezegun import freeze_time
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.validation.dss import DocumentSecurityStore
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from backend.agreements.models import Agreement, AgreementSignature, AgreementStatus
from backend.audit_log.models import AuditEvent
from backend.cli import app as cli
from backend.core import jobs
from backend.documents.store import get_store
from backend.pki.service import get_ca
from tests.signing.lta import lta_results

runner = CliRunner()


def _fully_signed(session: Session) -> list[Agreement]:
    query = select(Agreement).where(Agreement.status == AgreementStatus.fully_signed.value)
    return list(session.exec(query.order_by(col(Agreement.id))))


def _actions(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def test_fully_signed_agreement_is_stored_served_and_packaged_in_archive_form(
    env: Any, session: Session, client: Any, token_for: Any
) -> None:
    ag = _fully_signed(session)[0]  # the demo's, signed through the real service
    assert ag.current_pdf_sha256
    archived = get_store().get(ag.current_pdf_sha256)
    jia = session.exec(
        select(AgreementSignature).where(
            AgreementSignature.agreement_id == ag.id, AgreementSignature.party == "jia"
        )
    ).one()
    signed = get_store().get(jia.revision_sha256)
    assert archived != signed and archived.startswith(signed)  # B-T signatures kept as signed
    reader = PdfFileReader(BytesIO(archived))
    assert len(reader.embedded_regular_signatures) == 3
    assert len(reader.embedded_timestamp_signatures) == 1
    dss = DocumentSecurityStore.read_dss(reader)
    assert len(dss.vri_entries) >= 3 and dss.crls
    ca = get_ca()
    results = lta_results(archived, ca.trust_roots)
    assert {r[0] for r in results.values()} == {AdESPassed.OK}, results

    served = client.get(f"/api/v1/agreements/{ag.id}/document.pdf", headers=token_for("auditor"))
    assert served.status_code == 200 and served.content == archived
    z = client.get(f"/api/v1/agreements/{ag.id}/evidence.zip", headers=token_for("auditor"))
    with zipfile.ZipFile(io.BytesIO(z.content)) as zf:
        assert zf.read(f"agreement-{ag.number}.pdf") == archived
        assert "root-ca.crl" in zf.namelist()
    archived_event = [
        e for e in _actions(session, "agreement.archived") if e.object_id == str(ag.id)
    ]
    signed_event = [
        e for e in _actions(session, "agreement.fully_signed") if e.object_id == str(ag.id)
    ]
    assert archived_event and signed_event and archived_event[0].seq < signed_event[0].seq


def test_archive_renew_nine_years_on_renews_each_agreement_once(env: Any, session: Session) -> None:
    ca = get_ca()
    before = {ag.id: ag.current_pdf_sha256 for ag in _fully_signed(session)}
    assert before
    # Nothing is due today: the archive's TSA certificate lives ten years.
    today = runner.invoke(cli, ["archive", "renew"])
    assert today.exit_code == 0, today.output
    assert "续期 0 份" in today.output
    old_tsa = ca.tsa_certificate
    later = old_tsa.not_valid_after_utc - dt.timedelta(days=200)
    with freeze_time(later):
        first = runner.invoke(cli, ["archive", "renew"])
        second = runner.invoke(cli, ["archive", "renew"])
    assert first.exit_code == 0, first.output
    assert f"续期 {len(before)} 份" in first.output and "轮换" in first.output
    assert second.exit_code == 0, second.output
    assert "续期 0 份" in second.output

    session.rollback()  # end the read transaction: the CLI committed in its own
    after = {ag.id: ag.current_pdf_sha256 for ag in _fully_signed(session)}
    assert after.keys() == before.keys()
    new_ca = get_ca()
    assert new_ca.tsa_certificate != old_tsa and old_tsa in new_ca.tsa_certificates
    for agreement_id, sha in after.items():
        old_pdf = get_store().get(before[agreement_id] or "")
        new_pdf = get_store().get(sha or "")
        assert sha != before[agreement_id] and new_pdf.startswith(old_pdf)
        timestamps = PdfFileReader(BytesIO(new_pdf)).embedded_timestamp_signatures
        assert len(timestamps) == 2
        assert timestamps[-1].signer_cert.serial_number == new_ca.tsa_certificate.serial_number
        # Renewed nine years on, the file still validates for pyHanko twelve years on.
        twelve = dt.datetime.now(dt.UTC) + dt.timedelta(days=12 * 365)
        results = lta_results(new_pdf, new_ca.trust_roots, twelve)
        assert {r[0] for r in results.values()} == {AdESPassed.OK}, results
    renewed = _actions(session, "agreement.archive_renewed")
    assert sorted(int(e.object_id) for e in renewed) == sorted(i or 0 for i in before)  # once each
    assert len(_actions(session, "tsa.rolled")) == 1


def test_archive_renew_refuses_when_the_root_expires_within_the_window(
    env: Any, session: Session
) -> None:
    before = {ag.id: ag.current_pdf_sha256 for ag in _fully_signed(session)}
    result = runner.invoke(cli, ["archive", "renew", "--within", str(365 * 21)])
    assert result.exit_code == 2
    assert "roll-root" in result.output and "Traceback" not in result.output
    session.rollback()  # end the read transaction: the CLI committed in its own
    assert {ag.id: ag.current_pdf_sha256 for ag in _fully_signed(session)} == before


def test_the_daily_archive_job_renews_what_the_command_would(env: Any, session: Session) -> None:
    """The `archive` queue's daily task (for deployments with a worker) runs the same renewal:
    due agreements get a new document timestamp, audit-logged under the job's name."""
    spec = jobs.TASKS["archive.renew"]
    assert spec.queue == "archive" and spec.cron
    before = {ag.id: ag.current_pdf_sha256 for ag in _fully_signed(session)}
    later = get_ca().tsa_certificate.not_valid_after_utc - dt.timedelta(days=200)
    with freeze_time(later):
        spec.func()
    session.rollback()
    after = {ag.id: ag.current_pdf_sha256 for ag in _fully_signed(session)}
    assert all(after[i] != before[i] for i in before)
    renewed = _actions(session, "agreement.archive_renewed")
    assert sorted(int(e.object_id) for e in renewed) == sorted(i or 0 for i in before)
    assert {e.actor for e in renewed} == {"archive-job"}
