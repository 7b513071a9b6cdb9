"""The open RFC 3161 service over real HTTP (uvicorn on loopback): rate limit per client address
and the optional bearer token (JINGPIN_TSA_TOKEN)."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from asn1crypto import tsp

from backend.core.config import get_settings
from backend.pki import endpoints


def _query() -> bytes:
    return tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(b"jingpin").digest(),
            },
            "cert_req": True,
        }
    ).dump()


def _post(base: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{base}/tsa",
        content=_query(),
        headers={"content-type": "application/timestamp-query", **headers},
        timeout=10,
    )


def _granted(response: httpx.Response) -> bool:
    body = tsp.TimeStampResp.load(response.content)
    return response.status_code == 200 and body["status"]["status"].native == "granted"


@pytest.fixture
def tsa_settings(env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"JINGPIN_{name.upper()}", value)
        get_settings.cache_clear()

    # a fresh window: other tests in this process also asked the TSA from 127.0.0.1
    monkeypatch.setattr(endpoints, "_tsa_window", endpoints._PerClientWindow())
    yield apply
    get_settings.cache_clear()


def test_tsa_refuses_a_client_past_its_rate_with_429_and_retry_after(tsa_settings, live_server):
    tsa_settings(tsa_rate_per_minute="3")
    answers = [_post(live_server) for _ in range(4)]
    assert [_granted(r) for r in answers[:3]] == [True, True, True]
    refused = answers[3]
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert refused.headers["retry-after"] == "60"


def test_tsa_with_a_token_setting_answers_only_the_right_bearer_token(tsa_settings, live_server):
    tsa_settings(tsa_token="s3cret-token-for-tsa", tsa_rate_per_minute="100")
    missing = _post(live_server)
    wrong = _post(live_server, authorization="Bearer s3cret-token-for-tsX")
    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["code"] == "tsa_token_required"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "s3cret" not in missing.text
    assert _granted(_post(live_server, authorization="Bearer s3cret-token-for-tsa"))


def test_tsa_without_a_token_setting_stays_open_to_rfc3161_clients(tsa_settings, live_server):
    tsa_settings(tsa_rate_per_minute="100")
    assert _granted(_post(live_server))
