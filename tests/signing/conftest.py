"""Real CA, TSA and signed documents, generated once per test session into tmp dirs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from signing.appearance import SignatureAppearance
from signing.pades import FieldSpec, PadesLevel, SigningRequest, ca_signer, prepare, sign_pdf
from signing.pki import CertificateAuthority, IssuedCertificate
from signing.tsa import InProcessTimeStamper, TimestampAuthority
from signing.verify import VerificationReport, verify_pdf
from tests.signing.pdfgen import make_pdf

KEK = b"\x01" * 32
ROOT_PASSPHRASE = b"root passphrase for tests"
CRL_URL = "http://localhost:8000/api/v1/crl/issuing.crl"
PARTIES = (
    ("party_yi", "杭州某某影视有限公司", 1, (60, 80, 270, 160)),
    ("party_bing", "浙江省广播电视局", 1, (310, 80, 520, 160)),
    ("party_jia", "国家广播电视总局", 1, (60, 200, 270, 280)),
)


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority.init(
        tmp_path_factory.mktemp("ca"),
        kek=KEK,
        root_passphrase=ROOT_PASSPHRASE,
        organisation="jingpin 测试",
        crl_url=CRL_URL,
    )


@pytest.fixture(scope="session")
def tsa(ca: CertificateAuthority) -> TimestampAuthority:
    return TimestampAuthority.from_ca(ca)


@pytest.fixture(scope="session")
def timestamper(tsa: TimestampAuthority) -> InProcessTimeStamper:
    return InProcessTimeStamper(tsa)


@pytest.fixture(scope="session")
def font_cache(request: pytest.FixtureRequest) -> Path:
    # Persistent across runs (.pytest_cache): building the GB 2312 subset takes a few seconds.
    return Path(request.config.cache.mkdir("jingpin-signing-fonts"))


@pytest.fixture(scope="session")
def seals(ca: CertificateAuthority) -> dict[str, IssuedCertificate]:
    return {field: ca.issue(organisation=org) for field, org, _, _ in PARTIES}


@pytest.fixture(scope="session")
def prepared_pdf() -> bytes:
    return prepare(make_pdf(), [FieldSpec(f, page, box) for f, _, page, box in PARTIES])


@pytest.fixture(scope="session")
def sign_as(
    ca: CertificateAuthority, timestamper: InProcessTimeStamper, font_cache: Path
) -> Callable[..., bytes]:
    def _sign(
        pdf: bytes,
        field: str,
        cert: IssuedCertificate,
        *,
        level: PadesLevel = PadesLevel.B_T,
        certify: bool = False,
        visible: bool = True,
    ) -> bytes:
        request = SigningRequest(
            field=field,
            signer=ca_signer(ca, cert.serial),
            level=level,
            timestamper=timestamper,
            certify=certify,
            appearance=SignatureAppearance(cert.organisation, "张三") if visible else None,
            font_cache_dir=font_cache,
            trust_roots=[ca.root_certificate],
            crls=[ca.crl_der()],
        )
        return sign_pdf(pdf, request)

    return _sign


@pytest.fixture(scope="session")
def three_signed(
    prepared_pdf: bytes, seals: dict[str, IssuedCertificate], sign_as: Callable[..., bytes]
) -> bytes:
    pdf = prepared_pdf
    for i, (field, _, _, _) in enumerate(PARTIES):
        pdf = sign_as(pdf, field, seals[field], certify=i == 0)
    return pdf


@pytest.fixture(scope="session")
def verify(ca: CertificateAuthority) -> Callable[[bytes], VerificationReport]:
    def _verify(data: bytes) -> VerificationReport:
        return verify_pdf(data, trust_roots=[ca.root_certificate], crls=[ca.crl_der()])

    return _verify


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
