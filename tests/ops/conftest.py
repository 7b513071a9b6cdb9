"""A test client of an app with the PostgreSQL job queue, bearer tokens, and a worker that runs
what is queued and returns (the queue tests of several domains share them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import DEMO_PASSWORD


@pytest.fixture
def queued_client(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, app_pool: Any
) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from backend.app import create_app
    from backend.core.config import get_settings

    monkeypatch.setenv("JINGPIN_QUEUE", "postgres")
    get_settings.cache_clear()
    with TestClient(create_app()) as c:
        yield c


def bearer(client: Any, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def run_worker(queue: str) -> None:
    """Run every job waiting on ``queue`` in this process, then return."""
    from backend.core import jobs

    app = jobs.get_app()
    with app.open():
        app.run_worker(
            queues=[queue], wait=False, install_signal_handlers=False, listen_notify=False
        )
