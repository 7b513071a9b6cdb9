"""/healthz, /readyz, /metrics, request ids and JSON logs."""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import pytest


def test_healthz_answers_without_touching_dependencies(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_reports_every_dependency_ok_on_the_embedded_default(client):
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {
        "database": "ok",
        "store": "ok",
        "converter": "ok",
        "queue": "ok",
    }


def test_readyz_is_503_naming_the_store_when_the_s3_server_is_gone(
    env, monkeypatch: pytest.MonkeyPatch
):
    from fastapi.testclient import TestClient

    from backend.app import create_app
    from backend.core.config import get_settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    monkeypatch.setenv("JINGPIN_STORE", "s3")
    monkeypatch.setenv("JINGPIN_S3_ENDPOINT_URL", f"http://127.0.0.1:{dead_port}")
    monkeypatch.setenv("JINGPIN_S3_BUCKET", "jingpin")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    get_settings.cache_clear()
    with TestClient(create_app()) as c:
        r = c.get("/readyz")
    assert r.status_code == 503
    checks = r.json()["checks"]
    assert checks["database"] == "ok" and checks["store"].startswith("unavailable")
    assert str(dead_port) not in r.text  # no connection details leak


@pytest.mark.postgres
def test_readyz_checks_the_job_queue_when_it_is_configured(env, monkeypatch):
    from fastapi.testclient import TestClient

    from backend.app import create_app
    from backend.core.config import get_settings

    monkeypatch.setenv("JINGPIN_QUEUE", "postgres")
    get_settings.cache_clear()
    with TestClient(create_app()) as c:
        assert c.get("/readyz").json()["checks"]["queue"] == "ok"
        body = c.get("/metrics").text
    assert 'jingpin_queue_depth{queue="convert"} 0.0' in body


def test_metrics_count_request_latency_by_route_template(client, token_for):
    headers = token_for("prod-hz")
    for _ in range(2):
        assert client.get("/api/v1/works", headers=headers).status_code == 200
    body = client.get("/metrics").text
    line = next(
        ln
        for ln in body.splitlines()
        if ln.startswith("jingpin_request_seconds_count")
        and 'route="/api/v1/works"' in ln
        and 'method="GET"' in ln
    )
    assert float(line.rsplit(" ", 1)[1]) >= 2
    assert "jingpin_job_failures_total" in body and "jingpin_conversions_total" in body


def test_every_response_carries_a_request_id_and_a_safe_client_id_is_kept(client):
    made_up = client.get("/healthz").headers["x-request-id"]
    assert len(made_up) == 16
    assert (
        client.get("/healthz", headers={"X-Request-ID": "lb-42"}).headers["x-request-id"] == "lb-42"
    )
    forged = client.get("/healthz", headers={"X-Request-ID": 'x"\n{"level":"fake"}'})
    assert forged.headers["x-request-id"] != 'x"\n{"level":"fake"}'


def test_json_log_lines_carry_the_request_id_of_the_request(client, capsys: Any):
    from backend.core.logging import JsonFormatter, request_id

    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("jingpin.test")
    logger.addHandler(handler)
    token = request_id.set("req-7")
    try:
        logger.warning("签署失败", extra={"agreement_id": 3})
    finally:
        request_id.reset(token)
        logger.removeHandler(handler)
    entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert entry["request_id"] == "req-7"
    assert entry["message"] == "签署失败" and entry["agreement_id"] == 3
    assert entry["level"] == "warning"
