"""Random damage never crashes or hangs the verifier, and never makes a bad file pass."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signing.verify import TOTAL_FAILED, TOTAL_PASSED, VerificationLimits, verify_pdf

LIMITS = VerificationLimits(timeout_seconds=20)
SETTINGS = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _signed_ends(data: bytes) -> list[int]:
    return [
        int(m.group(3)) + int(m.group(4))
        for m in re.finditer(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+)", data)
    ]


def _contents_gaps(data: bytes) -> list[tuple[int, int]]:
    return [
        (int(m.group(1)) + int(m.group(2)), int(m.group(3)))
        for m in re.finditer(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+)", data)
    ]


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_random_byte_mutations_never_raise_and_only_pass_outside_signed_bytes(
    ca, three_signed, data
):
    pos = data.draw(st.integers(0, len(three_signed) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != three_signed[pos]))
    mutated = three_signed[:pos] + bytes([value]) + three_signed[pos + 1 :]
    report = verify_pdf(
        mutated, trust_roots=[ca.root_certificate], crls=[ca.crl_der()], limits=LIMITS
    )
    assert report.indication in (TOTAL_PASSED, TOTAL_FAILED, "INDETERMINATE")
    if report.indication == TOTAL_PASSED:
        # only bytes inside the last signature's /Contents gap are unsigned
        start, end = _contents_gaps(three_signed)[-1]
        assert start <= pos < end


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_random_truncations_never_raise_and_pass_only_at_an_earlier_signed_end(
    ca, three_signed, data
):
    cut = data.draw(st.integers(0, len(three_signed) - 1))
    report = verify_pdf(
        three_signed[:cut], trust_roots=[ca.root_certificate], crls=[ca.crl_der()], limits=LIMITS
    )
    if report.indication == TOTAL_PASSED:
        assert any(
            cut >= end and not three_signed[end:cut].strip() for end in _signed_ends(three_signed)
        )


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_mutating_a_failed_file_never_makes_it_pass(ca, three_signed, data):
    flip = three_signed.index(b"Three-party")
    failed = three_signed[:flip] + b"X" + three_signed[flip + 1 :]
    pos = data.draw(st.integers(0, len(failed) - 1).filter(lambda p: p != flip))
    value = data.draw(st.integers(0, 255))
    mutated = failed[:pos] + bytes([value]) + failed[pos + 1 :]
    if data.draw(st.booleans()):
        mutated = mutated[: data.draw(st.integers(0, len(mutated)))]
    report = verify_pdf(
        mutated, trust_roots=[ca.root_certificate], crls=[ca.crl_der()], limits=LIMITS
    )
    assert report.indication != TOTAL_PASSED
