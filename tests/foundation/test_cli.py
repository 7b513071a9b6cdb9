"""The command line: init is idempotent, demo refuses production, user create validates."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select
from typer.testing import CliRunner

from backend.audit_log.models import AuditEvent
from backend.auth.models import User
from backend.cli import app as cli
from backend.core.config import get_settings

runner = CliRunner()


def test_init_twice_changes_nothing_the_second_time(env, session):
    before = session.exec(select(func.count()).select_from(AuditEvent)).one()
    result = runner.invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    session.rollback()
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == before


def test_demo_is_refused_in_production(env, monkeypatch):
    monkeypatch.setenv("JINGPIN_ENV", "production")
    get_settings.cache_clear()
    result = runner.invoke(cli, ["demo"])
    assert result.exit_code == 2
    assert "生产环境" in result.output


def test_a_bad_setting_is_named_with_exit_2_and_no_traceback(env, monkeypatch):
    with monkeypatch.context() as bad:
        bad.setenv("JINGPIN_PDF_TAGGED", "maybe")
        bad.setenv("JINGPIN_CONVERTER_TIMEOUT_SECONDS", "soon")
        get_settings.cache_clear()
        result = runner.invoke(cli, ["init"])
    get_settings.cache_clear()
    assert result.exit_code == 2
    assert "配置有误" in result.output
    assert "JINGPIN_PDF_TAGGED" in result.output
    assert "JINGPIN_CONVERTER_TIMEOUT_SECONDS" in result.output
    assert "Traceback" not in result.output and "maybe" not in result.output


def test_user_create_makes_a_user_who_can_log_in(env, client):
    result = runner.invoke(
        cli,
        [
            "user",
            "create",
            "zhang3",
            "--role",
            "auditor",
            "--org",
            "1",
            "--name",
            "张三",
            "--password",
            "long-enough-1",
        ],
    )
    assert result.exit_code == 0, result.output
    r = client.post("/api/v1/auth/token", data={"username": "zhang3", "password": "long-enough-1"})
    assert r.status_code == 200


def test_user_create_refuses_unknown_role_short_password_and_duplicates(env, session):
    bad_role = runner.invoke(
        cli, ["user", "create", "x1", "--role", "king", "--org", "1", "--password", "long-enough-1"]
    )
    assert bad_role.exit_code == 1 and "未知角色" in bad_role.output
    short = runner.invoke(
        cli, ["user", "create", "x2", "--role", "auditor", "--org", "1", "--password", "short"]
    )
    assert short.exit_code == 1 and "密码至少 8 位" in short.output
    dup = runner.invoke(
        cli,
        [
            "user",
            "create",
            "prod-hz",
            "--role",
            "auditor",
            "--org",
            "1",
            "--password",
            "long-enough-1",
        ],
    )
    assert dup.exit_code == 1 and "用户名已存在" in dup.output
    no_org = runner.invoke(
        cli,
        [
            "user",
            "create",
            "x3",
            "--role",
            "auditor",
            "--org",
            "99999",
            "--password",
            "long-enough-1",
        ],
    )
    assert no_org.exit_code == 1 and "不存在" in no_org.output
    assert session.exec(select(User).where(User.username.in_(["x1", "x2", "x3"]))).all() == []
