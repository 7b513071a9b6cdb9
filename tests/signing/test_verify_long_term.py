"""Long-term validation with the real in-house CA and TSA: the signature timestamp proves the
signature existed while its certificate was valid, so expiry or a benign revocation afterwards
keeps it TOTAL_PASSED (with a note); a signature made after revocation, or after a key
compromise's invalidity date, fails. The validation time is injected (``at``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from signing.pades import SigningRequest, ca_signer, sign_pdf
from signing.pki import CertificateAuthority
from signing.tsa import InProcessTimeStamper, TimestampAuthority
from signing.verify import (
    INDETERMINATE,
    TOTAL_FAILED,
    TOTAL_PASSED,
    VerificationReport,
    describe_zh,
    exit_code,
    verify_pdf,
)

THREE_YEARS = dt.timedelta(days=3 * 365)


def _verify(ca: CertificateAuthority, pdf: bytes, at: dt.datetime | None = None):
    return verify_pdf(pdf, trust_roots=[ca.root_certificate], crls=[ca.crl_der()], at=at)


@pytest.fixture(scope="module")
def lagging_timestamper(ca: CertificateAuthority) -> InProcessTimeStamper:
    """Our TSA with a clock ten minutes behind: each signature here is proven to exist ten
    minutes before the revocations the tests make "now" (CRL dates have whole seconds)."""
    return InProcessTimeStamper(
        TimestampAuthority.from_ca(ca, clock=lambda: _now() - dt.timedelta(minutes=10))
    )


def _signed_by_new_seal(
    ca: CertificateAuthority, timestamper: InProcessTimeStamper, prepared_pdf: bytes
) -> tuple[bytes, int]:
    seal = ca.issue(organisation="将停业的影视公司", not_before=_now() - dt.timedelta(days=1))
    request = SigningRequest(
        field="party_yi", signer=ca_signer(ca, seal.serial), timestamper=timestamper
    )
    return sign_pdf(prepared_pdf, request), seal.serial


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_three_signatures_still_pass_three_years_on_after_the_seals_expired(
    ca: CertificateAuthority, three_signed: bytes, verify: Callable[[bytes], VerificationReport]
) -> None:
    at = _now() + THREE_YEARS
    report = _verify(ca, three_signed, at)
    assert report.indication == TOTAL_PASSED, describe_zh(report)
    assert exit_code(report) == 0
    for sig in report.signatures:
        assert any(m.startswith("签名时证书有效；该证书已于") and "过期" in m for m in sig.messages)
    assert report.validation_time == at.isoformat()
    # The same file today carries no such note.
    assert not any(s.messages for s in verify(three_signed).signatures)


@pytest.mark.parametrize(
    "reason", ["cessation_of_operation", "superseded", "affiliation_changed", "unspecified"]
)
def test_a_benign_revocation_after_signing_keeps_the_signature_valid_and_says_so(
    ca: CertificateAuthority,
    lagging_timestamper: InProcessTimeStamper,
    prepared_pdf: bytes,
    reason: str,
) -> None:
    pdf, serial = _signed_by_new_seal(ca, lagging_timestamper, prepared_pdf)
    ca.revoke(serial, reason)  # type: ignore[arg-type]
    for at in (None, _now() + THREE_YEARS):
        report = _verify(ca, pdf, at)
        [sig] = report.signatures
        assert sig.indication == TOTAL_PASSED, (at, sig)
        assert sig.revocation == "revoked"
        assert any(m.startswith("签名时证书有效；该证书已于") and "吊销" in m for m in sig.messages)


def test_a_signature_made_after_its_certificate_was_revoked_fails_now_and_later(
    ca: CertificateAuthority, lagging_timestamper: InProcessTimeStamper, prepared_pdf: bytes
) -> None:
    seal = ca.issue(organisation="已停业的影视公司", not_before=_now() - dt.timedelta(days=1))
    signer = ca_signer(ca, seal.serial)  # the key, taken before the revocation
    ca.revoke(seal.serial, "cessation_of_operation", revoked_at=_now() - dt.timedelta(hours=1))
    pdf = sign_pdf(
        prepared_pdf,
        SigningRequest(field="party_yi", signer=signer, timestamper=lagging_timestamper),
    )
    for at in (None, _now() + THREE_YEARS):
        [sig] = _verify(ca, pdf, at).signatures
        assert (sig.indication, sig.sub_indication) == (TOTAL_FAILED, "REVOKED"), (at, sig)
        assert any("早于签名时间" in m for m in sig.messages)


def test_a_key_compromise_dated_before_the_signature_fails_even_if_revoked_after(
    ca: CertificateAuthority, lagging_timestamper: InProcessTimeStamper, prepared_pdf: bytes
) -> None:
    pdf, serial = _signed_by_new_seal(ca, lagging_timestamper, prepared_pdf)
    ca.revoke(serial, "key_compromise", invalid_since=_now() - dt.timedelta(days=1))
    [sig] = _verify(ca, pdf).signatures
    assert (sig.indication, sig.sub_indication) == (TOTAL_FAILED, "REVOKED")
    assert any("失效时间" in m for m in sig.messages)


def test_a_key_compromise_dated_after_the_signature_keeps_it_valid(
    ca: CertificateAuthority, lagging_timestamper: InProcessTimeStamper, prepared_pdf: bytes
) -> None:
    pdf, serial = _signed_by_new_seal(ca, lagging_timestamper, prepared_pdf)
    ca.revoke(serial, "key_compromise", invalid_since=_now() - dt.timedelta(minutes=1))
    [sig] = _verify(ca, pdf).signatures
    assert sig.indication == TOTAL_PASSED, sig


def test_a_key_compromise_without_a_date_after_the_signature_is_indeterminate(
    ca: CertificateAuthority, lagging_timestamper: InProcessTimeStamper, prepared_pdf: bytes
) -> None:
    pdf, serial = _signed_by_new_seal(ca, lagging_timestamper, prepared_pdf)
    ca.revoke(serial, "key_compromise")
    report = _verify(ca, pdf)
    [sig] = report.signatures
    assert (sig.indication, sig.sub_indication) == (INDETERMINATE, "REVOKED_NO_POE")
    assert exit_code(report) == 2


def test_the_validation_time_must_carry_a_time_zone(ca: CertificateAuthority) -> None:
    with pytest.raises(ValueError, match="time zone"):
        _verify(ca, b"%PDF-1.7", dt.datetime(2031, 6, 1))
