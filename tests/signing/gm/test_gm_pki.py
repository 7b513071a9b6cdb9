"""SM2 PKI: certificates and CRLs signed with SM2-with-SM3, checked by OpenSSL and pysmx."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization

from signing.errors import (
    CertificateAuthorityError,
    CertificateRevoked,
    WrongKeyEncryptionKey,
    WrongRootPassphrase,
)
from signing.gm.pki import GmCertificateAuthority
from signing.pki import CertificateAuthority
from tests.signing.conftest import KEK, ROOT_PASSPHRASE
from tests.signing.gm.crosscheck import both_verify


def asn1(cert) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def point_of(cert: asn1_x509.Certificate) -> bytes:
    return bytes(cert.public_key["public_key"])


def test_every_ca_certificate_is_sm2_with_sm3_and_checks_out_in_openssl_and_pysmx(gm_ca):
    root, issuing = asn1(gm_ca.root_certificate), asn1(gm_ca.issuing_certificate)
    for cert, issuer in (
        (root, root),
        (issuing, root),
        (asn1(gm_ca.tsa_certificate), root),
        (asn1(gm_ca.seal_maker_certificate), issuing),
    ):
        assert cert["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"
        assert cert["tbs_certificate"]["signature"]["algorithm"].dotted == "1.2.156.10197.1.501"
        spki = cert.public_key["algorithm"]
        assert spki["algorithm"].dotted == "1.2.840.10045.2.1"  # id-ecPublicKey
        assert spki["parameters"].chosen.dotted == "1.2.156.10197.1.301"  # sm2 curve
        tbs, signature = cert["tbs_certificate"].dump(), cert["signature_value"].native
        assert both_verify(point_of(issuer), tbs, signature) == (True, True)


def _openssl_verify_link(
    tmp: Path, cert_pem: bytes, issuer_pem: bytes
) -> subprocess.CompletedProcess:
    (tmp / "cert.pem").write_bytes(cert_pem)
    (tmp / "issuer.pem").write_bytes(issuer_pem)
    # OpenSSL 3.0 checks X.509 SM2 signatures with an *empty* user id unless told otherwise, and
    # -vfyopt reaches only the certificate named on the command line: one link at a time.
    return subprocess.run(
        ["openssl", "verify", "-vfyopt", "distid:1234567812345678", "-partial_chain",
         "-CAfile", str(tmp / "issuer.pem"), str(tmp / "cert.pem")],
        capture_output=True,
        text=True,
    )  # fmt: skip


def test_openssl_verifies_each_link_of_a_seal_certificate_chain(gm_ca, gm_seals, tmp_path):
    seal = next(iter(gm_seals.values()))
    pem = serialization.Encoding.PEM
    links = [
        (seal.certificate_pem, gm_ca.issuing_certificate.public_bytes(pem)),
        (gm_ca.issuing_certificate.public_bytes(pem), gm_ca.export_root_pem()),
        (gm_ca.tsa_certificate.public_bytes(pem), gm_ca.export_root_pem()),
    ]
    for cert_pem, issuer_pem in links:
        result = _openssl_verify_link(tmp_path, cert_pem, issuer_pem)
        assert result.returncode == 0, result.stderr
    # …and rejects a seal certificate presented under the wrong issuer
    wrong = _openssl_verify_link(tmp_path, seal.certificate_pem, gm_ca.export_root_pem())
    assert wrong.returncode != 0


def test_seal_certificate_profile(gm_ca, gm_seals):
    seal = next(iter(gm_seals.values()))
    cert = asn1(seal.certificate)
    assert cert.key_usage_value.native == {"digital_signature", "non_repudiation"}
    assert cert.basic_constraints_value["ca"].native is False
    assert cert.authority_key_identifier == asn1(gm_ca.issuing_certificate).key_identifier
    assert [p["policy_identifier"].dotted for p in cert.certificate_policies_value] == [
        "1.3.6.1.4.1.55555.1.1"
    ]
    assert cert.crl_distribution_points[0]["distribution_point"].chosen[0].native.startswith("http")
    tsa = asn1(gm_ca.tsa_certificate)
    assert tsa.extended_key_usage_value.native == ["time_stamping"]
    assert tsa["tbs_certificate"]["extensions"][-1]["critical"].native is True


def test_crl_is_signed_with_sm2_and_lists_revocations(tmp_path):
    ca = GmCertificateAuthority.init(tmp_path / "ca", kek=KEK, root_passphrase=ROOT_PASSPHRASE)
    good, bad = ca.issue(organisation="甲"), ca.issue(organisation="乙")
    ca.revoke(bad.serial, "key_compromise")
    crl = asn1_crl.CertificateList.load(ca.crl_der())
    assert crl["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"
    issuing = asn1(ca.issuing_certificate)
    tbs, signature = crl["tbs_cert_list"].dump(), crl["signature"].native
    assert both_verify(point_of(issuing), tbs, signature) == (True, True)
    revoked = {
        r["user_certificate"].native: r for r in crl["tbs_cert_list"]["revoked_certificates"]
    }
    assert bad.serial in revoked and good.serial not in revoked
    assert revoked[bad.serial].crl_reason_value.native == "key_compromise"
    assert crl.crl_number_value.native == 1
    (tmp_path / "crl.der").write_bytes(ca.crl_der())
    text = subprocess.run(
        ["openssl", "crl", "-inform", "DER", "-in", str(tmp_path / "crl.der"), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "SM2-with-SM3" in text and format(bad.serial, "X") in text
    with pytest.raises(CertificateRevoked):
        ca.private_key(bad.serial)


def test_init_is_idempotent_and_needs_the_root_passphrase_only_to_create(tmp_path):
    ca = GmCertificateAuthority.init(tmp_path, kek=KEK, root_passphrase=ROOT_PASSPHRASE)
    again = GmCertificateAuthority.init(tmp_path, kek=KEK, root_passphrase=b"not used")
    assert again.root_certificate == ca.root_certificate
    (tmp_path / "tsa.pem").unlink()
    with pytest.raises(WrongRootPassphrase):
        GmCertificateAuthority.init(tmp_path, kek=KEK, root_passphrase=b"wrong")
    record = json.loads((tmp_path / "root.key.json").read_text())
    assert record["kdf"] == "PBKDF2-HMAC-SM3" and record["cipher"] == "SM4-GCM"
    assert GmCertificateAuthority.init(tmp_path, kek=KEK, root_passphrase=ROOT_PASSPHRASE)


def test_renew_issues_a_new_key_and_rotate_kek_rewraps_every_key(tmp_path):
    ca = GmCertificateAuthority.init(tmp_path, kek=KEK, root_passphrase=ROOT_PASSPHRASE)
    old = ca.issue(organisation="丙", not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    new = ca.renew(old.serial)
    assert new.renewed_from == old.serial and new.organisation == "丙"
    assert ca.private_key(new.serial).public_key != ca.private_key(old.serial).public_key
    assert ca.rotate_kek(KEK, b"n" * 32) == 5  # issuing, TSA, maker, two seals
    with pytest.raises(WrongKeyEncryptionKey):
        GmCertificateAuthority.open(tmp_path, kek=KEK).private_key(new.serial)
    assert GmCertificateAuthority.open(tmp_path, kek=b"n" * 32).private_key(new.serial)


def test_an_international_ca_directory_is_not_opened_as_sm2(tmp_path):
    CertificateAuthority.init(tmp_path, kek=KEK, root_passphrase=ROOT_PASSPHRASE)
    with pytest.raises(CertificateAuthorityError):
        GmCertificateAuthority.open(tmp_path, kek=KEK)
    with pytest.raises(CertificateAuthorityError):
        GmCertificateAuthority.init(tmp_path, kek=KEK, root_passphrase=ROOT_PASSPHRASE)
