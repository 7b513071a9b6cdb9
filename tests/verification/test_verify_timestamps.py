"""Timestamps are not signatures: a PDF whose only "signature" is a document timestamp from the
open `POST /tsa` is unsigned (exit 3) in the API, the CLI and the sealed report, and a timestamp
certificate never passes as a seal."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps import HTTPTimeStamper
from pypdf import PdfReader
from typer.testing import CliRunner

from tests.conftest import DEMO_PASSWORD
from tests.signing.pdfgen import make_pdf

UNSIGNED = "总体结论：未签名（仅有时间戳）"


def _timestamp_only_pdf(live_server: str) -> bytes:
    """An unsigned PDF with a document timestamp obtained anonymously over HTTP from /tsa."""
    writer = IncrementalPdfFileWriter(BytesIO(make_pdf()))
    stamper = PdfTimeStamper(HTTPTimeStamper(f"{live_server}/tsa"))
    return stamper.timestamp_pdf(writer, "sha256").getvalue()


def test_a_pdf_with_only_a_tsa_document_timestamp_is_unsigned_in_api_cli_and_report(
    live_server: str, verification_pool: Any, office: Any, tmp_path: Path
) -> None:
    from backend.cli import app as cli

    pdf = _timestamp_only_pdf(live_server)
    with httpx.Client(base_url=live_server, timeout=120) as c:
        token = c.post(
            "/api/v1/auth/token", data={"username": "auditor", "password": DEMO_PASSWORD}
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        r = c.post("/api/v1/verify", files={"file": ("ts.pdf", pdf, "application/pdf")}, headers=h)
        assert r.status_code == 200, r.text
        body = r.json()
        report = c.get(body["report_pdf"], headers=h)
    assert body["timestamps_only"] is True
    assert body["indication"] != "TOTAL_PASSED"
    assert body["sub_indication"] == "SIGNED_DATA_NOT_FOUND"
    [ts] = body["signatures"]
    assert ts["kind"] == "document_timestamp" and ts["signer"] is None
    assert ts["timestamp"] and "Timestamp Authority" in ts["timestamp_authority"]["common_name"]
    assert body["summary_zh"][0] == UNSIGNED
    assert any("文档时间戳1" in line for line in body["summary_zh"])

    path = tmp_path / "ts.pdf"
    path.write_bytes(pdf)
    text = CliRunner().invoke(cli, ["verify", str(path)])
    assert text.exit_code == 3, text.output
    assert UNSIGNED in text.output and "时间戳机构" in text.output
    as_json = CliRunner().invoke(cli, ["verify", str(path), "--json"])
    assert as_json.exit_code == 3
    assert json.loads(as_json.output)["timestamps_only"] is True

    assert report.status_code == 200
    pages = "".join(p.extract_text() for p in PdfReader(BytesIO(report.content)).pages)
    assert "未签名（仅有时间戳）" in pages and "验证通过" not in pages
