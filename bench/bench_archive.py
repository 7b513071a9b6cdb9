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

The +12-year rows: the renewed agreement renewed once more nine and a half years on (TSA rolled
then, ``now=``), verified twelve years on — seals and the first two TSA certificates expired, so
every signature goes through the evidence record (ETSI EN 319 102-1 § 5.6.3) — by ``verify_pdf
(at=...)`` and by raw ``ades_lta_validation`` at the same time inside ``signing.ltv.
validation_clock`` (pyHanko alone reads the system clock there and gets it wrong; the shim costs
nothing).
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
        "ours verify_pdf (B-LTA, 3 signatures + doc timestamps)": ours,
        "raw validate_pdf_signature x3 + validate_pdf_timestamp": raw,
        "raw AdES LTA validation x3 (ades_lta_validation)": raw_lta,
    }


def renewed_far_ahead(pdf: bytes, years: float) -> bytes:
    """``pdf`` renewed ``years`` on, the TSA rolled that day (bench housekeeping)."""
    import datetime as dt

    from backend.pki.service import get_ca, root_passphrase
    from signing.archive import ArchiveTrust, renew_archive
    from signing.tsa import InProcessTimeStamper, TimestampAuthority

    ca = get_ca()
    then = dt.datetime.now(dt.UTC) + dt.timedelta(days=365 * years)
    ca.roll_tsa(root_passphrase(), now=then)
    tsa = TimestampAuthority(
        ca.tsa_certificate, ca.tsa_private_key(), [ca.root_certificate], clock=lambda: then
    )
    trust = ArchiveTrust(
        ca.trust_roots, ca.validation_crls(), ca.validation_certificates(), moment=then
    )
    return renew_archive(pdf, InProcessTimeStamper(tsa), trust)


def far_verification_cases(pdf: bytes, years: int) -> dict[str, object]:
    import datetime as dt

    from asn1crypto import crl as asn1_crl
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import ades
    from pyhanko.sign.validation.policy_decl import (
        LocalKnowledge,
        PdfSignatureValidationSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator import policy_decl
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
    from pyhanko_certvalidator.registry import SimpleTrustManager
    from pyhanko_certvalidator.revinfo.archival import CRLContainer

    from backend.pki.service import get_ca
    from signing.ltv import validation_clock
    from signing.pades import to_asn1_cert
    from signing.verify import TOTAL_PASSED, verify_pdf

    ca = get_ca()
    roots, crls = ca.trust_roots, ca.validation_crls()
    at = dt.datetime.now(dt.UTC) + dt.timedelta(days=365 * years)

    def ours() -> None:
        report = verify_pdf(pdf, trust_roots=roots, crls=crls, at=at)
        assert report.indication == TOTAL_PASSED, report.to_dict()

    # The same CRLs as ours get (pyHanko with the DSS alone finds NO_POE for this file: it
    # needs an issuing-CA CRL newer than the one archived with the signatures; see BENCHMARKS).
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build([to_asn1_cert(r) for r in roots]),
                revinfo_policy=policy_decl.CertRevTrustPolicy(
                    revocation_checking_policy=policy_decl.LEGACY_POLICY_MAP["hard-fail"]
                ),
            ),
            local_knowledge=LocalKnowledge(
                known_crls=[CRLContainer(asn1_crl.CertificateList.load(c)) for c in crls]
            ),
        )
    )
    timing = ValidationTimingInfo(
        validation_time=at, best_signature_time=at, point_in_time_validation=True
    )

    def raw_lta() -> None:
        async def run() -> None:
            reader = PdfFileReader(BytesIO(pdf))
            for sig in reader.embedded_regular_signatures:
                result = await ades.ades_lta_validation(sig, spec, timing_info=timing)
                assert result.ades_subindic.status.name == "PASSED", result.failure_msg

        with validation_clock(at):
            asyncio.run(run())

    return {
        f"ours verify_pdf at +{years} y (3 signatures + 3 doc timestamps)": ours,
        f"raw AdES LTA validation x3 at +{years} y": raw_lta,
    }


def interleaved(cases: dict[str, object], rounds: int) -> dict[str, float]:
    """Median ms per case, the cases run in turn each round after one warm-up each."""
    for fn in cases.values():
        fn()  # type: ignore[operator]
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()  # type: ignore[operator]
            samples[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(v) for name, v in samples.items()}


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
    med = interleaved(verification_cases(renewed), args.rounds)
    print(f"verification of the renewed B-LTA agreement ({len(renewed)} bytes), n={args.rounds}")
    for name, value in med.items():
        print(f"  {name:<58} {value:8.1f} ms")
    names = list(med)
    print(f"  ours / raw classic = {med[names[0]] / med[names[1]]:.2f}x (goal <= 1.2x)")
    print(f"  ours / raw AdES LTA = {med[names[0]] / med[names[2]]:.2f}x")

    far = renewed_far_ahead(renewed, 9.5)
    med = interleaved(far_verification_cases(far, 12), args.rounds)
    print(f"the same renewed again 9.5 years on ({len(far)} bytes), verified 12 years on")
    for name, value in med.items():
        print(f"  {name:<58} {value:8.1f} ms")
    names = list(med)
    print(f"  ours / raw AdES LTA = {med[names[0]] / med[names[1]]:.2f}x (goal <= 1.2x)")


if __name__ == "__main__":
    main()
