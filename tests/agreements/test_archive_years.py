"""Years of archive upkeep, as an operator would run it: the real `jingpin` commands in their own
processes with the clock moved by libfaketime. The built-in TSA is rolled and the archives renewed
one year and three years on; twelve years on — every seal (2 years) and the first two TSA
certificates (10 years from their roll) expired — `jingpin verify` still passes the stored file
by walking its document timestamps (ETSI EN 319 102-1 § 5.6.3), pyHanko agrees on its own, and a
copy nobody renewed is undetermined."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from sqlmodel import Session, col, select

from backend.agreements.models import Agreement, AgreementStatus
from backend.audit_log.models import AuditEvent
from backend.documents.store import get_store
from backend.pki.service import get_ca
from tests.signing.lta import lta_results

ROOT = Path(__file__).resolve().parents[2]
FAKETIME = shutil.which("faketime")
YEAR_DAYS = 365
# Renew when the newest timestamp's chain expires within ~9.3 years: one and three years on the
# archives' timestamps (10-year TSA certificates) are due, a TSA certificate rolled that day is not.
WITHIN = "3400"

pytestmark = pytest.mark.skipif(FAKETIME is None, reason="libfaketime's faketime is needed")


def _jingpin(*args: str, years: int = 0) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "backend.cli", *args]
    if years:
        assert FAKETIME is not None
        command = [FAKETIME, "-f", f"+{years * YEAR_DAYS}d", *command]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
        check=False,
    )


def _stored(session: Session) -> dict[int, str]:
    session.rollback()  # a fresh read: the commands committed in their own processes
    query = select(Agreement).where(Agreement.status == AgreementStatus.fully_signed.value)
    return {
        ag.id or 0: ag.current_pdf_sha256 or ""
        for ag in session.exec(query.order_by(col(Agreement.id)))
    }


def _renewals(session: Session) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == "agreement.archive_renewed")
    return list(session.exec(query))


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def test_rolled_and_renewed_archives_verify_twelve_years_on_and_unrenewed_ones_do_not(
    env: Any, session: Session, tmp_path: Path
) -> None:
    signed = _stored(session)
    assert signed, "the demo has a fully signed agreement"
    first_id = min(signed)
    unrenewed = tmp_path / "unrenewed.pdf"
    unrenewed.write_bytes(get_store().get(signed[first_id]))
    first_tsa = get_ca().tsa_certificate

    history = [signed]
    for years in (1, 3):
        rolled = _ok(_jingpin("ca", "roll-tsa", years=years))
        assert "新的时间戳服务证书" in rolled
        renewed = _ok(_jingpin("archive", "renew", "--within", WITHIN, years=years))
        assert f"续期 {len(signed)} 份" in renewed and "失败 0 份" in renewed, renewed
        history.append(_stored(session))
        # The same day again (a daily timer): nothing is due, nothing changes.
        again = _ok(_jingpin("archive", "renew", "--within", WITHIN, years=years))
        assert "续期 0 份" in again, again
        assert _stored(session) == history[-1]
    assert len(_renewals(session)) == 2 * len(signed)  # each agreement once per renewal

    store = get_store()
    for agreement_id, sha in history[-1].items():
        pdf = store.get(sha)
        for earlier in history[:-1]:
            assert sha != earlier[agreement_id] and pdf.startswith(store.get(earlier[agreement_id]))
        timestamps = PdfFileReader(BytesIO(pdf)).embedded_timestamp_signatures
        assert len(timestamps) == 3  # the archive's own, then one per renewal
    ca = get_ca()
    assert len(ca.tsa_certificates) == 3 and first_tsa in ca.tsa_certificates
    twelve = dt.datetime.now(dt.UTC) + dt.timedelta(days=12 * YEAR_DAYS)
    # Twelve years on only the TSA certificate rolled three years on is still valid.
    assert [c.not_valid_after_utc > twelve for c in ca.tsa_certificates] == [True, False, False]

    stored = tmp_path / "stored.pdf"
    stored.write_bytes(store.get(history[-1][first_id]))
    at = (twelve + dt.timedelta(days=1)).isoformat()
    for args, years in ((("--at", at), 0), ((), 12)):
        done = _jingpin("verify", str(stored), "--json", *args, years=years)
        body = json.loads(_ok(done))
        assert body["indication"] == "TOTAL_PASSED", body
        assert body["validation_time"][:4] == str(twelve.year), body["validation_time"]
        kinds = [s["kind"] for s in body["signatures"]]
        assert kinds == ["signature"] * 3 + ["document_timestamp"] * 3
        for sig in body["signatures"][:3]:
            assert any("证书已于" in m and "过期" in m for m in sig["messages"]), sig
        # Both earlier document timestamps' TSA certificates have expired: proven by the next.
        for ts in body["signatures"][3:5]:
            assert any("其后的文档时间戳证明" in m for m in ts["messages"]), ts

        stale = _jingpin("verify", str(unrenewed), "--json", *args, years=years)
        assert stale.returncode == 2, stale.stdout + stale.stderr
        assert json.loads(stale.stdout)["indication"] == "INDETERMINATE"
        assert "Traceback" not in stale.stderr

    results = lta_results(stored.read_bytes(), ca.trust_roots, twelve)
    assert len(results) == 3 and {r[0] for r in results.values()} == {AdESPassed.OK}, results
