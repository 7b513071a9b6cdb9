"""Agreements benchmark: the server's time to create and fully sign one 三方协议 (API, real
LibreOffice pool, real CA keys, built-in TSA in-process), and the sign API call against raw
library signing (``signing.pades.sign_pdf``, same key, level, TSA and appearance) of the same PDF.

Run: ``.venv/bin/python -m bench.bench_agreements [--rounds 10]`` from the repo root. It builds a
throw-away data dir with ``jingpin demo`` (≈ 20 s), starts the app in-process (TestClient, the
app's lifespan starts the warm converter pool), then per round: the ministry creates an agreement
for 西湖边的修伞人, 乙 (prod-hz) signs through the API and — interleaved, alternating which goes
first — the library signs the very same prepared PDF, then 丙 and 甲 sign through the API. Between
rounds the finished agreement is set aside (status ``voided``, bench housekeeping only) so the
next round can create a new version. Prints medians; the goal (sign call ≤ 1.3x the library) is
reported, not asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PASSWORD = "jingpin-demo"
TITLE = "西湖边的修伞人"


def _ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return (time.perf_counter() - start) * 1000, value


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def reference_loop_ms() -> float:
    """Best of 5 runs of a fixed pure-Python loop: this VM's speed drifts by tens of per cent
    from one minute to the next (other tenants), so runs are compared by this figure."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, (time.perf_counter() - start) * 1000)
    return best


def setup_data_dir(root: Path) -> None:
    os.environ["JINGPIN_DATA_DIR"] = str(root)
    os.environ["JINGPIN_DATABASE_URL"] = f"sqlite:///{root / 'jingpin.sqlite3'}"
    os.environ["JINGPIN_ENV"] = "dev"
    os.environ["JINGPIN_CONVERTER_WARM_START"] = "true"
    from typer.testing import CliRunner

    from backend.cli import app as cli
    from backend.core.config import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["demo"])
    if result.exit_code != 0:
        raise SystemExit(result.output)


def void_live_agreements(work_id: int) -> None:
    """Bench housekeeping (not a product path): set this work's agreements aside."""
    from sqlmodel import Session, select

    from backend.agreements.models import Agreement, AgreementStatus
    from backend.core.db import writer

    with Session(writer()) as s:
        for ag in s.exec(select(Agreement).where(Agreement.work_id == work_id)).all():
            if ag.status != AgreementStatus.voided:
                ag.status, ag.next_party = AgreementStatus.voided.value, None
                s.add(ag)
        s.commit()


def library_request(pdf_number: str) -> Any:
    """The same signer, level, TSA and appearance the service uses for 乙方."""
    from sqlmodel import Session, select

    from backend.auth.models import User
    from backend.core.db import get_engine
    from backend.orgs.models import Organisation
    from backend.pki.service import font_cache_dir, get_ca, timestamper
    from signing.appearance import SignatureAppearance
    from signing.pades import PadesLevel, SigningRequest, ca_signer

    with Session(get_engine()) as s:
        user = s.exec(select(User).where(User.username == "prod-hz")).one()
        org = s.get(Organisation, user.organisation_id)
        assert org is not None and org.seal_cert_serial
        return SigningRequest(
            field="party_yi",
            signer=ca_signer(get_ca(), org.seal_cert_serial),
            level=PadesLevel.B_T,
            timestamper=timestamper(),
            certify=True,
            appearance=SignatureAppearance(organisation=org.name, signer_name=user.display_name),
            font_cache_dir=font_cache_dir(),
            reason=f"乙方签署三方协议 {pdf_number}",
            location="中国",
        )


