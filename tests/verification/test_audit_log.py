"""Audit-log browser (auditor/admin, read-only) and the signed export of an object's trail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session
from typer.testing import CliRunner

from backend.cli import app as cli
from tests.verification.conftest import signed_agreement


def _export(client: Any, headers: dict[str, str], ag_id: int) -> bytes:
    r = client.get(
        "/api/v1/audit/export",
        params={"object_type": "agreement", "object_id": str(ag_id)},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return r.content


def test_export_verifies_and_any_one_byte_change_fails(
    client: Any, token_for: Any, session: Session, tmp_path: Path
) -> None:
    ag = signed_agreement(session)
    data = _export(client, token_for("auditor"), ag.id)
    lines = data.splitlines()
    assert b"agreement.sign" in data and len(lines) >= 6  # header, create, 3 signs, …, signature
    good = tmp_path / "trail.jsonl"
    good.write_bytes(data)
    ok = CliRunner().invoke(cli, ["audit", "verify-export", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "签名有效" in ok.output
    # one byte in an event, in the header, in the signature line, and a removed line
    event_at = data.index(b"agreement.sign") + 3
    sig_at = data.rindex(b'"signature": "') + 20
    for name, tampered in {
        "event": data[:event_at] + bytes([data[event_at] ^ 1]) + data[event_at + 1 :],
        "header": data[:5] + bytes([data[5] ^ 1]) + data[6:],
        "signature": data[:sig_at]
        + (b"A" if data[sig_at : sig_at + 1] != b"A" else b"B")
        + data[sig_at + 1 :],
        "line-dropped": b"\n".join(lines[:1] + lines[2:]) + b"\n",
    }.items():
        bad = tmp_path / f"{name}.jsonl"
        bad.write_bytes(tampered)
        result = CliRunner().invoke(cli, ["audit", "verify-export", str(bad)])
        assert result.exit_code == 1, (name, result.output)
        assert "核验失败" in result.output


def test_unreadable_export_exits_3(tmp_path: Path, env: Any) -> None:
    result = CliRunner().invoke(cli, ["audit", "verify-export", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 3 and "无法读取" in result.output


def test_events_filter_and_page_and_chain_status(
    client: Any, token_for: Any, session: Session
) -> None:
    ag = signed_agreement(session)
    h = token_for("auditor")
    chain = client.get("/api/v1/audit/chain", headers=h).json()
    assert chain["ok"] is True and chain["events"] > 0
    r = client.get(
        "/api/v1/audit/events",
        params={
            "object_type": "agreement",
            "object_id": str(ag.id),
            "action": "agreement.sign",
            "page_size": 2,
        },
        headers=h,
    ).json()
    assert r["total"] == 3 and r["pages"] == 2 and len(r["events"]) == 2
    assert {e["actor"] for e in r["events"]} <= {"prod-hz", "unit-zj", "ministry"}
    page2 = client.get(
        "/api/v1/audit/events",
        params={
            "object_type": "agreement",
            "object_id": str(ag.id),
            "action": "agreement.sign",
            "page_size": 2,
            "page": 2,
        },
        headers=h,
    ).json()
    assert len(page2["events"]) == 1
    by_actor = client.get("/api/v1/audit/events", params={"actor": "ministry"}, headers=h).json()
    assert by_actor["total"] >= 1 and all(e["actor"] == "ministry" for e in by_actor["events"])
    future = client.get(
        "/api/v1/audit/events", params={"since": "2999-01-01T00:00:00Z"}, headers=h
    ).json()
    assert future["total"] == 0


def test_only_auditors_and_admins_read_the_log(client: Any, token_for: Any) -> None:
    for user, status in (("auditor", 200), ("admin", 200), ("prod-hz", 403), ("finance-a", 403)):
        assert client.get("/api/v1/audit/events", headers=token_for(user)).status_code == status
        assert client.get("/api/v1/audit/chain", headers=token_for(user)).status_code == status


def test_audit_page_shows_chain_status_and_filters(client: Any, session: Session) -> None:
    from tests.conftest import DEMO_PASSWORD, client_login

    ag = signed_agreement(session)
    assert client_login(client, "auditor", DEMO_PASSWORD).status_code == 303
    r = client.get("/audit", params={"object_type": "agreement", "object_id": str(ag.id)})
    assert r.status_code == 200
    assert "审计日志链完整" in r.text and "agreement.sign" in r.text and "export-link" in r.text
    client.post("/logout")
