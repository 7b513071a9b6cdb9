"""PAdES B-LTA archive form, its renewal and CA rollover, checked by pyHanko's own AdES
validation (ETSI EN 319 102-1 with archival data) and by poppler's pdfsig."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import crl as asn1_crl
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.validation import validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore

from signing.archive import ArchiveTrust, archive_expiry, archive_pdf, renew_archive
from signing.errors import PdfSigningError
from signing.pades import FieldSpec, SigningRequest, ca_signer, prepare, sign_pdf, to_asn1_cert
from signing.pki import CertificateAuthority
from signing.tsa import InProcessTimeStamper, TimestampAuthority
from signing.verify import INDETERMINATE, TOTAL_PASSED, describe_zh, exit_code, verify_pdf
from tests.signing.conftest import KEK, PARTIES, ROOT_PASSPHRASE
from tests.signing.lta import lta_results
from tests.signing.pdfgen import make_pdf

YEAR = dt.timedelta(days=365)


def _trust(ca: CertificateAuthority, moment: dt.datetime | None = None) -> ArchiveTrust:
    return ArchiveTrust(
        ca.trust_roots,
        ca.validation_crls(),
        ca.validation_certificates(),
        moment=moment,
        ocsp_for=ca.ocsp_response_der,
    )


def _timestamper(ca: CertificateAuthority, at: dt.datetime | None = None) -> InProcessTimeStamper:
    clock = (lambda: at) if at is not None else None
    return InProcessTimeStamper(
        TimestampAuthority(
            ca.tsa_certificate, ca.tsa_private_key(), [ca.root_certificate], clock=clock
        )
    )


def _three_signed(ca: CertificateAuthority) -> bytes:
    pdf = prepare(make_pdf(), [FieldSpec(f, page, box) for f, _, page, box in PARTIES])
    stamper = _timestamper(ca)
    for i, (field, org, _, _) in enumerate(PARTIES):
        seal = ca.issue(organisation=org)
        request = SigningRequest(
            field=field, signer=ca_signer(ca, seal.serial), timestamper=stamper, certify=i == 0
        )
        pdf = sign_pdf(pdf, request)
    return pdf


@pytest.fixture(scope="module")
def own_ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority.init(
        tmp_path_factory.mktemp("archive-ca"),
        kek=KEK,
        root_passphrase=ROOT_PASSPHRASE,
        organisation="jingpin 长期保存测试",
        crl_url="http://localhost:8000/crl/issuing.crl",
    )


@pytest.fixture(scope="module")
def archived(ca, three_signed) -> bytes:
    return archive_pdf(three_signed, _timestamper(ca), _trust(ca))


def test_archive_keeps_every_signed_byte_and_adds_dss_with_vri_for_each_signature(
    ca, three_signed, archived
):
    assert archived.startswith(three_signed)  # the parties' B-T signatures are untouched
    reader = PdfFileReader(BytesIO(archived))
    dss = DocumentSecurityStore.read_dss(reader)
    signatures = reader.embedded_regular_signatures
    assert [s.field_name for s in signatures] == [p[0] for p in PARTIES]
    for sig in signatures:
        vri_key = DocumentSecurityStore.sig_content_identifier(sig.pkcs7_content.hex().encode())
        assert vri_key in dss.vri_entries, sig.field_name
    dss_certs = {c.dump() for c in dss.load_certs()}
    for needed in (ca.issuing_certificate, ca.tsa_certificate, ca.root_certificate):
        assert to_asn1_cert(needed).dump() in dss_certs
    crls = [asn1_crl.CertificateList.load(ref.get_object().data) for ref in dss.crls]
    crl_issuers = {c.issuer.dump() for c in crls}
    # the issuing CA's CRL (seals) and the root's ARL (issuing CA, TSA)
    assert crl_issuers == {
        to_asn1_cert(ca.issuing_certificate).subject.dump(),
        to_asn1_cert(ca.root_certificate).subject.dump(),
    }
    timestamps = reader.embedded_timestamp_signatures
    assert len(timestamps) == 1
    status = validate_pdf_timestamp(
        timestamps[0], validation_context=_trust(ca).validation_context()
    )
    assert status.intact and status.valid and status.trusted


def test_pyhanko_validates_every_signature_of_the_archive_now_and_after_the_seals_expired(
    ca, archived
):
    now = lta_results(archived, [ca.root_certificate])
    assert {field: r[0] for field, r in now.items()} == {p[0]: AdESPassed.OK for p in PARTIES}
    later = dt.datetime.now(dt.UTC) + 3 * YEAR  # the seal certificates live two years
    for field, (indication, best_time) in lta_results(
        archived, [ca.root_certificate], later
    ).items():
        assert indication == AdESPassed.OK, field
        assert best_time is not None and best_time < dt.datetime.now(dt.UTC)  # signing time


def test_without_the_archive_the_same_signatures_fail_after_the_seals_expired(ca, three_signed):
    later = dt.datetime.now(dt.UTC) + 3 * YEAR
    results = lta_results(three_signed, [ca.root_certificate], later)
    assert all(indication != AdESPassed.OK for indication, _ in results.values())


@pytest.mark.skipif(
    shutil.which("pdfsig") is None or shutil.which("certutil") is None,
    reason="poppler's pdfsig and NSS's certutil are needed",
)
def test_pdfsig_finds_each_signature_valid_and_trusted_and_the_document_timestamp(
    tmp_path, ca, archived
):
    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(ca.export_root_pem())
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{nss}", "-n", "root", "-t", "CT,C,C", "-i", str(root_pem)],
        check=True,
    )
    path = tmp_path / "archived.pdf"
    path.write_bytes(archived)
    out = subprocess.run(
        # no -no-ocsp: poppler 22.12 then reports "Unknown issue"; our certificates name no
        # OCSP responder, so nothing is fetched
        ["pdfsig", "-nssdir", f"sql:{nss}", str(path)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    blocks = re.split(r"Signature #\d+:", out)[1:]
    assert len(blocks) == 4, out
    for block, (field, org, _, _) in zip(blocks, PARTIES, strict=False):
        assert f"Signature Field Name: {field}" in block
        assert f"O={org}" in block
        assert "Signature Type: ETSI.CAdES.detached" in block
        assert "Signature Validation: Signature is Valid." in block
        assert "Certificate Validation: Certificate is Trusted." in block
    assert "Timestamp Authority" in blocks[3]  # the document timestamp, signed by our TSA


@pytest.fixture(scope="module")
def renewed_archive(own_ca) -> tuple[bytes, bytes]:
    """(archive, the same renewed half a year before its TSA certificate expires, after the TSA
    rolled to a new certificate)."""
    ca = own_ca
    archived = archive_pdf(_three_signed(ca), _timestamper(ca), _trust(ca))
    first_expiry = archive_expiry(archived, ca.trust_roots)
    assert first_expiry == ca.tsa_certificate.not_valid_after_utc
    renewal_time = first_expiry - dt.timedelta(days=180)
    old_tsa = ca.tsa_certificate
    ca.roll_tsa(ROOT_PASSPHRASE, now=renewal_time)
    assert ca.tsa_certificate != old_tsa and old_tsa in ca.tsa_certificates
    renewed = renew_archive(archived, _timestamper(ca, renewal_time), _trust(ca, renewal_time))
    return archived, renewed


def test_renewed_archive_still_validates_twelve_years_on(own_ca, renewed_archive):
    ca = own_ca
    archived, renewed = renewed_archive
    twelve = dt.datetime.now(dt.UTC) + 12 * YEAR
    # Not renewed: the only document timestamp's TSA certificate (10 years) has expired.
    stale = lta_results(archived, ca.trust_roots, twelve)
    assert all(indication != AdESPassed.OK for indication, _ in stale.values())

    assert renewed.startswith(archived)
    assert archive_expiry(renewed, ca.trust_roots) == ca.tsa_certificate.not_valid_after_utc
    assert ca.tsa_certificate.not_valid_after_utc > twelve
    for field, (indication, best_time) in lta_results(renewed, ca.trust_roots, twelve).items():
        assert indication == AdESPassed.OK, field
        assert best_time is not None and best_time < dt.datetime.now(dt.UTC)


def test_our_verifier_walks_the_archive_timestamps_twelve_years_on(own_ca, renewed_archive):
    """Past every certificate but the newest TSA's: the seals (2 years) and the TSA certificate
    of the signature timestamps and of the first document timestamp (10 years) have expired;
    the renewal's document timestamp proves they existed before, ETSI EN 319 102-1 § 5.6.3."""
    ca = own_ca
    archived, renewed = renewed_archive
    twelve = dt.datetime.now(dt.UTC) + 12 * YEAR
    crls = ca.validation_crls()
    report = verify_pdf(renewed, trust_roots=ca.trust_roots, crls=crls, at=twelve)
    assert (report.indication, exit_code(report)) == (TOTAL_PASSED, 0), describe_zh(report)
    signatures = [s for s in report.signatures if s.kind == "signature"]
    timestamps = [s for s in report.signatures if s.kind == "document_timestamp"]
    assert [s.field for s in signatures] == [p[0] for p in PARTIES] and len(timestamps) == 2
    for sig in signatures:
        assert any(m.startswith("签名时证书有效；该证书已于") for m in sig.messages), sig
    # The first document timestamp's own TSA certificate has expired: the renewal proves it.
    assert any("其后的文档时间戳证明" in m for m in timestamps[0].messages), timestamps[0]
    assert not timestamps[1].messages

    stale = verify_pdf(archived, trust_roots=ca.trust_roots, crls=crls, at=twelve)
    assert (stale.indication, exit_code(stale)) == (INDETERMINATE, 2), describe_zh(stale)
    assert all(s.indication == INDETERMINATE for s in stale.signatures)


