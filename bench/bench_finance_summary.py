"""Finance summary benchmark: the per-unit and per-batch summaries (backend.funding.summary,
SQL GROUP BY over milestones and their running totals) over 10,000 signed agreements and
40,000 ledger rows on PostgreSQL.

The script creates a scratch database, migrates it, bulk-inserts synthetic rows with
``INSERT … SELECT generate_series`` (foreign keys checked: reference rows first), runs the
summaries, prints the timings and drops the database. Goal: under 300 ms per summary.

Run: `.venv/bin/python -m bench.bench_finance_summary [--agreements 10000] [--ledger 40000]
[--repeat 20] [--explain]` (PostgreSQL at 127.0.0.1:5432 user postgres, or
JINGPIN_BENCH_POSTGRES_URL). Issue 17's figure: `--agreements 100000 --ledger 400000`.
The baseline in the same run is the cheapest aggregate over the same rows (grants per unit);
`--explain` prints the per-unit summary's EXPLAIN (ANALYZE, BUFFERS).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import uuid
from datetime import date

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

ADMIN = os.environ.get(
    "JINGPIN_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
FILLER = {
    "integer": "0",
    "bigint": "0",
    "smallint": "0",
    "boolean": "false",
    "text": "'x'",
    "character varying": "'x'",
    "date": "current_date",
    "timestamp with time zone": "now()",
    "timestamp without time zone": "now()",
    "double precision": "0",
}


BASELINE = (
    "SELECT w.unit_id, count(*), sum(a.grant_fen) FROM agreements a "
    "JOIN works w ON w.id = a.work_id WHERE a.status = 'fully_signed' GROUP BY w.unit_id"
)


def _backfill_sql() -> str:
    import importlib

    mod = importlib.import_module("backend.migrations.versions.c4f2b8d61e03_milestone_money")
    return str(mod.BACKFILL)


def _admin(sql: str) -> None:
    engine = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def _insert(conn, table: str, n: int, values: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """INSERT n rows (i = 1..n) with the given column expressions; other NOT NULL columns
    without a default get a filler of their type."""
    required = conn.execute(
        text(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = :t "
            "AND is_nullable = 'NO' AND column_default IS NULL"
        ),
        {"t": table},
    ).all()
    cols = dict(values)
    for name, dtype in required:
        if name not in cols and name != "id":
            cols[name] = FILLER[dtype]
    names = ", ".join(cols)
    exprs = ", ".join(cols.values())
    conn.execute(
        text(f"INSERT INTO {table} ({names}) SELECT {exprs} FROM generate_series(1, {n}) AS i")
    )  # noqa: S608


def populate(engine: Engine, agreements: int, ledger: int) -> dict[str, int]:
    """Units, batches, orgs, users, works, agreements with three milestones each, gate
    openings, disbursements and entries (about ``ledger`` ledger rows in all)."""
    units, per = 40, agreements
    disb = ledger * 2 // 5  # 40 % requests, 60 % entries (approve / pay / some reversals)
    with engine.begin() as conn:
        _insert(
            conn,
            "recommending_units",
            units,
            {
                "code": "'u' || i",
                "name": "'单位' || i",
                "short_name": "'单位' || i",
                "kind": "'provincial'",
            },
        )
        _insert(conn, "batches", 3, {"year": "2026", "number": "i"})
        _insert(conn, "organisations", units + 2, {"name": "'机构' || i", "kind": "'producer'"})
        org = conn.execute(text("SELECT min(id) FROM organisations")).scalar_one()
        _insert(
            conn,
            "users",
            2,
            {
                "username": "'bench' || i",
                "organisation_id": str(org),
                "role": "'finance'",
                "display_name": "'财务' || i",
            },
        )
        uid = conn.execute(text("SELECT min(id) FROM users")).scalar_one()
        unit0 = conn.execute(text("SELECT min(id) FROM recommending_units")).scalar_one()
        batch0 = conn.execute(text("SELECT min(id) FROM batches")).scalar_one()
        _insert(
            conn,
            "works",
            per,
            {
                "title": "'作品' || i",
                "organisation_id": str(org),
                "unit_id": f"{unit0} + i % {units}",
                "batch_id": f"{batch0} + i % 3",
                "status": "'confirmed'",
                "direction": "'new_era'",
                "episodes": "30",
            },
        )
        w0 = conn.execute(text("SELECT min(id) FROM works")).scalar_one()
        _insert(
            conn,
            "agreements",
            per,
            {
                "work_id": f"{w0} + i - 1",
                "version": "1",
                "number": "'BA-' || i",
                "status": "'fully_signed'",
                "grant_fen": "100000000",
                "producer_org_id": str(org),
                "unit_org_id": str(org),
                "ministry_org_id": str(org),
                "created_by": str(uid),
            },
        )
        a0 = conn.execute(text("SELECT min(id) FROM agreements")).scalar_one()
        _insert(
            conn,
            "agreement_milestones",
            per * 3,
            {
                "agreement_id": f"{a0} + (i - 1) / 3",
                "seq": "1 + (i - 1) % 3",
                "name": "'节点'",
                "amount_fen": "CASE WHEN (i - 1) % 3 = 0 THEN 40000000 ELSE 30000000 END",
                "gate": "(ARRAY['agreement_signed','midterm_check_passed','acceptance_passed'])[1 + (i - 1) % 3]",
                "planned_date": "DATE '2026-06-01' + (i % 300)",
            },
        )
        m0 = conn.execute(text("SELECT min(id) FROM agreement_milestones")).scalar_one()
        # Gates open: every first milestone, half of the second ones.
        conn.execute(
            text(
                "INSERT INTO milestone_gate_openings (milestone_id, agreement_id, gate, source, reason, opened_at) "
                "SELECT id, agreement_id, gate, 'manual', 'bench', now() FROM agreement_milestones "
                "WHERE seq = 1 OR (seq = 2 AND agreement_id % 2 = 0)"
            )
        )
        # Disbursements against open milestones, round robin.
        _insert(
            conn,
            "disbursements",
            disb,
            {
                "agreement_id": f"{a0} + (i - 1) % {per}",
                "milestone_id": f"{m0} + ((i - 1) % {per}) * 3 + ((i - 1) / {per}) % 2",
                "amount_fen": "1000000",
                "payee_org_id": str(org),
                "payee_name": "'收款'",
                "bank_name": "'银行'",
                "bank_account": "'6222'",
                "requested_by": str(uid),
                "requested_at": "now()",
            },
        )
        d0 = conn.execute(text("SELECT min(id) FROM disbursements")).scalar_one()
        entries = ledger - disb
        approvals = min(disb, entries * 5 // 9)
        payments = min(approvals, entries * 3 // 9)
        reversals = max(entries - approvals - payments, 0)
        for step, kind, n, delta in (
            ("decision", "approved", approvals, "0"),
            ("payment", "paid", payments, "1000000"),
            ("reversal", "reversed", reversals, "-1000000"),
        ):
            _insert(
                conn,
                "disbursement_entries",
                n,
                {
                    "disbursement_id": f"{d0} + i - 1",
                    "milestone_id": f"(SELECT milestone_id FROM disbursements WHERE id = {d0} + i - 1)",
                    "step": f"'{step}'",
                    "kind": f"'{kind}'",
                    "paid_delta_fen": delta,
                    "actor_id": str(uid + 1),
                    "at": "now()",
                    "paid_on": "current_date - (i % 200)" if kind == "paid" else "NULL",
                },
            )
        # The rows above bypass the service, so fill the running totals the way the migration
        # backfills them (c4f2b8d61e03).
        conn.execute(text(_backfill_sql()))
        conn.execute(text("ANALYZE"))
        counts = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
            for t in (
                "agreements",
                "agreement_milestones",
                "disbursements",
                "disbursement_entries",
                "milestone_money",
            )
        }
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agreements", type=int, default=10_000)
    parser.add_argument("--ledger", type=int, default=40_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE per unit")
    args = parser.parse_args()
    dbname = f"jingpin_bench_fin_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{dbname}"')
    url = make_url(ADMIN).set(database=dbname).render_as_string(hide_password=False)
    try:
        from sqlmodel import Session

        from backend.core.db import make_engine
        from backend.funding.summary import monthly_paid, summary, summary_query
        from backend.migrate import upgrade

        upgrade(url)
        engine = make_engine(url)
        t0 = time.perf_counter()
        counts = populate(engine, args.agreements, args.ledger)
        load_s = time.perf_counter() - t0
        ledger_rows = counts["disbursements"] + counts["disbursement_entries"]
        print(f"rows: {counts} (ledger rows {ledger_rows}); bulk insert {load_s:.1f} s")
        today = date(2026, 11, 26)
        results = {}
        with Session(engine) as s:
            for name, fn in (
                # Baseline: the cheapest aggregate over the same rows (grants per unit, one
                # join, no ledger) - the floor a summary of these tables cannot go below.
                ("baseline scan", lambda: s.execute(text(BASELINE)).all()),
                ("per unit", lambda: summary(s, "unit", today)),
                ("per batch", lambda: summary(s, "batch", today)),
                ("monthly curve", lambda: monthly_paid(s)),
            ):
                fn()  # warm
                times = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    out = fn()
                    times.append((time.perf_counter() - t) * 1000)
                results[name] = (statistics.median(times), max(times), len(out))
            if args.explain:
                sql = summary_query("unit", today).compile(
                    dialect=engine.dialect, compile_kwargs={"literal_binds": True}
                )
                plan = s.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")).all()
                print("\n".join(r[0] for r in plan))
        for name, (med, worst, n) in results.items():
            print(f"{name:14s} median {med:7.1f} ms  max {worst:7.1f} ms  ({n} rows)")
        goal = all(med < 300 for name, (med, _w, _n) in results.items() if name != "baseline scan")
        print(f"goal < 300 ms: {'met' if goal else 'MISSED'}")
        print(
            f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        )
        engine.dispose()
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
