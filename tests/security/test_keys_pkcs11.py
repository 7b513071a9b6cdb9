"""The issuing CA's key in a real SoftHSM2 token (issue 14.11): generated in the token, never in
the key store; certificates and CRLs it signs verify, and so does a PAdES seal under it — through
the signing library and through the backend's settings (JINGPIN_PKCS11_*)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signing.pades import FieldSpec, PadesLevel, SigningRequest, ca_signer, prepare, sign_pdf
from signing.pkcs11_key import TokenKey
from signing.pki import CertificateAuthority
from signing.tsa import InProcessTimeStamper, TimestampAuthority
from signing.verify import TOTAL_PASSED, verify_pdf
from tests.signing.pdfgen import make_pdf

SOFTHSM_LIB = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "4321"
pytestmark = pytest.mark.skipif(
    not Path(SOFTHSM_LIB).exists(), reason=f"SoftHSM2 not installed ({SOFTHSM_LIB} missing)"
)


@pytest.fixture(scope="module")
def token_label(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh token in a tmp dir of its own (SOFTHSM2_CONF). SoftHSM reads its configuration
    when the library initialises: one already loaded by another test is initialised again."""
    import pkcs11

    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    label = f"jingpin-ca-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            label,
            "--pin",
            PIN,
            "--so-pin",
            "87654321",
        ],
        check=True,
        capture_output=True,
    )
    lib = pkcs11.lib(SOFTHSM_LIB)
    if lib.initialized:
        lib.reinitialize()
    yield label
    if old is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = old
    lib.reinitialize()


def test_a_ca_whose_issuing_key_is_in_softhsm_issues_certificates_crls_and_seals(
    tmp_path: Path, token_label: str
) -> None:
    token = TokenKey(SOFTHSM_LIB, token_label, PIN, "issuing-ca")
    ca = CertificateAuthority.init(
        tmp_path / "ca", kek=b"k" * 32, root_passphrase=b"root", issuing_token=token
    )
    assert "issuing" not in ca.keys.key_ids()  # the key store never saw it
    public = ca.issuing_certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public == token.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    seal = ca.issue(organisation="令牌 CA 签发的机构")
    seal.certificate.verify_directly_issued_by(ca.issuing_certificate)
    ca.revoke(ca.issue(organisation="将被吊销").serial_hex, "superseded")
    crl = x509.load_der_x509_crl(ca.crl_der())
    assert crl.is_signature_valid(ca.issuing_certificate.public_key())  # type: ignore[arg-type]

    pdf = prepare(make_pdf(), [FieldSpec("party_yi", 1, (60, 80, 270, 160))])
    signed = sign_pdf(
        pdf,
        SigningRequest(
            field="party_yi",
            signer=ca_signer(ca, seal.serial),
            level=PadesLevel.B_T,
            timestamper=InProcessTimeStamper(TimestampAuthority.from_ca(ca)),
        ),
    )
    report = verify_pdf(signed, trust_roots=[ca.root_certificate], crls=[ca.crl_der()])
    assert report.indication == TOTAL_PASSED, report.to_dict()

    # Opened without the token, the CA cannot sign as the issuing CA at all.
    bare = CertificateAuthority.open(tmp_path / "ca", kek=b"k" * 32)
    with pytest.raises(Exception, match="issuing"):
        bare.issue(organisation="无令牌")


def test_the_backend_uses_the_token_named_in_the_settings(
    tmp_path: Path, token_label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backend.core.config import Settings
    from backend.pki import service

    monkeypatch.setenv("JINGPIN_PKCS11_LIB", SOFTHSM_LIB)
    monkeypatch.setenv("JINGPIN_PKCS11_TOKEN", token_label)
    monkeypatch.setenv("JINGPIN_PKCS11_PIN", PIN)
    monkeypatch.setenv("JINGPIN_PKCS11_ISSUING_KEY_LABEL", "backend-issuing")
    settings = Settings(data_dir=tmp_path / "var", kek="k" * 32, ca_root_passphrase="root")
    ca = service.init_ca(settings)
    assert ca.issuing_token is not None and ca.issuing_token.key_label == "backend-issuing"
    assert not (tmp_path / "var" / "ca" / "keys" / "issuing.key.json").exists()
    ca.issue(organisation="机构").certificate.verify_directly_issued_by(ca.issuing_certificate)
