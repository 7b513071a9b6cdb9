"""Schemathesis over the whole API as admin (bounded examples): no 5xx anywhere, and every
response whose status the OpenAPI documents matches the documented schema (the response models
and the one error body).

Known (others' endpoints, listed rather than fixed): a path id beyond 64 bits (e.g.
/api/v1/works/299364212191974195200) raises OverflowError in SQLite → 500."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.slow


def test_no_server_errors_and_responses_match_the_schema_anywhere_in_the_api(
    client: Any, token_for: Any, verification_pool: Any
) -> None:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import response_schema_conformance
    from schemathesis.core.failures import FailureGroup

    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    headers = token_for("admin")
    failures: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path in {"/api/v1/auth/logout"}:
            continue  # would revoke the admin token used for the rest of the run

        @given(case=op.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            try:
                response = case.call(headers=headers)
            except Exception as exc:  # the test client re-raises what the app turns into a 500
                failures.append(
                    f"{case.method} {op.path} → 500 {type(exc).__name__}: {str(exc)[:80]}"
                )
                return
            if response.status_code >= 500:  # schemathesis' not_a_server_error check
                failures.append(f"{case.method} {op.path} → {response.status_code}")
                return
            try:
                case.validate_response(response, checks=[response_schema_conformance])
            except FailureGroup as group:
                for failure in group.exceptions:
                    failures.append(
                        f"{case.method} {op.path} → {response.status_code} does not match "
                        f"its schema: {failure.title}: {str(failure.message)[:160]}"
                    )

        run()
    assert not failures, "\n".join(sorted(set(failures)))
