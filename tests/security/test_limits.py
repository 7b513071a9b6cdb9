"""Request body limits, before the body is read: a declared Content-Length over the limit is
refused at once, a streamed (chunked) body is stopped at the limit, uploads need a login before
their body is read, and /tsa reads at most 64 KB. Against the real server (uvicorn), since the
point is what happens on the wire."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import DEMO_PASSWORD

GB = 1024**3
CHUNK = 64 * 1024
# What the client may have pushed into socket buffers before the server stopped reading.
SLACK = 8 * 1024 * 1024


class Body:
    """A 2 GB body made on the fly; it counts what was taken and gives up (failing the test)
    when the server keeps reading far past any limit."""

    def __init__(self, total: int = 2 * GB, give_up_after: int = 96 * 1024 * 1024) -> None:
        self.total, self.give_up_after, self.sent = total, give_up_after, 0

    def __iter__(self) -> Iterator[bytes]:
        chunk = b"%PDF-1.7\n".ljust(CHUNK, b"x")
        while self.sent < self.total:
            if self.sent > self.give_up_after:
                raise AssertionError(f"the server kept reading: {self.sent} bytes taken")
            self.sent += CHUNK
            yield chunk


def _multipart_head() -> tuple[bytes, str]:
    boundary = "jingpinboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    return head, f"multipart/form-data; boundary={boundary}"


def _post(url: str, body: Body, headers: dict[str, str]) -> httpx.Response:
    head, ctype = _multipart_head()

    def stream() -> Iterator[bytes]:
        yield head
        yield from body

    with httpx.Client(timeout=30) as c:
        return c.post(url, content=stream(), headers={"content-type": ctype, **headers})


@pytest.mark.parametrize(
    "path", ["/api/v1/verify", "/verify", "/api/v1/works/1/documents/application/upload"]
)
def test_a_declared_2gb_upload_is_refused_413_before_anything_is_read(
    live_server: str, path: str
) -> None:
    body = Body()
    r = _post(live_server + path, body, {"content-length": str(2 * GB + 200)})
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "request_too_large"
    assert body.sent <= SLACK


def test_an_unauthenticated_streamed_2gb_upload_is_refused_without_reading_it(
    live_server: str,
) -> None:
    body = Body()
    r = _post(live_server + "/api/v1/verify", body, {})  # chunked: no Content-Length
    assert r.status_code == 401, r.text
    assert body.sent <= SLACK


def _bearer(live_server: str, username: str) -> dict[str, str]:
    r = httpx.post(
        live_server + "/api/v1/auth/token",
        data={"username": username, "password": DEMO_PASSWORD},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_a_signed_in_streamed_upload_is_stopped_at_the_route_limit(live_server: str) -> None:
    from backend.core.config import get_settings

    limit = get_settings().upload_max_bytes
    body = Body()
    r = _post(live_server + "/api/v1/verify", body, _bearer(live_server, "auditor"))
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "request_too_large"
    assert body.sent <= limit + SLACK


def test_json_and_forms_get_the_small_default_limit(live_server: str) -> None:
    from backend.core.config import get_settings

    limit = get_settings().request_max_bytes
    r = httpx.post(
        live_server + "/api/v1/auth/token",
        content=b"username=a&password=" + b"x" * (limit + 1),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413 and r.json()["limit_bytes"] == limit


def test_tsa_reads_at_most_its_limit(live_server: str) -> None:
    body = Body()

    def stream() -> Iterator[bytes]:
        yield from body

    with httpx.Client(timeout=30) as c:
        r = c.post(
            live_server + "/tsa",
            content=stream(),
            headers={"content-type": "application/timestamp-query"},
        )
    assert r.status_code == 413, r.text
    assert body.sent <= 64 * 1024 + SLACK


def test_tsa_still_answers_a_real_query(client: Any) -> None:
    from asn1crypto import tsp

    from backend.pki.service import timestamp_authority  # noqa: F401  (the app's TSA)

    req = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": b"\x01" * 32,
            },
            "cert_req": True,
        }
    ).dump()
    r = client.post("/tsa", content=req, headers={"content-type": "application/timestamp-query"})
    assert r.status_code == 200
    reply = tsp.TimeStampResp.load(r.content)
    assert reply["status"]["status"].native == "granted"


def test_a_bodyless_request_keeps_its_connection_alive(live_server: str) -> None:
    with httpx.Client() as c:
        r = c.get(live_server + "/login")
    assert r.status_code == 200 and r.headers.get("connection") != "close"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/verify",
        "/verify",
        "/api/v1/works/1/documents/application/upload",
        "/works/1/application/documents/application",
        "/api/v1/agreements/1/reviews",
        "/agreements/1/reviews/record",
    ],
)
def test_upload_routes_take_more_than_the_default_limit(client: Any, path: str) -> None:
    body = b"x" * (2 * 1024 * 1024)  # over request_max_bytes, under the upload limits
    r = client.post(path, content=body, headers={"content-type": "multipart/form-data; boundary=b"})
    assert r.status_code != 413, (path, r.text)
    r = client.post("/works/new", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413
