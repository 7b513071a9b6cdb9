"""Verification benchmark: latency of POST /api/v1/verify for the demo's three-signature 三方协议
against the library's own ``signing.verify.verify_pdf`` on the same bytes in the same run, and
throughput (reports/s) through the worker pool.

Run: ``.venv/bin/python -m bench.bench_verify [--rounds 20] [--requests 60] [--clients 4]`` from
the repo root. It builds a throw-away data dir with ``jingpin demo``, serves the app with uvicorn
on a loopback port (real HTTP, multipart upload, worker pool of ``JINGPIN_VERIFY_WORKERS`` —
default one per core), then: latency rounds interleave one API call and one library call
(alternating which goes first; the library gets the same trust anchor and CRL); throughput sends
``--requests`` uploads from ``--clients`` concurrent HTTP clients. Goals (reported, not asserted):
API ≤ 1.3x library, ≥ 20 reports/s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import queue
import resource
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_agreements import _cpu_model, reference_loop_ms, setup_data_dir  # noqa: E402

PASSWORD = "jingpin-demo"


def signed_pdf() -> bytes:
    from sqlmodel import Session, select

    from backend.agreements.models import Agreement, AgreementStatus
    from backend.core.db import get_engine
    from backend.documents.store import get_store

    with Session(get_engine()) as s:
        ag = s.exec(select(Agreement).where(Agreement.status == AgreementStatus.fully_signed)).one()
        return get_store().get(ag.current_pdf_sha256 or "")


def serve() -> tuple[str, object]:
    import uvicorn

    from backend.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server


def _cpu_seconds(pids: list[int] | None = None) -> float:
    """CPU time (user + system) of this process, or of the given processes."""
    if pids is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    import httpx

    with tempfile.TemporaryDirectory(prefix="jingpin-bench-verify-") as tmp:
        os.environ["JINGPIN_CONVERTER_WARM_START"] = "false"
        setup_data_dir(Path(tmp))
        os.environ["JINGPIN_CONVERTER_WARM_START"] = "false"
        from backend.core.config import get_settings
        from backend.verification.service import trust_material
        from backend.verification.worker import get_verification_pool
        from signing.verify import verify_pdf

        get_settings.cache_clear()
        pdf = signed_pdf()
        roots, crls = trust_material()
        base, server = serve()
        pool = get_verification_pool()
        pool.start()
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "auditor", "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        client = httpx.Client(base_url=base, headers=headers, timeout=60)

        def api() -> float:
            start = time.perf_counter()
            r = client.post("/api/v1/verify", files={"file": ("a.pdf", pdf, "application/pdf")})
            elapsed = (time.perf_counter() - start) * 1000
            assert r.status_code == 200 and r.json()["indication"] == "TOTAL_PASSED", r.text[:300]
            return elapsed

        def library() -> float:
            start = time.perf_counter()
            report = verify_pdf(pdf, trust_roots=roots, crls=crls)
            elapsed = (time.perf_counter() - start) * 1000
            assert report.indication == "TOTAL_PASSED"
            return elapsed

        reference_before = reference_loop_ms()
        api(), library()  # warm-up (imports, font and key caches, pool workers)
        api_ms: list[float] = []
        lib_ms: list[float] = []
        for i in range(args.rounds):
            if i % 2:
                api_ms.append(api())
                lib_ms.append(library())
            else:
                lib_ms.append(library())
                api_ms.append(api())

        # Each client keeps one connection, as a program would: a new httpx.Client per request
        # spends ~15 ms of CPU building an SSL context, on the same two cores as the server.
        clients = [
            httpx.Client(base_url=base, headers=headers, timeout=120) for _ in range(args.clients)
        ]
        free: queue.Queue[httpx.Client] = queue.Queue()
        for c in clients:
            free.put(c)

        def one(_: int) -> float:
            c = free.get()
            try:
                start = time.perf_counter()
                r = c.post("/api/v1/verify", files={"file": ("a.pdf", pdf, "application/pdf")})
                assert r.status_code == 200, r.text[:300]
                return time.perf_counter() - start
            finally:
                free.put(c)

        cpu_before, workers_before = _cpu_seconds(), _cpu_seconds(pool.pids())
        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as ex:
            list(ex.map(one, range(args.requests)))
        wall = time.perf_counter() - start
        web_ms = (_cpu_seconds() - cpu_before) * 1000 / args.requests
        worker_ms = (_cpu_seconds(pool.pids()) - workers_before) * 1000 / args.requests
        for c in clients:
            c.close()
        client.close()
        server.should_exit = True  # type: ignore[attr-defined]
        pool.stop()

        api_med, lib_med = statistics.median(api_ms), statistics.median(lib_ms)
        print(f"CPU: {_cpu_model()}, cores: {os.cpu_count()}, workers: {pool.size}")
        print(
            f"reference loop: {reference_before:.0f} ms before, {reference_loop_ms():.0f} ms after "
            "(machine speed; lower is faster)"
        )
        print(f"file: three-signature agreement, {len(pdf):,} bytes")
        print(
            f"latency median over {args.rounds} rounds: API {api_med:.0f} ms, library verify_pdf "
            f"{lib_med:.0f} ms, ratio {api_med / lib_med:.2f}x (goal ≤ 1.3x)"
        )
        print(
            f"throughput: {args.requests} reports from {args.clients} clients in {wall:.1f} s = "
            f"{args.requests / wall:.1f} reports/s (goal ≥ 20/s on 2 cores)"
        )
        print(
            f"CPU per report: workers {worker_ms:.0f} ms, this process (server + clients) "
            f"{web_ms:.0f} ms"
        )


if __name__ == "__main__":
    main()