def test_renewal_refuses_a_file_without_document_timestamp(ca, three_signed):
    with pytest.raises(PdfSigningError):
        renew_archive(three_signed, _timestamper(ca), _trust(ca))


def test_root_rollover_keeps_old_signatures_valid_and_new_ones_chain_to_the_new_root(
    tmp_path: Path,
):
    ca = CertificateAuthority.init(
        tmp_path / "ca", kek=KEK, root_passphrase=ROOT_PASSPHRASE, organisation="jingpin 轮换"
    )
    before = archive_pdf(_three_signed(ca), _timestamper(ca), _trust(ca))
    old_root = ca.root_certificate
    new_root = ca.roll_root(ROOT_PASSPHRASE)
    assert new_root != old_root and ca.trust_roots == [new_root, old_root]
    ca.issuing_certificate.verify_directly_issued_by(new_root)
    ca.tsa_certificate.verify_directly_issued_by(new_root)
    reopened = CertificateAuthority.open(ca.directory, kek=KEK)
    assert reopened.trust_roots == [new_root, old_root]

    after = archive_pdf(_three_signed(reopened), _timestamper(reopened), _trust(reopened))
    for pdf in (before, after):
        results = lta_results(pdf, reopened.trust_roots)
        assert {r[0] for r in results.values()} == {AdESPassed.OK}
    # Only the new root trusted: the old document's chain does not reach it; with only the old
    # root, the new document does not either — both roots stay trust anchors.
    assert AdESPassed.OK not in {r[0] for r in lta_results(before, [new_root]).values()}
    # An old archive renewed under the new root's TSA keeps validating with both roots.
    renewed = renew_archive(before, _timestamper(reopened), _trust(reopened))
    assert {r[0] for r in lta_results(renewed, reopened.trust_roots).values()} == {AdESPassed.OK}


