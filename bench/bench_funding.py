"""Funding benchmark: payment-request (拨付申请) throughput on PostgreSQL with 20 concurrent
clients (threads, one session per request, the real service function with its row locks, ledger
read and audit event).

Two cases: all clients against one milestone (the hot row every request locks) and each client
against its own milestone of one agreement (the agreement row is still locked by every request).
Bounded by a request count and a time limit.

Run: `.venv/bin/python -m bench.bench_funding [--requests 2000] [--seconds 60] [--clients 20]`
(needs PostgreSQL at 127.0.0.1:5432, user postgres, or JINGPIN_BENCH_POSTGRES_URL; builds a
scratch database with the demo data and drops it afterwards).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ADMIN = os.environ.get(
    "JINGPIN_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _admin(sql: str) -> None:
    engine = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def _agreement(n_milestones: int, amount: int) -> tuple[int, list[int]]:
    """A fully signed agreement (rows built directly, gates opened by the real hook)."""
    from sqlmodel import col, select

    from backend.agreements.models import Agreement, AgreementMilestone, AgreementStatus
    from backend.audit_log.service import record
    from backend.auth.models import User
    from backend.core.db import session_scope, utcnow
    from backend.funding.service import open_gates_for_signature

    with session_scope() as s:
        base = s.exec(
            select(Agreement)
            .where(Agreement.status == AgreementStatus.fully_signed.value)
            .order_by(col(Agreement.id))
        ).first()
        assert base is not None, "the demo has no fully signed agreement"
        ministry = s.exec(select(User).where(User.username == "ministry")).one()
        version = (
            max(
                a.version
                for a in s.exec(select(Agreement).where(Agreement.work_id == base.work_id))
            )
            + 1
        )
        ag = Agreement(
            work_id=base.work_id,
            version=version,
            number=f"B-{uuid.uuid4().hex[:10]}",
            status=AgreementStatus.fully_signed.value,
            grant_fen=n_milestones * amount,
            producer_org_id=base.producer_org_id,
            unit_org_id=base.unit_org_id,
            ministry_org_id=base.ministry_org_id,
            created_by=ministry.id or 0,
            fully_signed_at=utcnow(),
        )
        s.add(ag)
        s.flush()
        ms = [
            AgreementMilestone(
                agreement_id=ag.id or 0,
                seq=i + 1,
                name=f"节点{i + 1}",
                amount_fen=amount,
                gate="agreement_signed",
            )
            for i in range(n_milestones)
        ]
        s.add_all(ms)
        s.flush()
        event = record(
            s,
            actor=ministry,
            action="agreement.fully_signed",
            object_type="agreement",
            object_id=ag.id,
            payload={"bench": True},
        )
        open_gates_for_signature(s, ag, event, ministry)
        return ag.id or 0, [m.id or 0 for m in ms]


def run_case(
    name: str, milestone_ids: list[int], clients: int, requests: int, seconds: float
) -> dict[str, float]:
    from sqlmodel import select

    from backend.auth.models import User
    from backend.core.db import session_scope
    from backend.funding import service

    with session_scope() as s:
        users = [
            s.exec(select(User).where(User.username == n)).one() for n in ("finance-a", "finance-b")
        ]
    latencies: list[float] = []
    lock = threading.Lock()
    issued = 0
    deadline = time.monotonic() + seconds
    barrier = threading.Barrier(clients)

    def client(i: int) -> int:
        nonlocal issued
        done = 0
        barrier.wait()
        while time.monotonic() < deadline:
            with lock:
                if issued >= requests:
                    break
                issued += 1
            t0 = time.perf_counter()
            with session_scope() as s:
                service.request_disbursement(
                    s,
                    users[i % 2],
                    milestone_id=milestone_ids[i % len(milestone_ids)],
                    amount_fen=1,
                    planned_on=date.today(),
                )
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)
            done += 1
        return done

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        total = sum(pool.map(client, range(clients)))
    wall = time.perf_counter() - t0
    lat = sorted(latencies)
    result = {
        "requests": total,
        "seconds": wall,
        "per_s": total / wall,
        "p50_ms": statistics.median(lat) * 1000,
        "p95_ms": lat[int(len(lat) * 0.95) - 1] * 1000,
        "max_ms": lat[-1] * 1000,
    }
    print(
        f"{name}: {total} requests in {wall:.1f} s → {result['per_s']:.0f}/s; "
        f"p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, max {result['max_ms']:.1f} ms"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()

    dbname = f"jingpin_bench_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{dbname}"')
    url = make_url(ADMIN).set(database=dbname).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.update(
                {"JINGPIN_DATA_DIR": tmp, "JINGPIN_DATABASE_URL": url, "JINGPIN_ENV": "dev"}
            )
            print("building the demo database …", flush=True)
            subprocess.run(
                [sys.executable, "-m", "backend.cli", "demo"], check=True, capture_output=True
            )
            from backend.core.db import get_engine

            print(
                f"{platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} CPUs · "
                f"Python {platform.python_version()} · {args.clients} clients"
            )
            _ag, hot = _agreement(1, 10**8)
            run_case("one milestone (hot row)", hot, args.clients, args.requests, args.seconds)
            _ag, spread = _agreement(args.clients, 10**7)
            run_case(
                f"{args.clients} milestones of one agreement",
                spread,
                args.clients,
                args.requests,
                args.seconds,
            )
            get_engine().dispose()
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
