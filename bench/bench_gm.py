"""国密 profile benchmark: SM2 B-T signing and SM2 verification of a three-signature agreement
against the ECDSA profile, on the same prepared file, in the same run.

Run: ``python -m bench.bench_gm`` (from the repo root). Median milliseconds of interleaved rounds
(each round runs every case once, so background load hits all alike), after one warm-up. Goals:
SM2 B-T signing <= 1.5x ECDSA B-T, SM2 verification <= 1.5x ECDSA verification.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from bench.bench_agreements import _cpu_model  # noqa: E402
from signing.gm.pki import GmCertificateAuthority  # noqa: E402
from signing.gm.signer import gm_signer  # noqa: E402
from signing.gm.sm2 import Sm2PrivateKey  # noqa: E402
from signing.gm.tsa import GmInProcessTimeStamper, GmTimestampAuthority  # noqa: E402
from signing.pades import FieldSpec, PadesLevel, SigningRequest, ca_signer, prepare, sign_pdf  # noqa: E402
from signing.pki import CertificateAuthority  # noqa: E402
from signing.tsa import InProcessTimeStamper, TimestampAuthority  # noqa: E402
from signing.verify import verify_pdf  # noqa: E402
from tests.signing.pdfgen import make_pdf  # noqa: E402

FIELDS = [
    FieldSpec("party_yi", 1, (60, 80, 270, 160)),
    FieldSpec("party_bing", 1, (310, 80, 520, 160)),
    FieldSpec("party_jia", 1, (60, 200, 270, 280)),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-gm-"))
    intl = CertificateAuthority.init(work / "intl", kek=b"k" * 32, root_passphrase=b"pw")
    gm = GmCertificateAuthority.init(work / "gm", kek=b"k" * 32, root_passphrase=b"pw")
    intl_ts = InProcessTimeStamper(TimestampAuthority.from_ca(intl))
    gm_ts = GmInProcessTimeStamper(GmTimestampAuthority.from_ca(gm))
    pdf = prepare(make_pdf(), FIELDS)

    def intl_request(field: str, serial: int, certify: bool = False) -> SigningRequest:
        return SigningRequest(
            field=field,
            signer=ca_signer(intl, serial),
            level=PadesLevel.B_T,
            timestamper=intl_ts,
            certify=certify,
        )

    def gm_request(field: str, serial: int, certify: bool = False) -> SigningRequest:
        return SigningRequest(
            field=field,
            signer=gm_signer(gm, serial),
            digest_algorithm="sm3",
            level=PadesLevel.B_T,
            timestamper=gm_ts,
            certify=certify,
        )

    intl_seal = intl.issue(organisation="杭州某某影视有限公司").serial
    gm_seal = gm.issue(organisation="杭州某某影视有限公司").serial
    intl_sign, gm_sign = intl_request("party_yi", intl_seal), gm_request("party_yi", gm_seal)
    intl_three, gm_three = pdf, pdf
    for i, spec in enumerate(FIELDS):
        org = f"机构{i}"
        intl_three = sign_pdf(
            intl_three, intl_request(spec.name, intl.issue(organisation=org).serial, i == 0)
        )
        gm_three = sign_pdf(
            gm_three, gm_request(spec.name, gm.issue(organisation=org).serial, i == 0)
        )
    # dual: each party an ECDSA and an SM2 signature (six), as the app's dual profile signs
    dual_six = prepare(make_pdf(), FIELDS + [FieldSpec(f"{f.name}_sm2", 1, None) for f in FIELDS])
    for i, spec in enumerate(FIELDS):
        org = f"机构{i}"
        dual_six = sign_pdf(
            dual_six, intl_request(spec.name, intl.issue(organisation=org).serial, i == 0)
        )
        dual_six = sign_pdf(
            dual_six, gm_request(f"{spec.name}_sm2", gm.issue(organisation=org).serial)
        )
    dual_trust = {
        "trust_roots": [intl.root_certificate, gm.root_certificate],
        "crls": [intl.crl_der(), gm.crl_der()],
    }
    intl_trust = {"trust_roots": [intl.root_certificate], "crls": [intl.crl_der()]}
    gm_trust = {"trust_roots": [gm.root_certificate], "crls": [gm.crl_der()]}

    def passed(report: object) -> None:
        assert report.indication == "TOTAL_PASSED", report.to_dict()  # type: ignore[attr-defined]

    sm2_key, ec_key = Sm2PrivateKey.generate(), ec.generate_private_key(ec.SECP256R1())
    sm2_sig, ec_sig = sm2_key.sign(b"x" * 200), ec_key.sign(b"x" * 200, ec.ECDSA(hashes.SHA256()))
    cases: dict[str, Callable[[], object]] = {
        "ECDSA B-T sign (party_yi)": lambda: sign_pdf(pdf, intl_sign),
        "SM2 B-T sign (party_yi)": lambda: sign_pdf(pdf, gm_sign),
        "ECDSA verify_pdf (3 signatures)": lambda: passed(verify_pdf(intl_three, **intl_trust)),
        "SM2 verify_pdf (3 signatures)": lambda: passed(verify_pdf(gm_three, **gm_trust)),
        "dual verify_pdf (3 ECDSA + 3 SM2)": lambda: passed(verify_pdf(dual_six, **dual_trust)),
        "raw ECDSA P-256 sign": lambda: ec_key.sign(b"x" * 200, ec.ECDSA(hashes.SHA256())),
        "raw SM2 sign (Tongsuo)": lambda: sm2_key.sign(b"x" * 200),
        "raw ECDSA P-256 verify": lambda: ec_key.public_key().verify(
            ec_sig, b"x" * 200, ec.ECDSA(hashes.SHA256())
        ),
        "raw SM2 verify (Tongsuo)": lambda: sm2_key.public_key.verify(sm2_sig, b"x" * 200),
    }
    for fn in cases.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - start) * 1000)
    med = {name: statistics.median(v) for name, v in samples.items()}
    print(
        f"machine: nproc={os.cpu_count()}, CPU {_cpu_model()!r}, load {os.getloadavg()}, "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}"
    )
    width = max(map(len, med))
    print(f"{'case':<{width}}  median ms  (n={args.rounds})")
    for name, value in med.items():
        print(f"{name:<{width}}  {value:9.3f}")
    sign = med["SM2 B-T sign (party_yi)"] / med["ECDSA B-T sign (party_yi)"]
    verify = med["SM2 verify_pdf (3 signatures)"] / med["ECDSA verify_pdf (3 signatures)"]
    print(f"\nSM2 B-T sign / ECDSA B-T sign     = {sign:.2f}x (goal <= 1.5x)")
    print(f"SM2 verify / ECDSA verify         = {verify:.2f}x (goal <= 1.5x)")


if __name__ == "__main__":
    main()
