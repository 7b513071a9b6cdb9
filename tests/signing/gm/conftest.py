"""A real SM2 CA, TSA and three-party SM2-signed agreement, made once per test session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from signing.appearance import SignatureAppearance
from signing.gm.pki import GmCertificateAuthority
from signing.gm.signer import gm_signer
from signing.gm.tsa import GmInProcessTimeStamper, GmTimestampAuthority
from signing.pades import PadesLevel, SigningRequest, sign_pdf
from signing.pki import IssuedCertificate
from signing.verify import VerificationReport, verify_pdf
from tests.signing.conftest import CRL_URL, KEK, PARTIES, ROOT_PASSPHRASE


@pytest.fixture(scope="session")
def gm_ca(tmp_path_factory: pytest.TempPathFactory) -> GmCertificateAuthority:
    return GmCertificateAuthority.init(
        tmp_path_factory.mktemp("gm-ca"),
        kek=KEK,
        root_passphrase=ROOT_PASSPHRASE,
        organisation="jingpin 国密测试",
        crl_url=CRL_URL,
    )


@pytest.fixture(scope="session")
def gm_tsa(gm_ca: GmCertificateAuthority) -> GmTimestampAuthority:
    return GmTimestampAuthority.from_ca(gm_ca)


@pytest.fixture(scope="session")
def gm_seals(gm_ca: GmCertificateAuthority) -> dict[str, IssuedCertificate]:
    return {field: gm_ca.issue(organisation=org) for field, org, _, _ in PARTIES}


@pytest.fixture(scope="session")
def gm_sign_as(
    gm_ca: GmCertificateAuthority, gm_tsa: GmTimestampAuthority, font_cache: Path
) -> Callable[..., bytes]:
    def _sign(
        pdf: bytes,
        field: str,
        cert: IssuedCertificate,
        *,
        certify: bool = False,
        visible: bool = True,
        level: PadesLevel = PadesLevel.B_T,
    ) -> bytes:
        return sign_pdf(
            pdf,
            SigningRequest(
                field=field,
                signer=gm_signer(gm_ca, cert.serial),
                digest_algorithm="sm3",
                level=level,
                timestamper=GmInProcessTimeStamper(gm_tsa),
                certify=certify,
                appearance=SignatureAppearance(cert.organisation, "张三") if visible else None,
                font_cache_dir=font_cache,
            ),
        )

    return _sign


@pytest.fixture(scope="session")
def gm_three_signed(
    prepared_pdf: bytes,
    gm_seals: dict[str, IssuedCertificate],
    gm_sign_as: Callable[..., bytes],
) -> bytes:
    pdf = prepared_pdf
    for i, (field, _, _, _) in enumerate(PARTIES):
        pdf = gm_sign_as(pdf, field, gm_seals[field], certify=i == 0)
    return pdf


@pytest.fixture(scope="session")
def gm_verify(gm_ca: GmCertificateAuthority) -> Callable[[bytes], VerificationReport]:
    def _verify(data: bytes) -> VerificationReport:
        return verify_pdf(data, trust_roots=[gm_ca.root_certificate], crls=[gm_ca.crl_der()])

    return _verify
