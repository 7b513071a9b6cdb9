"""pyHanko's own long-term validation (ETSI EN 319 102-1 with archival data, its AdES engine) of
every signature of a PDF: an independent check of what our archive files hold."""

from __future__ import annotations

import asyncio
import datetime as dt
from io import BytesIO

from cryptography import x509
from freezegun import freeze_time
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import ades
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import policy_decl
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.registry import SimpleTrustManager

from signing.pades import to_asn1_cert


def lta_results(
    pdf: bytes, roots: list[x509.Certificate], at: dt.datetime | None = None
) -> dict[str, tuple[object, dt.datetime | None]]:
    """pyHanko's AdES LTA validation of every signature (not document timestamps)."""
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build([to_asn1_cert(r) for r in roots]),
                revinfo_policy=policy_decl.CertRevTrustPolicy(
                    revocation_checking_policy=policy_decl.LEGACY_POLICY_MAP["hard-fail"]
                ),
            )
        )
    )
    timing = (
        ValidationTimingInfo(
            validation_time=at, best_signature_time=at, point_in_time_validation=True
        )
        if at is not None
        else None
    )

    async def run() -> dict[str, tuple[object, dt.datetime | None]]:
        reader = PdfFileReader(BytesIO(pdf))
        results: dict[str, tuple[object, dt.datetime | None]] = {}
        for sig in reader.embedded_regular_signatures:
            result = await ades.ades_lta_validation(sig, spec, timing_info=timing)
            results[sig.field_name] = (result.ades_subindic, result.best_signature_time)
        return results

    if at is None:
        return asyncio.run(run())
    # pyHanko 0.38's past validation starts its time slide at the system clock, not at the
    # validation time it is given: the clock itself moves to ``at``.
    with freeze_time(at):
        return asyncio.run(run())
