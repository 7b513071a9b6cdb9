"""Years later: the demo's fully signed agreement verified with the clock moved three years on
(libfaketime around the real `jingpin verify` process, and `--at` / the API's `at`), and after
the producer's seal was revoked because the company closed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.verification.conftest import revisions, signed_agreement
from tests.verification.test_cli_quiet import ROOT

FAKETIME = shutil.which("faketime")


def _cli(path: Path, *args: str, clock: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "backend.cli", "verify", str(path), "--json", *args]
    if clock is not None:
        assert FAKETIME, "faketime (libfaketime) is installed by scripts/bootstrap.sh"
        command = [FAKETIME, "-f", clock, *command]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=240,
        check=False,
    )


@pytest.fixture
def agreement_pdf(session: Session, tmp_path: Path) -> Path:
    path = tmp_path / "agreement.pdf"
    path.write_bytes(revisions(session, signed_agreement(session))[-1])
    return path


def _expired_notes(body: dict[str, Any]) -> list[bool]:
    return [
        any(m.startswith("签名时证书有效；该证书已于") and "过期" in m for m in s["messages"])
        for s in body["signatures"]
    ]


def test_the_signed_agreement_still_passes_under_a_clock_three_years_on(
    agreement_pdf: Path,
) -> None:
    today = _cli(agreement_pdf)
    assert today.returncode == 0, today.stdout + today.stderr
    later = _cli(agreement_pdf, clock="+1100d")  # the seals live two years
    assert later.returncode == 0, later.stdout + later.stderr
    body = json.loads(later.stdout)
    assert body["validation_time"][:4] == str(
        int(json.loads(today.stdout)["validation_time"][:4]) + 3
    )
    assert body["indication"] == "TOTAL_PASSED"
    assert _expired_notes(body) == [True, True, True]
    assert "Traceback" not in later.stderr


def test_at_chooses_the_validation_time_and_must_be_a_moment_with_a_zone(
    agreement_pdf: Path,
) -> None:
    done = _cli(agreement_pdf, "--at", "2031-06-01T00:00:00+08:00")
    assert done.returncode == 0, done.stdout + done.stderr
    body = json.loads(done.stdout)
    assert body["validation_time"] == "2031-06-01T00:00:00+08:00"
    assert _expired_notes(body) == [True, True, True]
    for bad in ("2031-06-01T00:00:00", "next year"):
        refused = _cli(agreement_pdf, "--at", bad)
        assert refused.returncode == 2 and "--at" in refused.stderr
        assert "Traceback" not in refused.stderr


def test_closing_the_producer_revokes_its_seal_but_not_the_agreement_it_signed(
    session: Session, agreement_pdf: Path
) -> None:
    from backend.agreements.models import AgreementSignature
    from backend.pki.service import get_ca

    ag = signed_agreement(session)
    producer = session.exec(
        select(AgreementSignature).where(
            AgreementSignature.agreement_id == ag.id, AgreementSignature.party == "yi"
        )
    ).one()
    get_ca().revoke(producer.cert_serial, "cessation_of_operation")
    for clock in (None, "+1100d"):
        done = _cli(agreement_pdf, clock=clock)
        assert done.returncode == 0, done.stdout + done.stderr
        yi = json.loads(done.stdout)["signatures"][0]
        assert yi["indication"] == "TOTAL_PASSED" and yi["revocation"] == "revoked"
        assert any("吊销（停止运营）" in m for m in yi["messages"]), yi["messages"]


def test_the_api_takes_the_validation_time_as_at(
    client: Any, token_for: Any, session: Session, verification_pool: Any
) -> None:
    pdf = revisions(session, signed_agreement(session))[-1]
    h = token_for("auditor")
    files = {"file": ("a.pdf", pdf, "application/pdf")}
    r = client.post(
        "/api/v1/verify", files=files, data={"at": "2031-06-01T00:00:00+08:00"}, headers=h
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["indication"] == "TOTAL_PASSED"
    assert body["validation_time"] == "2031-06-01T00:00:00+08:00"
    assert _expired_notes(body) == [True, True, True]
    naive = client.post(
        "/api/v1/verify", files=files, data={"at": "2031-06-01T00:00:00"}, headers=h
    )
    assert naive.status_code == 422 and naive.json()["fields"].get("at")
