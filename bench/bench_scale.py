"""Scale-out benchmarks (issue 17). Each prints its figures; BENCHMARKS.md records them.

  python -m bench.bench_scale store  [--rounds 200]     S3 (SeaweedFS) vs local folder, per document
  python -m bench.bench_scale audit  [--events 1000000] `verify_chain` over N events on PostgreSQL
  python -m bench.bench_scale throughput [--seconds 180]  agreements/hour, 2 hosts + 2 workers vs 1 + 1

`store`: a signed 三方协议 PDF from a demo data dir (its real size), `get` from the local
content-addressed folder and from a SeaweedFS bucket on loopback, interleaved, median of
`--rounds`; plus the same through the download API (TestClient, app on each store).
`audit`: a fresh PostgreSQL database at the Alembic head, N chained events made by this script
(the same digest as backend.audit_log.service, COPY'd in), then `verify_chain` timed, with the
pure hashing of the same events (no database) as the baseline in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PG_ADMIN = os.environ.get(
    "JINGPIN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _configure(data_dir: Path, db_url: str) -> None:
    os.environ["JINGPIN_DATA_DIR"] = str(data_dir)
    os.environ["JINGPIN_DATABASE_URL"] = db_url
    os.environ["JINGPIN_CONVERTER_WARM_START"] = "false"
    from backend.core.config import get_settings
    from backend.core.db import get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_store(rounds: int) -> None:
    from typer.testing import CliRunner

    from tests import seaweed as weed

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _configure(root / "var", f"sqlite:///{root / 'var' / 'jingpin.sqlite3'}")
        from backend import wiring
        from backend.cli import app as cli

        wiring.install()
        result = CliRunner().invoke(cli, ["demo"])
        assert result.exit_code == 0, result.output
        from sqlmodel import Session, select

        from backend.agreements.models import Agreement, AgreementStatus
        from backend.core.db import get_engine
        from backend.documents.store import FileBlobStore, S3BlobStore, s3_client

        with Session(get_engine()) as s:
            ag = s.exec(
                select(Agreement).where(Agreement.status == AgreementStatus.fully_signed)
            ).first()
            assert ag is not None and ag.current_pdf_sha256
            sha, agreement_id = ag.current_pdf_sha256, ag.id
        local = FileBlobStore(root / "var" / "blobs")
        data = local.get(sha)
        server = weed.start(root / "seaweed")
        try:
            for k, v in server.env().items():
                os.environ[k] = v
            s3 = S3BlobStore(s3_client(server.endpoint_url, "us-east-1"), server.bucket)
            for blob, _ in local.iter_blobs():
                s3.put(local.get(blob))
            times: dict[str, list[float]] = {"local": [], "s3": []}
            for i in range(rounds):
                order = [("local", local), ("s3", s3)] if i % 2 else [("s3", s3), ("local", local)]
                for name, store in order:
                    t0 = time.perf_counter()
                    assert store.get(sha) == data
                    times[name].append(time.perf_counter() - t0)
            loc, rem = _median_ms(times["local"]), _median_ms(times["s3"])
            print(f"document: {len(data) / 1024:.0f} KiB signed agreement PDF, {rounds} rounds")
            print(f"store.get   local {loc:.2f} ms   s3 {rem:.2f} ms   ratio {rem / loc:.2f}x")
            _first_reads(root, data, s3, rounds)
            api = _api_download(agreement_id, rounds // 4 or 1)
            print(
                f"API GET /agreements/{{id}}/document.pdf   local {api['local']:.1f} ms   "
                f"s3 {api['s3']:.1f} ms   ratio {api['s3'] / api['local']:.2f}x"
            )
        finally:
            server.stop()


def _first_reads(root: Path, data: bytes, bucket_only, n: int) -> None:
    """The first read of each of n distinct documents (written by another host) on a host whose
    client and connection are already up, with the host cache as the app builds it: bucket GET +
    digest + cache write. Against the local folder's read of the same documents."""
    from backend.documents.store import FileBlobStore, S3BlobStore

    docs = [data + b"%%" + str(i).encode() for i in range(n)]
    local = FileBlobStore(root / "first-local")
    shas = [local.put(d) for d in docs]
    for d in docs:
        bucket_only.put(d)
    host = S3BlobStore(
        bucket_only.client, bucket_only.bucket, FileBlobStore(root / "first-cache", durable=False)
    )
    times: dict[str, list[float]] = {"local": [], "s3": []}
    for i, sha in enumerate(shas):
        for name, store in (
            (("local", local), ("s3", host)) if i % 2 else (("s3", host), ("local", local))
        ):
            t0 = time.perf_counter()
            store.get(sha)
            times[name].append(time.perf_counter() - t0)
    loc, rem = _median_ms(times["local"]), _median_ms(times["s3"])
    print(
        f"first read per document (host cache on)   local {loc:.2f} ms   s3 {rem:.2f} ms   "
        f"extra {rem - loc:.2f} ms"
    )