def run(rounds: int) -> dict[str, list[float]]:
    from fastapi.testclient import TestClient
    from sqlmodel import Session, select

    from backend.app import create_app
    from backend.auth.models import User
    from backend.auth.passwords import verify_password
    from backend.core.db import get_engine
    from backend.documents.store import get_store
    from backend.pki.service import verify_bytes
    from backend.works.models import Work
    from signing.pades import sign_pdf
    from signing.verify import TOTAL_PASSED

    with Session(get_engine()) as s:
        work_id = s.exec(select(Work).where(Work.title == TITLE)).one().id or 0
        hz_hash = s.exec(select(User).where(User.username == "prod-hz")).one().password_hash
    times: dict[str, list[float]] = {
        k: []
        for k in (
            "create",
            "sign_yi_api",
            "sign_yi_library",
            "sign_bing_api",
            "sign_jia_api",
            "total",
            "argon2_verify",
        )
    }
    with TestClient(create_app()) as client:
        tokens = {}
        for name in ("prod-hz", "unit-zj", "ministry"):
            r = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
            tokens[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}

        def sign(name: str, aid: int) -> Any:
            r = client.post(
                f"/api/v1/agreements/{aid}/sign", json={"password": PASSWORD}, headers=tokens[name]
            )
            assert r.status_code == 200, r.text
            return r.json()

        for i in range(rounds + 1):  # round 0 warms up (fonts, key cache, first conversion)
            void_live_agreements(work_id)
            t_create, r = _ms(
                lambda: client.post(
                    "/api/v1/agreements", json={"work_id": work_id}, headers=tokens["ministry"]
                )
            )
            assert r.status_code == 201, r.text
            ag = r.json()
            prepared = get_store().get(ag["current_pdf_sha256"])
            request = library_request(ag["number"])
            t_lib_first = i % 2 == 0
            if t_lib_first:
                t_lib, lib_pdf = _ms(partial(sign_pdf, prepared, request))
            t_yi, _ = _ms(partial(sign, "prod-hz", ag["id"]))
            if not t_lib_first:
                t_lib, lib_pdf = _ms(partial(sign_pdf, prepared, request))
            t_bing, _ = _ms(partial(sign, "unit-zj", ag["id"]))
            t_jia, done = _ms(partial(sign, "ministry", ag["id"]))
            assert done["status"] == "fully_signed", done
            t_argon, _ = _ms(partial(verify_password, hz_hash, PASSWORD))
            if i == 0:
                assert verify_bytes(lib_pdf).indication == TOTAL_PASSED
                continue
            for key, value in (
                ("create", t_create),
                ("sign_yi_api", t_yi),
                ("sign_yi_library", t_lib),
                ("sign_bing_api", t_bing),
                ("sign_jia_api", t_jia),
                ("total", t_create + t_yi + t_bing + t_jia),
                ("argon2_verify", t_argon),
            ):
                times[key].append(value)
            print(
                f"round {i}: create {t_create:.0f} ms, 乙 API {t_yi:.0f} / library {t_lib:.0f} ms, "
                f"丙 {t_bing:.0f} ms, 甲 {t_jia:.0f} ms",
                flush=True,
            )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jingpin-bench-agreements-") as tmp:
        t0 = time.perf_counter()
        setup_data_dir(Path(tmp))
        print(f"demo data dir ready in {time.perf_counter() - t0:.1f} s", flush=True)
        times = run(args.rounds)
        try:
            from backend.documents.converter import get_pool

            get_pool().stop()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
    med = {k: _median(v) for k, v in times.items()}
    print(
        f"\nmachine: nproc={os.cpu_count()}, CPU {_cpu_model()!r}, load {os.getloadavg()}, "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}"
    )
    print(f"medians of {args.rounds} rounds (ms):")
    for key, value in med.items():
        print(f"  {key:18} {value:8.1f}")
    ratio = med["sign_yi_api"] / med["sign_yi_library"]
    no_pw = (med["sign_yi_api"] - med["argon2_verify"]) / med["sign_yi_library"]
    print(
        f"sign API / library: {ratio:.2f}x (goal ≤ 1.3x: {'met' if ratio <= 1.3 else 'NOT met'}); "
        f"without the argon2id password check: {no_pw:.2f}x"
    )


if __name__ == "__main__":
    main()
