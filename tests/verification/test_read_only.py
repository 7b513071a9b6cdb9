"""Auditors are read-only everywhere: every mutating /api/v1 route answers 403 to the auditor.

Routes are enumerated from the app (new routes are covered automatically); path parameters are
filled with ids that exist in the demo, so a 404 cannot hide a missing 403; request bodies are
built from the OpenAPI schema so a 422 cannot hide it either."""

from __future__ import annotations

from typing import Any

from fastapi.routing import _IncludedRouter
from sqlmodel import Session, col, select

from backend.app import create_app

NOT_STATE_CHANGES = {
    "/api/v1/auth/token",
    "/api/v1/auth/logout",
    "/api/v1/verify",
    # the caller's own second factor: an auditor secures their own account like anyone else
    "/api/v1/auth/totp/enrolment",
    "/api/v1/auth/totp/enrolment/confirm",
}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# Routes whose scope legitimately answers 404 to an auditor: the record is someone else's and a
# stranger must not learn that it exists (404 before 403).
SCOPED_404 = {
    "/api/v1/notifications/{notification_id}/read": "通知只属于收件人：别人的通知对审计人员是 404",
    "/api/v1/agreements/{agreement_id}/sign": "只有三方签署方有签署位：对其他人是 404 not_a_party",
    "/api/v1/agreements/{agreement_id}/decline": "只有三方签署方能拒签：对其他人是 404 not_a_party",
}


# Routes that read their form by hand (no OpenAPI request body): a plausible form (the role is
# checked before the form is read).
FORM_BODIES = {
    "/api/v1/agreements/{agreement_id}/reviews": {
        "kind": "midterm",
        "held_on": "2026-07-01",
        "result": "passed",
        "opinion": "x",
        "reviewers": "x",
    },
}


def _walk(routes: list[Any]) -> list[Any]:
    out: list[Any] = []
    for r in routes:
        if isinstance(r, _IncludedRouter):
            out.extend(_walk(r.effective_candidates()))
        else:
            out.append(r)
    return out


def mutating_routes() -> list[tuple[str, str]]:
    found = set()
    for r in _walk(create_app().routes):
        path, methods = getattr(r, "path", "") or "", getattr(r, "methods", None) or set()
        if path.startswith("/api/v1") and path not in NOT_STATE_CHANGES:
            found |= {(m, path) for m in set(methods) & MUTATING}
    return sorted(found, key=lambda x: (x[1], x[0]))


def _first_id(session: Session, model: Any) -> str | None:
    pk = next(iter(model.__table__.primary_key.columns)).name
    row = session.exec(select(model).order_by(col(getattr(model, pk)))).first()
    return str(getattr(row, pk)) if row is not None else None


def demo_ids(session: Session) -> dict[str, str | None]:
    from backend.agreements.models import Agreement, AgreementMilestone, AgreementStatus
    from backend.models import Batch, Disbursement, Notification, Objection, Organisation, Work

    signed = session.exec(
        select(Agreement).where(Agreement.status == AgreementStatus.fully_signed)
    ).first()
    return {
        "work_id": str(signed.work_id) if signed else _first_id(session, Work),
        "batch_id": _first_id(session, Batch),
        "kind": "application",
        "agreement_id": str(signed.id) if signed else _first_id(session, Agreement),
        "objection_id": _first_id(session, Objection),
        "notification_id": _first_id(session, Notification),
        "milestone_id": _first_id(session, AgreementMilestone),
        "disbursement_id": _first_id(session, Disbursement),
        "org_id": _first_id(session, Organisation),
        "code": _first_unit_code(session),
        "period": "2026-06-H1",
    }


def _first_unit_code(session: Session) -> str | None:
    from backend.orgs.models import RecommendingUnit

    unit = session.exec(select(RecommendingUnit).order_by(col(RecommendingUnit.code))).first()
    return unit.code if unit else None


def _example(schema: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> Any:
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return _example(options[0], spec, depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            k: "2026-07-01" if k.endswith(("_on", "_date")) else _example(v, spec, depth + 1)
            for k, v in schema.get("properties", {}).items()
            if k in schema.get("required", []) or depth == 0
        }
    if kind == "array":
        return (
            [_example(schema.get("items", {}), spec, depth + 1)] if schema.get("minItems") else []
        )
    if kind == "integer":
        return max(1, schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    fmt = schema.get("format")
    if fmt == "date":
        return "2026-07-01"
    if fmt == "date-time":
        return "2026-07-01T00:00:00+08:00"
    return "x" * max(1, schema.get("minLength", 1))


def _request_kwargs(method: str, path: str, spec: dict[str, Any]) -> dict[str, Any]:
    op = spec["paths"].get(path, {}).get(method.lower(), {})
    content = op.get("requestBody", {}).get("content", {})
    kwargs: dict[str, Any] = {"headers": {"Idempotency-Key": "auditor-read-only-test"}}
    if "application/json" in content:
        kwargs["json"] = _example(content["application/json"]["schema"], spec)
    elif "multipart/form-data" in content:
        kwargs["files"] = {"file": ("a.pdf", b"%PDF-1.7\n", "application/pdf")}
        kwargs["data"] = {}
    elif path in FORM_BODIES:
        kwargs["data"] = FORM_BODIES[path]
        kwargs["files"] = {"files": ("review.pdf", b"%PDF-1.7\n", "application/pdf")}
    elif "application/x-www-form-urlencoded" in content:
        kwargs["data"] = {
            k: "x" for k in _example(content["application/x-www-form-urlencoded"]["schema"], spec)
        }
    return kwargs


def test_the_enumeration_finds_the_known_mutating_routes() -> None:
    routes = {p for _, p in mutating_routes()}
    assert {
        "/api/v1/works",
        "/api/v1/agreements/{agreement_id}/sign",
        "/api/v1/batches/{batch_id}/confirm",
    } <= routes
    assert not routes & NOT_STATE_CHANGES


def test_auditor_gets_403_on_every_mutating_route(
    client: Any, token_for: Any, session: Session
) -> None:
    ids = demo_ids(session)
    spec = client.get("/openapi.json").json()
    headers = token_for("auditor")
    problems = []
    checked = 0
    for method, path in mutating_routes():
        url = path
        missing = [
            name for name, value in ids.items() if "{" + name + "}" in path and value is None
        ]
        assert not missing, (
            f"{path}: the demo has no row for {missing}; add one so 403 can be checked"
        )
        for name, value in ids.items():
            url = url.replace("{" + name + "}", str(value))
        assert "{" not in url, f"no demo id for a parameter of {path}: extend demo_ids()"
        kwargs = _request_kwargs(method, path, spec)
        kwargs["headers"] = {**kwargs["headers"], **headers}
        r = client.request(method, url, **kwargs)
        expected = 404 if path in SCOPED_404 else 403
        checked += 1
        if r.status_code != expected:
            problems.append(f"{method} {path} → {r.status_code} {r.text[:160]}")
    assert checked >= 25
    assert not problems, "\n".join(problems)
