"""Hostile files: each gets a report or a clear 4xx, and the service keeps answering meanwhile."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import Session

from backend.verification.worker import VerificationAborted, VerificationPool
from tests.conftest import DEMO_PASSWORD
from tests.verification import corpus
from tests.verification.conftest import revisions, signed_agreement


@pytest.fixture
def hostile(session: Session) -> list[corpus.Entry]:
    revs = revisions(session, signed_agreement(session))
    return corpus.build(revs[-1], revs)


def test_corpus_has_at_least_100_generated_files(hostile: list[corpus.Entry]) -> None:
    assert len(hostile) >= 100
    assert len({name for name, _, _ in hostile}) == len(hostile)


def test_every_hostile_file_gets_a_report_or_a_clear_4xx_while_healthz_keeps_answering(
    live_server: str, verification_pool: VerificationPool, hostile: list[corpus.Entry]
) -> None:
    token = httpx.post(
        f"{live_server}/api/v1/auth/token", data={"username": "auditor", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    done = threading.Event()
    health: list[tuple[int, float]] = []

    def probe() -> None:
        with httpx.Client(base_url=live_server, timeout=10) as c:
            while not done.is_set():
                start = time.monotonic()
                r = c.get("/healthz")
                health.append((r.status_code, time.monotonic() - start))
                done.wait(0.05)

    def post(entry: corpus.Entry) -> tuple[corpus.Entry, httpx.Response]:
        name, data, _ = entry
        with httpx.Client(base_url=live_server, timeout=120) as c:
            return entry, c.post(
                "/api/v1/verify", files={"file": (name, data, "application/pdf")}, headers=headers
            )

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        with ThreadPoolExecutor(4) as ex:
            results = list(ex.map(post, hostile))
    finally:
        done.set()
        prober.join()
    problems = []
    for (name, _, may_pass), r in results:
        if r.status_code == 200:
            body = r.json()
            if body["indication"] == "TOTAL_PASSED" and not may_pass:
                problems.append(f"{name}: passed")
        elif r.status_code in (413, 422):
            body = r.json()
            if not body.get("code") or not body.get("message"):
                problems.append(f"{name}: {r.status_code} without code/message")
        else:
            problems.append(f"{name}: HTTP {r.status_code} {r.text[:200]}")
    assert not problems, problems
    by_name = {name: r for (name, _, _), r in results}
    assert by_name["empty.pdf"].status_code == 422
    assert by_name["genuine-revision-3.pdf"].json()["indication"] == "TOTAL_PASSED"
    assert by_name["encrypted.pdf"].json()["readable"] is False
    assert by_name["contents-not-cms.pdf"].json()["indication"] == "TOTAL_FAILED"
    assert by_name["byterange-short.pdf"].json()["indication"] == "TOTAL_FAILED"
    assert len(health) >= 5 and all(code == 200 for code, _ in health)
    assert max(latency for _, latency in health) < 2.0, max(health, key=lambda h: h[1])


def test_a_worker_that_runs_out_of_time_is_killed_and_replaced(session: Session) -> None:
    pdf = revisions(session, signed_agreement(session))[-1]
    pool = VerificationPool(1, timeout=0.01)
    pool.start()
    try:
        before = pool.pids()
        with pytest.raises(VerificationAborted) as err:
            pool.verify(pdf, trust_roots=[], crls=[])
        assert err.value.status_code == 422 and err.value.extra["reason"] == "timeout"
        assert pool.stats().killed == 1 and pool.pids() != before
        pool.timeout = 30
        report = pool.verify(pdf, trust_roots=[], crls=[])
        assert report.signatures and report.indication == "INDETERMINATE"  # no trust anchor given
    finally:
        pool.stop()


def test_workers_run_with_an_address_space_limit(verification_pool: VerificationPool) -> None:
    for pid in verification_pool.pids():
        with open(f"/proc/{pid}/limits") as f:
            line = next(x for x in f if x.startswith("Max address space"))
        assert line.split()[3] == str(verification_pool.memory_bytes), line
