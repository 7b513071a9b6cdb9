"""Verification benchmark: latency of POST /api/v1/verify for the demo's three-signature 三方协议
against the library's own ``signing.verify.verify_pdf`` and raw pyHanko validation (classic
``validate_pdf_signature`` and the AdES with-time engine our verifier uses) on the same bytes in
the same run, and throughput (reports/s) through the worker pool.

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
import asyncio
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
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asn1crypto import crl as crl_asn1  # noqa: E402
from asn1crypto import x509 as x509_asn1  # noqa: E402
from cryptography import x509  # noqa: E402
from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY  # noqa: E402
from pyhanko.sign.validation import ades, validate_pdf_signature  # noqa: E402
from pyhanko.sign.validation.status import PdfSignatureStatus  # noqa: E402

from bench.bench_agreements import _cpu_model, reference_loop_ms, setup_data_dir  # noqa: E402
from signing import ltv  # noqa: E402
from signing.pades import signing_validation_context  # noqa: E402

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

        def raw_pyhanko() -> float:
            """Raw pyHanko, classic API: validate_pdf_signature per signature, one context."""
            start = time.perf_counter()
            vc = signing_validation_context(
                [x509.load_der_x509_certificate(r) for r in roots], crls
            )
            for sig in PdfFileReader(BytesIO(pdf)).embedded_signatures:
                assert validate_pdf_signature(sig, vc).bottom_line
            return (time.perf_counter() - start) * 1000

        def raw_ades() -> float:
            """Raw pyHanko, AdES engine (§ 5.5 with time), as our verifier calls it."""
            start = time.perf_counter()
            spec = ltv.validation_spec(
                [x509_asn1.Certificate.load(r) for r in roots],
                [crl_asn1.CertificateList.load(c) for c in crls],
                [],
                "hard-fail",
            )

            async def run() -> None:
                for sig in PdfFileReader(BytesIO(pdf)).embedded_signatures:
                    sig.compute_integrity_info(diff_policy=DEFAULT_DIFF_POLICY)
                    result = await ades.ades_with_time_validation(
                        sig.signed_data,
                        validation_spec=spec,
                        raw_digest=sig.compute_digest(),
                        extra_status_kwargs=sig.summarise_integrity_info(),
                        status_cls=PdfSignatureStatus,
                    )
                    assert getattr(result.ades_subindic, "name", "") == "OK", result

            asyncio.run(run())
            return (time.perf_counter() - start) * 1000

        def library() -> float:
            start = time.perf_counter()
            report = verify_pdf(pdf, trust_roots=roots, crls=crls)
            elapsed = (time.perf_counter() - start) * 1000
            assert report.indication == "TOTAL_PASSED"
            return elapsed

        reference_before = reference_loop_ms()
        api(), library(), raw_pyhanko(), raw_ades()  # warm-up (imports, caches, pool workers)
        api_ms: list[float] = []
        lib_ms: list[float] = []
        raw_ms: list[float] = []
        ades_ms: list[float] = []
        runs = [(api, api_ms), (library, lib_ms), (raw_pyhanko, raw_ms), (raw_ades, ades_ms)]
        for i in range(args.rounds):
            for run, into in runs[i % 4 :] + runs[: i % 4]:  # rotate who goes first
                into.append(run())

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
        raw_med, ades_med = statistics.median(raw_ms), statistics.median(ades_ms)
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
            f"library verify_pdf vs raw pyHanko on the same file: classic validate_pdf_signature x3 "
            f"{raw_med:.0f} ms ({lib_med / raw_med:.2f}x), AdES with-time x3 {ades_med:.0f} ms "
            f"({lib_med / ades_med:.2f}x) (goal ≤ 1.2x)"
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
