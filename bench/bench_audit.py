"""Audit log benchmark: the cost of signed checkpoints (issue 14.14) on writing and checking.

Run: ``python -m bench.bench_audit`` (from the repo root). A fresh SQLite data dir with the real
CA; rounds interleave the two write cases so background load hits both alike:
- baseline: 200 events, one transaction each, no checkpoint due (JINGPIN_AUDIT_CHECKPOINT_EVENTS
  larger than the run);
- checkpoints: the same with a checkpoint every 100 events (the default);
then `audit verify` (chain + checkpoints) against the chain check alone on the resulting log.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EVENTS = 200
ROUNDS = 3


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    os.environ["JINGPIN_DATA_DIR"] = str(tmp)
    os.environ.pop("JINGPIN_DATABASE_URL", None)
    from backend import wiring
    from backend.audit_log.checkpoints import verify_anchored
    from backend.audit_log.service import record, verify_chain
    from backend.core.config import get_settings
    from backend.core.db import session_scope
    from backend.migrate import upgrade
    from backend.pki.service import init_ca, system_signature_checker

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.ensure_secrets()
    upgrade(settings.db_url)
    init_ca(settings)
    wiring.install()

    def write(every: int) -> float:
        os.environ["JINGPIN_AUDIT_CHECKPOINT_EVENTS"] = str(every)
        get_settings.cache_clear()
        start = time.perf_counter()
        for i in range(EVENTS):
            with session_scope() as s:
                record(s, actor="bench", action="bench.event", object_type="bench", object_id=i)
        return (time.perf_counter() - start) * 1000 / EVENTS

    write(100)  # warm-up: first checkpoint, CA keys unwrapped
    base, anchored = [], []
    for _ in range(ROUNDS):
        base.append(write(10**9))
        anchored.append(write(100))
    b, a = statistics.median(base), statistics.median(anchored)
    print(
        f"write, ms per event (median of {ROUNDS} x {EVENTS}): baseline {b:.2f}, "
        f"checkpoint every 100 {a:.2f} ({a / b:.2f}x)"
    )
    check = system_signature_checker()
    chain_t, full_t = [], []
    with session_scope() as s:
        for _ in range(ROUNDS):
            t = time.perf_counter()
            verify_chain(s)
            chain_t.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            status = verify_anchored(s, check=check)
            full_t.append((time.perf_counter() - t) * 1000)
        assert status.code == 0, status.message
        n = status.events
    c, f = statistics.median(chain_t), statistics.median(full_t)
    print(
        f"verify {n} events: chain only {c:.0f} ms, chain + checkpoints {f:.0f} ms ({f / c:.2f}x)"
    )


if __name__ == "__main__":
    main()
