"""The attack tests of the international profile (tests/signing/test_attacks.py) on SM2-signed
documents: the same test functions, collected here with the gm fixtures in place of the ECDSA
ones (`ca`, `sign_as`, `three_signed`, `verify`), so every tampering gets the same indication
in the gm profile."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from signing.gm.pki import GmCertificateAuthority
from signing.gm.signer import gm_signer
from signing.pades import PadesLevel, SigningRequest, ca_signer, sign_pdf
from signing.pki import CertificateAuthority
from signing.verify import INDETERMINATE, VerificationReport, verify_pdf
from tests.signing.conftest import KEK, ROOT_PASSPHRASE
from tests.signing.test_attacks import (
    test_annotation_overlaid_after_signing_fails,
    test_byte_flipped_inside_signed_range_is_hash_failure,
    test_byte_range_not_covering_the_file_fails,
    test_compression_bomb_is_refused_within_time_and_memory_bounds,
    test_contents_that_is_not_cms_is_format_failure,
    test_deeply_nested_catalog_is_format_failure_within_time_and_memory_bounds,
    test_incremental_update_changing_page_content_fails_and_says_so,
    test_junk_appended_after_last_revision_fails,
    test_revoked_signer_is_revoked,
    test_shadow_hide_and_replace_of_an_object_fails,
    test_shadow_replacing_a_signature_appearance_fails,
    test_truncated_file_does_not_pass,
    test_unknown_root_is_no_certificate_chain_found,
)

__all__ = [
    "test_annotation_overlaid_after_signing_fails",
    "test_byte_flipped_inside_signed_range_is_hash_failure",
    "test_byte_range_not_covering_the_file_fails",
    "test_compression_bomb_is_refused_within_time_and_memory_bounds",
    "test_contents_that_is_not_cms_is_format_failure",
    "test_deeply_nested_catalog_is_format_failure_within_time_and_memory_bounds",
    "test_incremental_update_changing_page_content_fails_and_says_so",
    "test_junk_appended_after_last_revision_fails",
    "test_revoked_signer_is_revoked",
    "test_shadow_hide_and_replace_of_an_object_fails",
    "test_shadow_replacing_a_signature_appearance_fails",
    "test_truncated_file_does_not_pass",
    "test_unknown_root_is_no_certificate_chain_found",
]


@pytest.fixture(scope="session")
def ca(gm_ca: GmCertificateAuthority) -> GmCertificateAuthority:
    return gm_ca


@pytest.fixture(scope="session")
def sign_as(gm_sign_as: Callable[..., bytes]) -> Callable[..., bytes]:
    return gm_sign_as


@pytest.fixture(scope="session")
def three_signed(gm_three_signed: bytes) -> bytes:
    return gm_three_signed


@pytest.fixture(scope="session")
def verify(
    gm_verify: Callable[[bytes], VerificationReport],
) -> Callable[[bytes], VerificationReport]:
    return gm_verify


def test_the_documents_under_attack_are_sm2_signed(three_signed: bytes, verify) -> None:
    report = verify(three_signed)
    assert report.indication == "TOTAL_PASSED"
    assert [s.algorithm for s in report.signatures] == ["国密 SM2"] * 3


def test_an_expired_sm2_seal_gets_the_indication_an_expired_ecdsa_seal_gets(
    gm_ca, gm_verify, prepared_pdf, tmp_path
) -> None:
    """test_expired_certificate_is_indeterminate compared across the profiles (its exact
    sub-indication is the international verifier's business)."""
    intl = CertificateAuthority.init(tmp_path, kek=KEK, root_passphrase=ROOT_PASSPHRASE)
    now = dt.datetime.now(dt.UTC)
    found = []
    cases: list[tuple[Any, Any, str]] = [(gm_ca, gm_signer, "sm3"), (intl, ca_signer, "sha256")]
    for authority, signer_of, digest in cases:
        cert = authority.issue(
            organisation="过期机构",
            not_before=now - dt.timedelta(days=10),
            not_after=now - dt.timedelta(days=1),
        )
        pdf = sign_pdf(
            prepared_pdf,
            SigningRequest(
                field="party_yi",
                signer=signer_of(authority, cert.serial),
                digest_algorithm=digest,
                level=PadesLevel.B_B,
            ),
        )
        report = verify_pdf(
            pdf, trust_roots=[authority.root_certificate], crls=[authority.crl_der()]
        )
        found.append((report.indication, report.sub_indication))
    assert found[0] == found[1] and found[0][0] == INDETERMINATE, found