def _api_download(agreement_id: int | None, rounds: int) -> dict[str, float]:
    from fastapi.testclient import TestClient

    from backend.app import create_app
    from backend.core.config import get_settings

    out: dict[str, list[float]] = {"local": [], "s3": []}
    clients = {}
    for mode in ("local", "s3"):
        os.environ["JINGPIN_STORE"] = mode
        get_settings.cache_clear()
        c = TestClient(create_app())
        c.__enter__()
        r = c.post("/api/v1/auth/token", data={"username": "auditor", "password": "jingpin-demo"})
        clients[mode] = (c, {"Authorization": f"Bearer {r.json()['access_token']}"})
    url = f"/api/v1/agreements/{agreement_id}/document.pdf"
    for i in range(rounds):
        for mode in ("local", "s3") if i % 2 else ("s3", "local"):
            os.environ["JINGPIN_STORE"] = mode
            get_settings.cache_clear()
            c, h = clients[mode]
            t0 = time.perf_counter()
            r = c.get(url, headers=h)
            out[mode].append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
    for c, _ in clients.values():
        c.__exit__(None, None, None)
    return {k: _median_ms(v) for k, v in out.items()}


def _events(n: int):
    """N chained events as backend.audit_log.service.record would write them."""
    from backend.audit_log.service import GENESIS
    from backend.core.canonical import canonical_json

    prev = GENESIS
    start = datetime(2026, 6, 1, tzinfo=UTC)
    for seq in range(1, n + 1):
        payload = canonical_json({"agreement_id": seq // 7, "party": "yi", "sha256": "ab" * 32})
        payload_sha = hashlib.sha256(payload.encode()).hexdigest()
        at = start + timedelta(seconds=seq)
        body = {
            "seq": seq,
            "at": at.isoformat(),
            "actor_id": 3,
            "actor": "prod-hz",
            "action": "agreement.sign",
            "object_type": "agreement",
            "object_id": str(seq // 7),
            "payload_sha256": payload_sha,
        }
        digest = hashlib.sha256((prev + canonical_json(body)).encode()).hexdigest()
        yield (
            seq,
            at,
            3,
            "prod-hz",
            "agreement.sign",
            "agreement",
            str(seq // 7),
            payload,
            payload_sha,
            prev,
            digest,
        )
        prev = digest


def bench_audit(n: int) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    dbname = f"jingpin_bench_audit_{uuid.uuid4().hex[:6]}"
    admin = make_url(PG_ADMIN).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    url = make_url(PG_ADMIN).set(database=dbname).render_as_string(False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            _configure(Path(tmp), url)
            from backend.migrate import upgrade

            upgrade(url)
            t0 = time.perf_counter()
            dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
            with psycopg.connect(dsn) as conn, conn.cursor() as cur:
                with cur.copy(
                    "COPY audit_events (seq, at, actor_id, actor, action, object_type, "
                    "object_id, payload, payload_sha256, prev_hash, hash) FROM STDIN"
                ) as copy:
                    for row in _events(n):
                        copy.write_row(row)
                conn.commit()
                cur.execute("ANALYZE audit_events")
            made = time.perf_counter() - t0
            print(f"made and loaded {n:,} chained events in {made:.1f} s")

            from sqlmodel import Session

            from backend.audit_log.service import verify_chain
            from backend.core.db import get_engine

            t0 = time.perf_counter()
            with Session(get_engine()) as s:
                status = verify_chain(s)
            verify_s = time.perf_counter() - t0
            assert status.ok and status.events == n, status.message
            t0 = time.perf_counter()
            for _ in _events(n):
                pass
            hashing_s = time.perf_counter() - t0
            print(f"verify_chain over {n:,} events on PostgreSQL: {verify_s:.1f} s (goal <= 30 s)")
            print(f"baseline, the same hashing without a database: {hashing_s:.1f} s")
    finally:
        from backend.core.db import get_engine

        get_engine().dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def _drive(state: Path, seconds: float, clients: int) -> tuple[int, dict[str, float]]:
    """Each client loops over its own work: void the live agreement, create one on one host,
    sign 乙 丙 甲 alternating hosts. Returns agreements fully signed and mean seconds per step."""
    import threading

    from tests.cluster.test_cluster import Cluster, post

    c = Cluster(state)
    titles = [
        r[0]
        for r in c.sql(
            "SELECT DISTINCT w.title FROM works w JOIN agreements a ON a.work_id = w.id "
            "JOIN organisations o ON o.id = a.producer_org_id ORDER BY w.title"
        )
    ]
    parties = {}
    for title in titles:
        rows = c.sql(
            "SELECT u.username, a.producer_org_id, a.unit_org_id FROM works w "
            "JOIN agreements a ON a.work_id = w.id JOIN users u ON u.organisation_id = "
            "a.producer_org_id WHERE w.title = %s AND u.role = 'producer' LIMIT 1",
            title,
        )
        units = c.sql(
            "SELECT u.username FROM works w JOIN agreements a ON a.work_id = w.id JOIN users u "
            "ON u.organisation_id = a.unit_org_id WHERE w.title = %s AND u.role = "
            "'unit_reviewer' LIMIT 1",
            title,
        )
        if rows and units:
            parties[title] = (rows[0][0], units[0][0])
    works = list(parties)[:clients]
    steps: dict[str, list[float]] = {"create": [], "sign": []}
    done = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop(i: int, title: str) -> None:
        producer, unit = parties[title]
        (wid,) = c.sql("SELECT id FROM works WHERE title = %s", title)[0]
        hosts = [c.a, c.b]
        n = 0
        while time.monotonic() < deadline:
            c.sql(
                "UPDATE agreements SET status = 'voided', next_party = NULL WHERE work_id = %s "
                "AND status NOT IN ('voided', 'declined')",
                wid,
            )
            h = hosts[(i + n) % 2]
            t0 = time.perf_counter()
            r = post(h, "/api/v1/agreements", c.headers(h, "ministry"), json={"work_id": wid})
            assert r.status_code == 201, r.text
            with lock:
                steps["create"].append(time.perf_counter() - t0)
            aid = r.json()["id"]
            for k, user in enumerate((producer, unit, "ministry")):
                h = hosts[(i + n + k + 1) % 2]
                t0 = time.perf_counter()
                r = post(
                    h,
                    f"/api/v1/agreements/{aid}/sign",
                    c.headers(h, user),
                    json={"password": "jingpin-demo"},
                )
                assert r.status_code == 200, r.text
                with lock:
                    steps["sign"].append(time.perf_counter() - t0)
                    steps.setdefault(f"sign {'乙丙甲'[k]}", []).append(time.perf_counter() - t0)
            with lock:
                done[0] += 1
            n += 1

    threads = [threading.Thread(target=loop, args=(i, t)) for i, t in enumerate(works)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    means = {k: statistics.mean(v) for k, v in steps.items() if v}
    means["elapsed"] = elapsed
    return done[0], means


def bench_throughput(seconds: float, clients: int) -> None:
    import subprocess

    root = Path(__file__).resolve().parents[1]
    results = {}
    for hosts, workers in ((1, 1), (2, 2)):
        with tempfile.TemporaryDirectory() as tmp:
            state = Path(tmp) / "cluster"
            env = {**os.environ, "CLUSTER_HOSTS": str(hosts), "CLUSTER_WORKERS": str(workers)}
            script = str(root / "scripts" / "cluster.sh")
            subprocess.run(
                ["bash", script, "start", str(state)],
                env=env,
                check=True,
                capture_output=True,
                timeout=600,
            )
            try:
                n, means = _drive(state, seconds, clients)
            finally:
                subprocess.run(["bash", script, "stop", str(state)], capture_output=True)
        per_hour = n / means["elapsed"] * 3600
        results[(hosts, workers)] = per_hour
        print(
            f"{hosts} host(s) + {workers} worker(s): {n} agreements in {means['elapsed']:.0f} s "
            f"= {per_hour:.0f}/hour; mean create {means.get('create', 0):.2f} s, "
            f"mean signature {means.get('sign', 0):.2f} s ({clients} clients); per party "
            + ", ".join(f"{p} {means.get(f'sign {p}', 0):.2f} s" for p in "乙丙甲")
        )
    print(f"ratio 2+2 / 1+1: {results[(2, 2)] / results[(1, 1)]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("store")
    p.add_argument("--rounds", type=int, default=200)
    p = sub.add_parser("audit")
    p.add_argument("--events", type=int, default=1_000_000)
    p = sub.add_parser("throughput")
    p.add_argument("--seconds", type=float, default=180)
    p.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    if args.what == "store":
        bench_store(args.rounds)
    elif args.what == "audit":
        bench_audit(args.events)
    else:
        bench_throughput(args.seconds, args.clients)


if __name__ == "__main__":
    main()