def _dss_crls(pdf: bytes) -> list[asn1_crl.CertificateList]:
    dss = DocumentSecurityStore.read_dss(PdfFileReader(BytesIO(pdf)))
    return [asn1_crl.CertificateList.load(ref.get_object().data) for ref in dss.crls]


def test_renewal_adds_only_the_crls_of_the_renewed_timestamps_chain(tmp_path: Path):
    ca = CertificateAuthority.init(
        tmp_path / "ca", kek=KEK, root_passphrase=ROOT_PASSPHRASE, organisation="jingpin 续期"
    )
    other = CertificateAuthority.init(
        tmp_path / "other", kek=KEK, root_passphrase=ROOT_PASSPHRASE, organisation="另一家 CA"
    )
    archived = archive_pdf(_three_signed(ca), _timestamper(ca), _trust(ca))
    before = {c.dump() for c in _dss_crls(archived)}
    # Since archiving: a seal was revoked (a new issuing-CA CRL) and the root signed a new ARL.
    ca.revoke(ca.issue(organisation="后来吊销的机构").serial, "superseded")
    new_arl = ca.refresh_authority_crl(ROOT_PASSPHRASE)
    offered = [*ca.validation_crls(fresh=True), other.crl_der(), *other.authority_crls()]
    trust = ArchiveTrust(ca.trust_roots, offered, ca.validation_certificates())
    renewed = renew_archive(archived, _timestamper(ca), trust)

    added = [c for c in _dss_crls(renewed) if c.dump() not in before]
    # The renewed timestamp's chain is our TSA certificate under our root: only the root's
    # current ARL proves anything about it. The issuing CA's new CRL is about seals, the other
    # CA's CRLs about nothing in this file.
    assert [c.dump() for c in added] == [new_arl]
    root = to_asn1_cert(ca.root_certificate)
    assert {c.issuer.dump() for c in added} == {root.subject.dump()}
    reader = PdfFileReader(BytesIO(renewed))
    dss = DocumentSecurityStore.read_dss(reader)
    renewed_ts = reader.embedded_timestamp_signatures[0]
    vri = dss.vri_entries[
        DocumentSecurityStore.sig_content_identifier(renewed_ts.pkcs7_content.hex().encode())
    ].get_object()
    vri_crls = [asn1_crl.CertificateList.load(r.get_object().data).dump() for r in vri["/CRL"]]
    assert vri_crls == [new_arl]
