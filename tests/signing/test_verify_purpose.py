"""A certificate's purpose decides whether it may sign: the TSA's certificate (EKU timeStamping)
or one without digitalSignature/nonRepudiation key usage never passes as a seal, even with a
chain to our root."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.pades import to_asn1_cert
from signing.pki import CertificateAuthority
from signing.tsa import InProcessTimeStamper
from signing.verify import TOTAL_FAILED, VerificationReport, exit_code


def _signer(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, ca: CertificateAuthority):
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return signers.SimpleSigner(
        signing_cert=to_asn1_cert(cert),
        signing_key=asn1_keys.PrivateKeyInfo.load(der),
        cert_registry=SimpleCertificateStore.from_certs(
            [to_asn1_cert(ca.issuing_certificate), to_asn1_cert(ca.root_certificate)]
        ),
    )


def _sign(pdf: bytes, signer: signers.Signer, timestamper: InProcessTimeStamper) -> bytes:
    """Raw pyHanko (our own sign_pdf refuses such certificates): a hostile signer's file."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    meta = PdfSignatureMetadata(field_name="party_yi", subfilter=SigSeedSubFilter.PADES)
    out = PdfSigner(meta, signer=signer, timestamper=timestamper).sign_pdf(
        writer, existing_fields_only=True
    )
    return out.getvalue()


def test_a_signature_made_with_the_tsa_certificate_is_failed_and_named_as_such(
    ca: CertificateAuthority,
    timestamper: InProcessTimeStamper,
    prepared_pdf: bytes,
    verify: Callable[[bytes], VerificationReport],
) -> None:
    signed = _sign(prepared_pdf, _signer(ca.tsa_certificate, ca.tsa_private_key(), ca), timestamper)
    report = verify(signed)
    [sig] = report.signatures
    assert sig.intact and sig.trusted  # a good chain does not make it a seal
    assert sig.indication == TOTAL_FAILED
    assert sig.sub_indication == "CHAIN_CONSTRAINTS_FAILURE"
    assert any("时间戳服务证书" in m for m in sig.messages)
    assert report.indication == TOTAL_FAILED and exit_code(report) == 1


def test_a_certificate_without_signing_key_usage_cannot_sign(
    ca: CertificateAuthority,
    timestamper: InProcessTimeStamper,
    prepared_pdf: bytes,
    verify: Callable[[bytes], VerificationReport],
    tmp_path: Path,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = ca.issuing_certificate
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "加密专用")]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, True, False, False, False, False, False, False),
            critical=True,
        )
        .sign(ca._issuer_key(), hashes.SHA256())
    )
    report = verify(_sign(prepared_pdf, _signer(cert, key, ca), timestamper))
    [sig] = report.signatures
    assert sig.indication == TOTAL_FAILED
    assert exit_code(report) == 1
