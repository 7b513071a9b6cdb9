"""The job queue: procrastinate on PostgreSQL (deferred in the business transaction), and the
in-process runner of the embedded default."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlmodel import Session, select

from backend.core import jobs
from backend.core.db import get_engine, session_scope
from backend.orgs.models import Organisation

RAN: list[dict[str, Any]] = []
FAILS_LEFT: dict[str, int] = {}


@jobs.task("test.note", queue="mail")
def note(**kwargs: Any) -> None:
    RAN.append(kwargs)


@jobs.task("test.flaky", queue="convert", priority=10, max_attempts=3, wait_base=60)
def flaky(key: str) -> None:
    if FAILS_LEFT.get(key, 0) > 0:
        FAILS_LEFT[key] -= 1
        raise RuntimeError("LibreOffice crashed")
    RAN.append({"flaky": key})


@pytest.fixture(autouse=True)
def clean() -> None:
    RAN.clear()
    FAILS_LEFT.clear()


@pytest.fixture
def queue(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    from backend.core.config import get_settings

    monkeypatch.setenv("JINGPIN_QUEUE", "postgres")
    get_settings.cache_clear()
    return jobs.get_app()


def rename_first_org(session: Session, name: str) -> None:
    org = session.exec(select(Organisation)).first()
    assert org is not None
    org.name = name
    session.add(org)
    session.flush()


def job_rows(session: Session) -> list[tuple[Any, ...]]:
    conn = session.connection().connection.driver_connection
    return conn.execute(
        "SELECT task_name, queue_name, priority, lock, args, status FROM procrastinate_jobs "
        "ORDER BY id"
    ).fetchall()


@pytest.mark.postgres
def test_a_rolled_back_request_leaves_no_job_and_no_business_change(queue, env):
    with pytest.raises(RuntimeError), session_scope() as s:
        rename_first_org(s, "回滚的名字")
        assert jobs.defer(s, "test.note", lock="agreement:1", n=1) is not None
        raise RuntimeError("the request failed after deferring")
    with Session(get_engine()) as s:
        assert job_rows(s) == []
        assert s.exec(select(Organisation).where(Organisation.name == "回滚的名字")).all() == []


@pytest.mark.postgres
def test_a_committed_job_is_stored_with_its_queue_priority_lock_and_args(queue, env):
    with session_scope() as s:
        rename_first_org(s, "提交的名字")
        job_id = jobs.defer(s, "test.flaky", lock="agreement:7", key="a")
    with Session(get_engine()) as s:
        assert job_rows(s) == [("test.flaky", "convert", 10, "agreement:7", {"key": "a"}, "todo")]
        assert jobs.job_status(s, job_id).status == "todo"
    assert RAN == []  # nothing runs in the web process when a queue is configured


@pytest.mark.postgres
def test_a_worker_runs_the_job_and_a_failure_is_retried_later_with_backoff(queue, env):
    FAILS_LEFT["b"] = 1
    with session_scope() as s:
        ok = jobs.defer(s, "test.note", n=2)
        failing = jobs.defer(s, "test.flaky", key="b")
    with queue.open():
        queue.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)
    assert RAN == [{"n": 2}]
    with Session(get_engine()) as s:
        assert jobs.job_status(s, ok).status == "succeeded"
        retried = jobs.job_status(s, failing)
        assert (retried.status, retried.attempts) == ("todo", 1)
        assert retried.scheduled_at is not None
        wait = retried.scheduled_at - dt.datetime.now(dt.UTC)
        assert dt.timedelta(seconds=30) < wait < dt.timedelta(seconds=61)


@pytest.mark.postgres
def test_jobs_locked_to_one_agreement_never_run_at_the_same_time(queue, env):
    with session_scope() as s:
        first = jobs.defer(s, "test.note", lock="agreement:3", n=1)
        jobs.defer(s, "test.note", lock="agreement:3", n=2)
        other = jobs.defer(s, "test.note", lock="agreement:4", n=3)

    async def fetch_three() -> list[Any]:
        # What a worker does: fetch the next job; the lock holds back the second of agreement 3.
        async with queue.open_async():
            worker_id = await queue.job_manager.register_worker()
            return [await queue.job_manager.fetch_job(None, worker_id) for _ in range(3)]

    fetched = asyncio.run(fetch_three())
    assert [j.id if j else None for j in fetched] == [first, other, None]


def test_embedded_default_runs_the_job_in_process_after_the_commit(env):
    with session_scope() as s:
        rename_first_org(s, "内嵌模式")
        assert jobs.defer(s, "test.note", n=4) is None
        assert RAN == []  # not before the commit
    assert RAN == [{"n": 4}]


def test_embedded_default_runs_nothing_when_the_transaction_rolls_back(env):
    with pytest.raises(RuntimeError), session_scope() as s:
        jobs.defer(s, "test.note", n=5)
        raise RuntimeError("rolled back")
    with session_scope() as s:
        rename_first_org(s, "之后的提交")
    assert RAN == []


def test_embedded_job_failure_is_logged_not_raised_into_the_committed_request(env, caplog):
    FAILS_LEFT["c"] = 1
    with session_scope() as s:
        jobs.defer(s, "test.flaky", key="c")
    assert "job test.flaky failed" in caplog.text


def test_worker_refuses_to_start_without_a_queue_configured(env):
    from typer.testing import CliRunner

    from backend.cli import app as cli

    result = CliRunner().invoke(cli, ["worker"])
    assert result.exit_code == 2 and "JINGPIN_QUEUE=postgres" in result.output


@pytest.mark.postgres
def test_worker_names_an_unknown_queue_and_exits_2(queue):
    from typer.testing import CliRunner

    from backend.cli import app as cli

    result = CliRunner().invoke(cli, ["worker", "--queues", "convert,fax"])
    assert result.exit_code == 2 and "未知的队列：fax" in result.output
