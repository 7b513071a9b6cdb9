"""The scale-out set-up of scripts/cluster.sh (two app hosts, two workers, SeaweedFS, one
PostgreSQL, no shared disk): the agreement chain hops between hosts, and a worker killed in the
middle of a conversion loses nothing and duplicates nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import PG_ADMIN

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "jingpin-demo"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.cluster,
    pytest.mark.skipif(PG_ADMIN is None, reason="needs PostgreSQL"),
]


class Cluster:
    def __init__(self, state: Path) -> None:
        self.state = state
        urls = dict(line.split("=", 1) for line in (state / "urls").read_text().split())
        self.a, self.b = urls["A"], urls["B"]
        env = (state / "cluster.env").read_text()
        db = re.search(r'JINGPIN_DATABASE_URL="([^"]+)"', env)
        assert db
        self.dsn = db.group(1).replace("postgresql+psycopg://", "postgresql://")
        self.tokens: dict[tuple[str, str], dict[str, str]] = {}

    def headers(self, base: str, user: str) -> dict[str, str]:
        if (base, user) not in self.tokens:
            r = httpx.post(
                f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            self.tokens[base, user] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self.tokens[base, user]

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            cur = conn.execute(query, args)
            return cur.fetchall() if cur.description else []

    def pid(self, name: str) -> int:
        return int((self.state / f"{name}.pid").read_text())

    def worker_db_id(self, name: str) -> int:
        found = re.search(r"'worker_id': (\d+)", (self.state / f"{name}.log").read_text())
        assert found, f"{name} has not started"
        return int(found.group(1))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Any:
    state = tmp_path_factory.mktemp("cluster")
    script = ROOT / "scripts" / "cluster.sh"
    run = subprocess.run(
        ["bash", str(script), "start", str(state)], capture_output=True, text=True, timeout=600
    )
    try:
        assert run.returncode == 0, run.stdout + run.stderr
        yield Cluster(state)
    finally:
        subprocess.run(["bash", str(script), "stop", str(state)], timeout=120)


def post(base: str, path: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
    h = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    return httpx.post(f"{base}{path}", headers=h, timeout=120, **kw)


def test_no_host_reads_another_hosts_disk(cluster):
    for host in ("host-a", "host-b", "worker-1", "worker-2"):
        assert not (cluster.state / host / "blobs").exists()  # blobs are in the bucket
    assert cluster.sql("SELECT count(*) FROM ca_files")[0][0] > 0  # the CA is in the database


def test_the_agreement_chain_moves_across_both_hosts(cluster):
    a, b = cluster.a, cluster.b
    (wid,) = cluster.sql("SELECT id FROM works WHERE title = %s", "西湖边的修伞人")[0]
    cluster.sql(
        "UPDATE agreements SET status = 'voided', next_party = NULL WHERE work_id = %s "
        "AND status NOT IN ('voided', 'declined')",
        wid,
    )
    r = post(a, "/api/v1/agreements", cluster.headers(a, "ministry"), json={"work_id": wid})
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    for base, user, status in (
        (b, "prod-hz", "signing"),
        (a, "unit-zj", "signing"),
        (b, "ministry", "finalising"),  # 待归档: a sign-finalise worker archives it
    ):
        r = post(
            base,
            f"/api/v1/agreements/{aid}/sign",
            cluster.headers(base, user),
            json={"password": PASSWORD},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == status
    wait_for(
        "a worker to finalise the agreement",
        lambda: (
            httpx.get(
                f"{a}/api/v1/agreements/{aid}", headers=cluster.headers(a, "auditor"), timeout=30
            ).json()["status"]
            == "fully_signed"
        ),
        120,
    )
    pdf = httpx.get(
        f"{b}/api/v1/agreements/{aid}/document.pdf",
        headers=cluster.headers(b, "auditor"),
        timeout=60,
    )
    assert pdf.status_code == 200
    verified = httpx.post(
        f"{a}/api/v1/verify",
        headers=cluster.headers(a, "auditor"),
        files={"file": ("协议.pdf", pdf.content, "application/pdf")},
        timeout=120,
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["indication"] == "TOTAL_PASSED"
    # the three parties, then the archive form's document timestamp (PAdES B-LTA)
    kinds = [s["kind"] for s in verified.json()["signatures"]]
    assert kinds == ["signature"] * 3 + ["document_timestamp"]

    (m1,) = cluster.sql(
        "SELECT id FROM agreement_milestones WHERE agreement_id = %s ORDER BY seq LIMIT 1", aid
    )[0]
    d = post(
        b,
        "/api/v1/disbursements",
        cluster.headers(b, "finance-a"),
        json={"milestone_id": m1, "amount_fen": 10_000_00, "planned_on": "2026-12-01"},
    )
    assert d.status_code == 201, d.text
    did = d.json()["id"]
    assert (
        post(a, f"/api/v1/disbursements/{did}/approve", cluster.headers(a, "finance-b")).status_code
        == 200
    )
    paid = post(
        b,
        f"/api/v1/disbursements/{did}/pay",
        cluster.headers(b, "finance-b"),  # dual control: not the requester
        json={"voucher_no": "PZ-C1", "bank_reference": "BR-C1", "paid_on": "2026-12-02"},
    )
    assert paid.status_code == 200 and paid.json()["state"] == "paid"
    chain = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-m", "backend.cli", "audit", "verify"],
        env={
            **os.environ,
            **_cluster_env(cluster),
            "JINGPIN_DATA_DIR": str(cluster.state / "host-a"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert chain.returncode == 0, chain.stdout + chain.stderr


def _cluster_env(cluster: Cluster) -> dict[str, str]:
    env = {}
    for line in (cluster.state / "cluster.env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip('"')
    return env


def wait_for(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def test_a_worker_killed_mid_conversion_loses_and_duplicates_nothing(cluster):
    a = cluster.a
    headers = cluster.headers(a, "prod-cd")
    (wid,) = cluster.sql("SELECT id FROM works WHERE title = %s", "熊猫巡护员")[0]
    url = f"{a}/api/v1/works/{wid}/documents/copyright-pledge.pdf"
    # Worker 2 is paused so that worker 1 takes the job; it resumes once worker 1 is dead.
    os.killpg(cluster.pid("worker-2"), signal.SIGSTOP)
    try:
        r = httpx.get(url, headers=headers, timeout=60)
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        w1 = cluster.worker_db_id("worker-1")
        wait_for(
            "worker 1 to start converting",
            lambda: cluster.sql(
                "SELECT 1 FROM procrastinate_jobs WHERE id = %s AND status = 'doing' "
                "AND worker_id = %s",
                job_id,
                w1,
            ),
            60,
        )
        os.killpg(cluster.pid("worker-1"), signal.SIGKILL)  # the worker and its LibreOffice
    finally:
        os.killpg(cluster.pid("worker-2"), signal.SIGCONT)
    status = wait_for(
        "the job to be retried and finished by worker 2",
        lambda: cluster.sql(
            "SELECT status, attempts FROM procrastinate_jobs WHERE id = %s "
            "AND status IN ('succeeded', 'failed')",
            job_id,
        ),
        240,
    )
    assert status[0][0] == "succeeded"
    pdf = httpx.get(url, headers=headers, timeout=60)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    (source,) = cluster.sql(
        "SELECT sha256 FROM documents WHERE id = ("
        "SELECT (args->>'document_id')::int FROM procrastinate_jobs WHERE id = %s)",
        job_id,
    )[0]
    pdf_rows = cluster.sql(
        "SELECT id FROM documents WHERE format = 'pdf' AND source_sha256 = %s", source
    )
    assert len(pdf_rows) == 1
    renders = cluster.sql(
        "SELECT count(*) FROM audit_events WHERE action = 'document.render' AND object_id = %s",
        str(pdf_rows[0][0]),
    )
    assert renders[0][0] == 1
