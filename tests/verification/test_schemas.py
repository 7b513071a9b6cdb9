"""The API's read schemas: the report model is the library's report, and every route of the
agreements, funding, finance and verification API documents its answers."""

from __future__ import annotations

from dataclasses import fields

from backend.verification.schemas import SignatureCheck, SignerRead, VerificationReportRead
from signing.verify import SignatureReport, SignerSummary, VerificationReport

DOMAINS = {"agreements", "funding", "finance", "verification"}


def test_the_report_schema_has_exactly_the_fields_of_the_librarys_report() -> None:
    assert list(SignatureCheck.model_fields) == [f.name for f in fields(SignatureReport)]
    assert list(SignerRead.model_fields) == [f.name for f in fields(SignerSummary)]
    report = VerificationReport(
        indication="INDETERMINATE",
        sub_indication="NO_CERTIFICATE_CHAIN_FOUND",
        file_sha256="a" * 64,
        file_sm3="b" * 64,
        signatures=[
            SignatureReport(
                field="party_yi",
                signer=SignerSummary("机构", "机构 电子印章", "0a1b", "Issuing CA"),
                signed_at="2026-06-01T10:00:00+08:00",
                timestamp=None,
                indication="INDETERMINATE",
                sub_indication="NO_CERTIFICATE_CHAIN_FOUND",
                intact=True,
                trusted=False,
                coverage="ENTIRE_FILE",
                modified_after=None,
                revocation="unknown",
                docmdp_ok=None,
                revision=0,
                messages=["证书链不可信"],
            )
        ],
    )
    body = VerificationReportRead.model_validate(report).model_dump(mode="json")
    assert body == report.to_dict() and list(body) == list(report.to_dict())


def test_every_route_documents_its_answer_and_its_errors_with_the_one_error_body() -> None:
    from backend.app import create_app

    spec = create_app().openapi()
    problems = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if not DOMAINS & set(op.get("tags", [])):
                continue
            responses = op["responses"]
            ok = [s for s in responses if s.startswith("2")]
            if not ok or not all(responses[s].get("content") for s in ok):
                problems.append(f"{method} {path}: no documented success body")
            json_ok = [responses[s]["content"].get("application/json") for s in ok]
            if any(j is not None and not j.get("schema") for j in json_ok):
                problems.append(f"{method} {path}: a JSON answer without a schema")
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    ref = response.get("content", {}).get("application/json", {}).get("schema")
                    if ref != {"$ref": "#/components/schemas/ErrorBody"}:
                        problems.append(f"{method} {path} {status}: not the error body")
            if "401" not in responses:
                problems.append(f"{method} {path}: 401 undocumented")
    assert not problems, "\n".join(problems)
