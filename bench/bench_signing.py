"""Signing benchmarks: our PAdES levels vs raw pyHanko on the same file, TSA cost, verification.

Run: ``python -m bench.bench_signing`` or ``python bench/bench_signing.py`` (from the repo root).
Our signatures reserve their /Contents from the key, chain and token size
(``signing.pades.signature_bytes_reserved``); raw pyHanko runs its default size-estimating dry
run. Prints median milliseconds; measurements are interleaved (round-robin) so background load hits
every variant alike.
"""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asn1crypto import keys as asn1_keys  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402
from pyhanko.sign import signers  # noqa: E402
from pyhanko.sign.fields import SigSeedSubFilter  # noqa: E402
from pyhanko.sign.timestamps import DummyTimeStamper  # noqa: E402
from pyhanko.sign.validation import validate_pdf_signature  # noqa: E402

from signing.appearance import SignatureAppearance  # noqa: E402
from signing.pades import (  # noqa: E402
    FieldSpec,
    PadesLevel,
    SigningRequest,
    ca_signer,
    prepare,
    sign_pdf,
    signing_validation_context,
    to_asn1_cert,
)
from signing.pki import CertificateAuthority  # noqa: E402
from signing.tsa import InProcessTimeStamper, TimestampAuthority  # noqa: E402
from signing.verify import verify_pdf  # noqa: E402
from tests.signing.pdfgen import make_pdf  # noqa: E402

ROUNDS = 15


def _dummy_timestamper() -> tuple[DummyTimeStamper, x509.Certificate]:
    """pyHanko's DummyTimeStamper is RSA-only: give it a throwaway RSA-2048 TSA."""
    import datetime as dt

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench dummy TSA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    stamper = DummyTimeStamper(
        tsa_cert=to_asn1_cert(cert), tsa_key=asn1_keys.PrivateKeyInfo.load(key_der)
    )
    return stamper, cert


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-signing-"))
    ca = CertificateAuthority.init(
        work / "ca", kek=b"k" * 32, root_passphrase=b"pw", crl_url="http://localhost/crl"
    )
    tsa = TimestampAuthority.from_ca(ca)
    ours_ts = InProcessTimeStamper(tsa)
    dummy_ts, dummy_tsa_cert = _dummy_timestamper()
    fields = [
        FieldSpec("party_yi", 1, (60, 80, 270, 160)),
        FieldSpec("party_bing", 1, (310, 80, 520, 160)),
        FieldSpec("party_jia", 1, (60, 200, 270, 280)),
    ]
    pdf = prepare(make_pdf(), fields)
    seal = ca.issue(organisation="杭州某某影视有限公司")
    signer = ca_signer(ca, seal.serial)
    roots, crls = [ca.root_certificate], [ca.crl_der()]
    fonts = work / "fonts"
    appearance = SignatureAppearance("杭州某某影视有限公司", "张三")

    def ours(level: PadesLevel, visible: bool = False) -> Callable[[], bytes]:
        request = SigningRequest(
            field="party_yi",
            signer=signer,
            level=level,
            timestamper=ours_ts,
            trust_roots=roots,
            crls=crls,
            appearance=appearance if visible else None,
            font_cache_dir=fonts,
        )
        return lambda: sign_pdf(pdf, request)

    def raw(timestamper: DummyTimeStamper | None, lt: bool = False) -> Callable[[], bytes]:
        def run() -> bytes:
            meta = signers.PdfSignatureMetadata(
                field_name="party_yi",
                md_algorithm="sha256",
                subfilter=SigSeedSubFilter.PADES,
                embed_validation_info=lt,
                validation_context=(
                    signing_validation_context([*roots, dummy_tsa_cert], crls) if lt else None
                ),
            )
            out = signers.PdfSigner(meta, signer=signer, timestamper=timestamper).sign_pdf(
                IncrementalPdfFileWriter(BytesIO(pdf))
            )
            return bytes(out.getbuffer())

        return run

    nonce, req = ours_ts.request_cms(hashlib.sha256(b"bench").digest(), "sha256")
    req_der = req.dump()

    # three-signature document for verification
    three = pdf
    for i, spec in enumerate(fields):
        cert = ca.issue(organisation=f"机构{i}")
        three = sign_pdf(
            three,
            SigningRequest(
                field=spec.name,
                signer=ca_signer(ca, cert.serial),
                timestamper=ours_ts,
                certify=i == 0,
            ),
        )

    def raw_verify() -> None:
        vc = signing_validation_context(roots, crls)
        for sig in PdfFileReader(BytesIO(three)).embedded_signatures:
            validate_pdf_signature(sig, vc)

    def our_verify() -> None:
        report = verify_pdf(three, trust_roots=roots, crls=crls)
        assert report.indication == "TOTAL_PASSED", report.to_dict()

    cases: dict[str, Callable[[], object]] = {
        "raw pyHanko B-B": raw(None),
        "raw pyHanko B-T (DummyTimeStamper)": raw(dummy_ts),
        "raw pyHanko B-LT (DummyTimeStamper)": raw(dummy_ts, lt=True),
        "ours B-B": ours(PadesLevel.B_B),
        "ours B-T (built-in TSA)": ours(PadesLevel.B_T),
        "ours B-LT (built-in TSA, CRL+chain in DSS)": ours(PadesLevel.B_LT),
        "ours B-T visible (CJK appearance)": ours(PadesLevel.B_T, visible=True),
        "TSA respond() per token": lambda: tsa.respond(req_der),
        "raw validate_pdf_signature x3": raw_verify,
        "ours verify_pdf (3 signatures)": our_verify,
    }
    for fn in cases.values():  # warm-up: font cache, dummy responses, imports
        fn()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(ROUNDS):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - start) * 1000)
    med = {name: statistics.median(v) for name, v in samples.items()}
    width = max(map(len, med))
    print(f"{'case':<{width}}  median ms  (n={ROUNDS})")
    for name, value in med.items():
        print(f"{name:<{width}}  {value:9.2f}")
    print()
    print(
        f"ours B-T / raw B-B          = {med['ours B-T (built-in TSA)'] / med['raw pyHanko B-B']:.2f}x (goal <= 1.0x)"
    )
    print(
        f"ours B-T - ours B-B (TSA)   = {med['ours B-T (built-in TSA)'] - med['ours B-B']:.2f} ms (goal < 5 ms)"
    )
    print(
        f"ours B-T / raw B-T (Dummy)  = {med['ours B-T (built-in TSA)'] / med['raw pyHanko B-T (DummyTimeStamper)']:.2f}x"
    )
    print(
        f"ours B-LT / raw B-LT        = {med['ours B-LT (built-in TSA, CRL+chain in DSS)'] / med['raw pyHanko B-LT (DummyTimeStamper)']:.2f}x"
    )
    print(
        f"verify ours / raw           = {med['ours verify_pdf (3 signatures)'] / med['raw validate_pdf_signature x3']:.2f}x (goal <= 1.2x)"
    )


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
