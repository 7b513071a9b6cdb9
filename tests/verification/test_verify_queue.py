"""The `verify` queue (JINGPIN_QUEUE=postgres): an upload of at least
JINGPIN_VERIFY_QUEUE_MIN_BYTES is stored in the object store and verified by a real procrastinate
worker; the page polls for it; the result lives in the database and the object store, so a
second app host with its own data dir serves it, under the same access rules."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfWriter
from sqlmodel import Session, select

from backend.core.db import get_engine
from tests.conftest import client_login
from tests.verification.conftest import signed_agreement

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
THRESHOLD = 10_000


@pytest.fixture
def queued(
    s3_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, verification_pool: Any
) -> dict[str, Any]:
    from backend.core.config import get_settings

    monkeypatch.setenv("JINGPIN_QUEUE", "postgres")
    monkeypatch.setenv("JINGPIN_VERIFY_QUEUE_MIN_BYTES", str(THRESHOLD))
    get_settings.cache_clear()
    return s3_env


def app_client() -> Any:
    from fastapi.testclient import TestClient

    from backend.app import create_app

    return TestClient(create_app())


def token(client: Any, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": "jingpin-demo"})
    assert r.status_code == 200
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def upload(client: Any, headers: dict[str, str], data: bytes, name: str) -> Any:
    return client.post(
        "/api/v1/verify", files={"file": (name, data, "application/pdf")}, headers=headers
    )


def blank_pdf() -> bytes:
    w = PdfWriter()
    w.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def run_worker() -> None:
    from backend.core import jobs

    app = jobs.get_app()
    with app.open():
        app.run_worker(
            queues=["verify"], wait=False, install_signal_handlers=False, listen_notify=False
        )


def verify_jobs() -> list[tuple[Any, ...]]:
    with Session(get_engine()) as s:
        conn = s.connection().connection.driver_connection
        return conn.execute(
            "SELECT queue_name, status FROM procrastinate_jobs "
            "WHERE task_name = 'verification.verify' ORDER BY id"
        ).fetchall()


def test_a_large_upload_is_verified_by_a_worker_and_served_by_another_host(
    queued: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from backend.core.config import get_settings
    from backend.documents.store import get_store

    with Session(get_engine()) as s:
        signed = get_store().get(signed_agreement(s).current_pdf_sha256)
    assert len(signed) >= THRESHOLD > len(blank_pdf())
    with app_client() as a:
        auditor = token(a, "auditor")
        small = upload(a, auditor, blank_pdf(), "小文件.pdf")
        assert small.status_code == 200  # under the threshold: in the request, as before
        r = upload(a, auditor, signed, "协议.pdf")
        assert r.status_code == 202, r.text
        body = r.json()
        sha = body["file_sha256"]
        assert body["code"] == "verification_queued" and r.headers["location"] == body["status_url"]
        assert verify_jobs() == [("verify", "todo")]
        waiting = a.get(body["report_json"], headers=auditor)
        assert waiting.status_code == 409 and waiting.json()["code"] == "verification_pending"
        assert a.get(body["status_url"], headers=auditor).json()["done"] is False
        assert client_login(a, "auditor").status_code == 303
        fragment = a.get(f"/verify/{sha}/status")
        assert 'hx-trigger="every 2s"' in fragment.text and "已排队" in fragment.text

        run_worker()

        job = a.get(body["status_url"], headers=auditor).json()
        assert (job["status"], job["download_path"]) == ("succeeded", body["report_json"])
        done = a.get(f"/verify/{sha}/status")
        assert done.headers["HX-Redirect"] == f"/verify/{sha}" and "hx-trigger" not in done.text
        page = a.get(f"/verify/{sha}")
        assert page.status_code == 200 and 'id="verdict"' in page.text and sha in page.text
    assert not (queued["data_dir"] / "verification-results").exists()

    # Host B: its own data dir (the CA's files, no blob cache, nothing host A wrote), the same
    # database and bucket.
    host_b = tmp_path / "host-b"
    shutil.copytree(
        queued["data_dir"],
        host_b,
        symlinks=True,
        ignore=shutil.ignore_patterns("blob-cache", "blobs", "converter"),
    )
    monkeypatch.setenv("JINGPIN_DATA_DIR", str(host_b))
    get_settings.cache_clear()
    with app_client() as b:
        for reader in ("auditor", "ministry"):
            r = b.get(f"/api/v1/verify/{sha}/report.json", headers=token(b, reader))
            assert r.status_code == 200, (reader, r.text)
            assert (r.json()["indication"], r.json()["file_name"]) == ("TOTAL_PASSED", "协议.pdf")
        report = b.get(f"/api/v1/verify/{sha}/report.pdf", headers=token(b, "auditor"))
        assert report.status_code == 200 and report.content.startswith(b"%PDF")
        stranger = b.get(f"/api/v1/verify/{sha}/report.json", headers=token(b, "prod-hz"))
        assert stranger.status_code == 404
        assert stranger.json()["code"] == "verification_result_not_found"
    assert not (host_b / "verification-results").exists()
    # The sealed report is kept in the object store: host A serves the same bytes.
    monkeypatch.setenv("JINGPIN_DATA_DIR", str(queued["data_dir"]))
    get_settings.cache_clear()
    with app_client() as a:
        again = a.get(f"/api/v1/verify/{sha}/report.pdf", headers=token(a, "auditor"))
        assert again.content == report.content


def test_a_rolled_back_upload_leaves_no_job_and_no_pending_result(queued: dict[str, Any]) -> None:
    from backend.auth.models import User
    from backend.core.db import session_scope
    from backend.verification import service
    from backend.verification.models import VerificationResultRow

    with pytest.raises(RuntimeError), session_scope() as s:
        auditor = s.exec(select(User).where(User.username == "auditor")).one()
        service.queue_verification(s, auditor, blank_pdf(), "回滚.pdf", None)
        assert verify_jobs() == []  # not visible outside the transaction before it commits
        raise RuntimeError("the request failed after deferring")
    assert verify_jobs() == []
    with Session(get_engine()) as s:
        assert s.exec(select(VerificationResultRow)).all() == []
