"""推进表 filings: filing records the document's hash, a refiling is 409 unless it is a correction
with a reason, reminders follow `today`, the ministry sees who filed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.funding.conftest import user


def unit(session: Session, code: str) -> Any:
    from backend.orgs.models import RecommendingUnit

    return session.exec(select(RecommendingUnit).where(RecommendingUnit.code == code)).one()


def test_filing_records_the_rendered_tables_hash_and_an_audit_event(session: Session) -> None:
    from backend.audit_log.models import AuditEvent
    from backend.core.db import session_scope
    from backend.documents.models import Document
    from backend.documents.store import get_store
    from backend.funding import filings

    with session_scope() as s:
        f = filings.file_table(s, user(s, "unit-zj"), "zj", "2026-06-H1", today=date(2026, 6, 15))
        fid, sha = f.id, f.sha256
    doc = session.exec(select(Document).where(Document.sha256 == sha)).one()
    assert doc.kind == "progress_table" and doc.subject_id == "zj/2026-06-H1"
    import hashlib

    assert hashlib.sha256(get_store().get(sha)).hexdigest() == sha
    ev = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "progress_table.filed", AuditEvent.object_id == str(fid)
        )
    ).one()
    assert sha in ev.payload


def test_refiling_is_409_unless_a_correction_with_a_reason(session: Session) -> None:
    from backend.core.db import session_scope
    from backend.core.errors import Conflict
    from backend.funding import filings
    from backend.funding.filing_models import ProgressFilingCorrection

    day = date(2026, 7, 1)
    with session_scope() as s:
        filings.file_table(s, user(s, "unit-zj"), "zj", "2026-06-H2", today=day)
    with pytest.raises(Conflict) as exc, session_scope() as s:
        filings.file_table(s, user(s, "unit-zj"), "zj", "2026-06-H2", today=day)
    assert exc.value.code == "already_filed" and exc.value.status_code == 409
    with session_scope() as s:
        c = filings.file_table(
            s, user(s, "unit-zj"), "zj", "2026-06-H2", correction_reason="补充播出平台", today=day
        )
        assert isinstance(c, ProgressFilingCorrection) and c.reason == "补充播出平台"


def test_a_unit_cannot_file_a_period_that_has_not_ended_or_another_units_table(
    session: Session,
) -> None:
    from backend.core.errors import Conflict, NotFound, PermissionDenied
    from backend.funding import filings

    with pytest.raises(Conflict):
        filings.file_table(
            session, user(session, "unit-zj"), "zj", "2026-06-H2", today=date(2026, 6, 20)
        )
    with pytest.raises(NotFound):
        filings.file_table(
            session, user(session, "unit-zj"), "sc", "2026-06-H1", today=date(2026, 7, 1)
        )
    with pytest.raises(PermissionDenied):
        filings.file_table(
            session, user(session, "ministry"), "zj", "2026-06-H1", today=date(2026, 7, 1)
        )
    session.rollback()


def test_reminders_are_due_after_the_period_and_late_after_the_grace_days(session: Session) -> None:
    from backend.core.db import session_scope
    from backend.funding import filings

    zj = unit(session, "zj")
    assert filings.reminders(session, zj, date(2026, 5, 30)) == []
    assert filings.reminders(session, zj, date(2026, 6, 14)) == []
    due = filings.reminders(session, zj, date(2026, 6, 15))
    assert [(r.period.code, r.late) for r in due] == [("2026-06-H1", False)]
    assert [(r.period.code, r.late) for r in filings.reminders(session, zj, date(2026, 6, 18))] == [
        ("2026-06-H1", False)
    ]
    assert [(r.period.code, r.late) for r in filings.reminders(session, zj, date(2026, 6, 19))] == [
        ("2026-06-H1", True)
    ]
    assert "逾期" in filings.reminders(session, zj, date(2026, 6, 19))[0].text
    session.commit()
    with session_scope() as s:
        filings.file_table(s, user(s, "unit-zj"), "zj", "2026-06-H1", today=date(2026, 6, 16))
    assert [r.period.code for r in filings.reminders(session, zj, date(2026, 7, 2))] == [
        "2026-06-H2"
    ]


def test_home_page_reminds_the_unit(session: Session) -> None:
    from backend.funding.nav import filing_sections

    sections = filing_sections(session, user(session, "unit-sc"), today=date(2026, 6, 25))
    assert sections[0].title == "推进表报送提醒"
    assert any(
        "2026年6月上半月" in link.label and "逾期" in link.label for link in sections[0].links
    )


def test_ministry_sees_which_units_filed_through_the_api(client: Any, token_for: Any) -> None:
    r = client.post(
        "/api/v1/units/zj/progress-filings/2026-06-H1", json={}, headers=token_for("unit-zj")
    )
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] and r.json()["late"] is True  # filed in November
    again = client.post(
        "/api/v1/units/zj/progress-filings/2026-06-H1", json={}, headers=token_for("unit-zj")
    )
    assert again.status_code == 409 and again.json()["code"] == "already_filed"
    got = client.get(
        "/api/v1/progress-filings", params={"period": "2026-06-H1"}, headers=token_for("ministry")
    )
    assert got.status_code == 200
    states = {u["unit"]: u["state"] for u in got.json()["units"]}
    assert states["zj"] == "late" and states["sc"] == "missing_late"
    mine = client.get(
        "/api/v1/progress-filings", params={"period": "2026-06-H1"}, headers=token_for("unit-sc")
    )
    assert [u["unit"] for u in mine.json()["units"]] == ["sc"]
    assert (
        client.get(
            "/api/v1/progress-filings",
            params={"period": "2026-06-H1"},
            headers=token_for("prod-hz"),
        ).status_code
        == 403
    )


def test_demo_has_one_filing_on_time_one_late_and_missing_ones(session: Session) -> None:
    from backend.funding import filings
    from backend.funding.filing_models import ProgressFiling

    rows = list(session.exec(select(ProgressFiling)))
    if not rows:  # the demo ran before any half-month could be late (January–June)
        pytest.skip("no demo period yet")
    status = filings.period_status(session, user(session, "ministry"), rows[0].period).model_dump()
    states = {u["unit"]: u["state"] for u in status["units"]}
    assert states["zj"] == "on_time" and states["sc"] == "late" and states["cmg"] == "missing_late"
