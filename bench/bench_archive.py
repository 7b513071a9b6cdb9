"""Archive benchmarks: `jingpin archive renew` over N fully signed agreements, and verification of
the archived (PAdES B-LTA) agreement against raw pyHanko on the same file in the same run.

Run: ``.venv/bin/python -m bench.bench_archive [--agreements 1000] [--rounds 15]`` from the repo
root. Setup (not timed): a throw-away data dir from ``jingpin demo`` (≈ 20 s, real LibreOffice,
real signatures); the TSA is rolled to a 100-day certificate and the demo's fully signed
agreement is re-archived with it, then cloned into N agreement rows (bench housekeeping, not a
product path) so that every one is due. Timed: the real command, ``archive renew`` (default
window 365 days: the TSA rolls to a ten-year certificate first, then each agreement is renewed
in its own transaction: read the blob, validate the newest timestamp, DSS, new document
timestamp, store, audit event), then a second run (nothing due, the idempotent daily case).
CPU seconds are the process's own (single-threaded command), so agreements/s per core =
N / CPU seconds.

Verification rows interleave, per round: ``signing.verify.verify_pdf`` (our report), pyHanko's
``validate_pdf_signature`` / ``validate_pdf_timestamp`` over every signature of the file, and
pyHanko's AdES LTA engine (``ades_lta_validation``) over the three signatures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_agreements import _cpu_model, reference_loop_ms, setup_data_dir  # noqa: E402


def prepare(agreements: int) -> bytes:
    """Make ``agreements`` fully signed agreements, all due for renewal; returns the archive."""
    from sqlmodel import Session, select

    from backend.agreements.models import Agreement, AgreementSignature, AgreementStatus
    from backend.core.db import writer
    from backend.documents.store import get_store
    from backend.pki.service import archive_trust, get_ca, root_passphrase
    from signing.archive import archive_pdf
    from signing.tsa import InProcessTimeStamper, TimestampAuthority

    ca = get_ca()
    ca.roll_tsa(root_passphrase(), days=100)
    tsa = InProcessTimeStamper(
        TimestampAuthority(ca.tsa_certificate, ca.tsa_private_key(), [ca.root_certificate])
    )
    with Session(writer()) as s:
        ag = s.exec(
            select(Agreement).where(Agreement.status == AgreementStatus.fully_signed.value)
        ).first()
        assert ag is not None and ag.id is not None
        jia = s.exec(
            select(AgreementSignature).where(
                AgreementSignature.agreement_id == ag.id, AgreementSignature.party == "jia"
            )
        ).one()
        archived = archive_pdf(get_store().get(jia.revision_sha256), tsa, archive_trust())
        sha = get_store().put(archived)
        ag.current_pdf_sha256 = sha
        s.add(ag)
        fields = ag.model_dump(exclude={"id", "number", "version", "current_pdf_sha256"})
        for i in range(1, agreements):
            s.add(
                Agreement(
                    **fields, number=f"BENCH-{i:05d}", version=100 + i, current_pdf_sha256=sha
                )
            )
        s.commit()
    return archived


def time_renew() -> tuple[float, float, str]:
    from typer.testing import CliRunner

    from backend.cli import app as cli

    wall, cpu = time.perf_counter(), time.process_time()
    result = CliRunner().invoke(cli, ["archive", "renew"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return wall, cpu, result.output.strip().splitlines()[-1]


def verification_cases(pdf: bytes) -> dict[str, object]:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import ades, validate_pdf_signature, validate_pdf_timestamp
    from pyhanko.sign.validation.policy_decl import (
        PdfSignatureValidationSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator import policy_decl
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.registry import SimpleTrustManager

    from backend.pki.service import get_ca
    from signing.pades import signing_validation_context, to_asn1_cert
    from signing.verify import TOTAL_PASSED, verify_pdf

    ca = get_ca()
    roots, crls = ca.trust_roots, ca.validation_crls()

    def ours() -> None:
        report = verify_pdf(pdf, trust_roots=roots, crls=crls)
        assert report.indication == TOTAL_PASSED, report.to_dict()

    def raw() -> None:
        vc = signing_validation_context(roots, crls, ca.validation_certificates())
        reader = PdfFileReader(BytesIO(pdf))
        for sig in reader.embedded_regular_signatures:
            assert validate_pdf_signature(sig, vc).bottom_line
        for ts in reader.embedded_timestamp_signatures:
            assert validate_pdf_timestamp(ts, validation_context=vc).valid

    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build([to_asn1_cert(r) for r in roots]),
                revinfo_policy=policy_decl.CertRevTrustPolicy(
                    revocation_checking_policy=policy_decl.LEGACY_POLICY_MAP["hard-fail"]
                ),
            )
        )
    )

    def raw_lta() -> None:
        async def run() -> None:
            reader = PdfFileReader(BytesIO(pdf))
            for sig in reader.embedded_regular_signatures:
                result = await ades.ades_lta_validation(sig, spec)
                assert result.ades_subindic.status.name == "PASSED", result.failure_msg

        asyncio.run(run())

    return {
        "ours verify_pdf (B-LTA, 3 signatures + doc timestamp)": ours,
        "raw validate_pdf_signature x3 + validate_pdf_timestamp": raw,
        "raw AdES LTA validation x3 (ades_lta_validation)": raw_lta,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agreements", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)  # pyHanko logs every expected "fetching not allowed"
    work = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    print(
        f"cpu: {_cpu_model()}, nproc {os.cpu_count()}, reference loop {reference_loop_ms():.0f} ms"
    )
    setup_data_dir(work)
    prepare(args.agreements)

    wall, cpu, line = time_renew()
    n = args.agreements
    print(f"archive renew, {n} due: {wall:.1f} s wall, {cpu:.1f} s CPU — {line}")
    print(f"  = {n / wall:.1f} agreements/s wall, {n / cpu:.1f} per CPU-second (goal >= 20)")
    wall2, cpu2, line2 = time_renew()
    print(f"archive renew again, none due: {wall2:.2f} s wall, {cpu2:.2f} s CPU — {line2}")

    from sqlmodel import Session, select

    from backend.agreements.models import Agreement
    from backend.core.db import writer
    from backend.documents.store import get_store

    with Session(writer()) as s:
        ag = s.exec(select(Agreement).where(Agreement.number == "BENCH-00001")).one()
        renewed = get_store().get(ag.current_pdf_sha256 or "")
    cases = verification_cases(renewed)
    for fn in cases.values():  # warm-up
        fn()  # type: ignore[operator]
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()  # type: ignore[operator]
            samples[name].append((time.perf_counter() - start) * 1000)
    med = {name: statistics.median(v) for name, v in samples.items()}
    print(f"verification of the renewed B-LTA agreement ({len(renewed)} bytes), n={args.rounds}")
    for name, value in med.items():
        print(f"  {name:<58} {value:8.1f} ms")
    names = list(med)
    print(f"  ours / raw classic = {med[names[0]] / med[names[1]]:.2f}x (goal <= 1.2x)")
    print(f"  ours / raw AdES LTA = {med[names[0]] / med[names[2]]:.2f}x")


if __name__ == "__main__":
    main()
