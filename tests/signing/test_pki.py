from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from signing.errors import WrongKeyEncryptionKey, WrongRootPassphrase
from signing.pades import PadesLevel, SigningRequest, ca_signer, sign_pdf
from signing.pki import POLICY_SEAL, CertificateAuthority
from tests.signing.conftest import CRL_URL, KEK, ROOT_PASSPHRASE


def test_seal_certificate_has_critical_signing_key_usage_and_our_policy(ca, seals):
    cert = seals["party_yi"].certificate
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca is False
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == [POLICY_SEAL]
    dps = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert dps[0].full_name[0].value == CRL_URL
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.issuing_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    cert.verify_directly_issued_by(ca.issuing_certificate)
    ca.issuing_certificate.verify_directly_issued_by(ca.root_certificate)


def test_rsa_3072_seal_can_be_issued(ca):
    issued = ca.issue(organisation="RSA 测试机构", key_algorithm="rsa-3072")
    key = issued.certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 3072


def test_init_is_idempotent_and_keeps_the_root(ca):
    again = CertificateAuthority.init(ca.directory, kek=KEK, root_passphrase=ROOT_PASSPHRASE)
    assert again.root_certificate == ca.root_certificate
    assert again.issuing_certificate == ca.issuing_certificate


def test_root_key_on_disk_is_passphrase_encrypted(ca):
    pem = (ca.directory / "root.key.pem").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem


def test_init_with_wrong_root_passphrase_fails_when_root_key_needed(tmp_path, ca):
    d = tmp_path / "ca2"
    CertificateAuthority.init(d, kek=KEK, root_passphrase=b"right")
    (d / "tsa.pem").unlink()
    with pytest.raises(WrongRootPassphrase):
        CertificateAuthority.init(d, kek=KEK, root_passphrase=b"wrong")


def test_revocation_appears_in_signed_crl_with_reason(ca):
    victim = ca.issue(organisation="吊销测试")
    ca.revoke(victim.serial, "key_compromise")
    crl = x509.load_der_x509_crl(ca.crl_der())
    assert crl.is_signature_valid(ca.issuing_certificate.public_key())
    entry = crl.get_revoked_certificate_by_serial_number(victim.serial)
    assert entry is not None
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.key_compromise
    )
    assert ca.get(victim.serial).revoked


def test_crl_number_increases_with_each_new_crl(ca):
    first = x509.load_der_x509_crl(ca.crl_der())
    ca.revoke(ca.issue(organisation="CRL 编号测试").serial)
    second = x509.load_der_x509_crl(ca.crl_der())
    n1 = first.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    n2 = second.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert n2 > n1


def test_renew_issues_new_certificate_for_same_subject(ca):
    old = ca.issue(organisation="续期测试")
    new = ca.renew(old.serial)
    assert new.serial != old.serial and new.renewed_from == old.serial
    assert new.certificate.subject == old.certificate.subject
    assert {c.serial for c in ca.list()} >= {old.serial, new.serial}


def test_export_root_pem_is_the_trust_anchor(ca):
    root = x509.load_pem_x509_certificate(ca.export_root_pem())
    assert root == ca.root_certificate
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_key_files_hold_no_plaintext_pkcs8(ca, seals):
    serial_hex = seals["party_yi"].serial_hex
    raw = (ca.directory / "keys" / f"{serial_hex}.key.json").read_bytes()
    pkcs8 = ca.keys.load_pkcs8(serial_hex)
    assert pkcs8 not in raw
    assert b"PRIVATE KEY" not in raw
    assert json.loads(raw)["format"] == "jingpin-envelope-v1"


def test_kek_rotation_rewraps_keys_which_still_sign(tmp_path, prepared_pdf, timestamper):
    old_kek, new_kek = b"o" * 32, b"n" * 32
    ca = CertificateAuthority.init(tmp_path / "ca", kek=old_kek, root_passphrase=b"pw")
    seal = ca.issue(organisation="轮换测试")
    before = (tmp_path / "ca" / "keys" / f"{seal.serial_hex}.key.json").read_bytes()
    assert ca.rotate_kek(old_kek, new_kek) >= 3  # issuing, tsa, seal
    after = (tmp_path / "ca" / "keys" / f"{seal.serial_hex}.key.json").read_bytes()
    assert json.loads(before)["ciphertext"] == json.loads(after)["ciphertext"]
    assert json.loads(before)["wrapped_dek"] != json.loads(after)["wrapped_dek"]
    with pytest.raises(WrongKeyEncryptionKey):
        CertificateAuthority.open(tmp_path / "ca", kek=old_kek).private_key(seal.serial)
    reopened = CertificateAuthority.open(tmp_path / "ca", kek=new_kek)
    signed = sign_pdf(
        prepared_pdf,
        SigningRequest(
            field="party_yi", signer=ca_signer(reopened, seal.serial), level=PadesLevel.B_B
        ),
    )
    assert len(signed) > len(prepared_pdf)
    assert reopened.crl_der()  # issuing CA key also still usable


def test_expired_certificate_can_be_issued_for_testing_validity(ca):
    now = dt.datetime.now(dt.UTC)
    cert = ca.issue(
        organisation="过期测试",
        not_before=now - dt.timedelta(days=3),
        not_after=now - dt.timedelta(days=1),
    )
    assert cert.certificate.not_valid_after_utc < now


def test_tsa_certificate_has_only_critical_timestamping_eku(ca):
    eku = ca.tsa_certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    ca.tsa_certificate.verify_directly_issued_by(ca.root_certificate)


def test_tsa_key_usage_is_digital_signature_only_so_it_cannot_pass_as_a_seal(ca):
    usage = ca.tsa_certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert not usage.value.content_commitment  # no nonRepudiation: a seal has it, a TSA not


def test_the_tsa_certificate_cannot_sign_a_document(ca, prepared_pdf, timestamper):
    from asn1crypto import keys as asn1_keys
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign.signers import SimpleSigner

    from signing.errors import PdfSigningError
    from signing.pades import to_asn1_cert

    der = ca.tsa_private_key().private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tsa_as_signer = SimpleSigner(
        signing_cert=to_asn1_cert(ca.tsa_certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(der),
        cert_registry=None,
    )
    request = SigningRequest(field="party_yi", signer=tsa_as_signer, timestamper=timestamper)
    with pytest.raises(PdfSigningError, match="timeStamping"):
        sign_pdf(prepared_pdf, request)


def test_tsa_rollover_keeps_the_old_certificate_and_signs_with_the_new_key(tmp_path):
    from signing.tsa import TimestampAuthority

    ca = CertificateAuthority.init(tmp_path / "ca", kek=KEK, root_passphrase=ROOT_PASSPHRASE)
    old = ca.tsa_certificate
    new = ca.roll_tsa(ROOT_PASSPHRASE)
    reopened = CertificateAuthority.open(tmp_path / "ca", kek=KEK)
    assert reopened.tsa_certificate == new != old
    assert reopened.tsa_certificates == [new, old]
    new.verify_directly_issued_by(ca.root_certificate)
    key = reopened.tsa_private_key()
    assert key.public_key().public_numbers() == new.public_key().public_numbers()
    assert TimestampAuthority.from_ca(reopened).certificate == new
