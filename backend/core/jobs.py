"""Background jobs: a procrastinate queue on PostgreSQL, or in-process in the embedded default.

`JINGPIN_QUEUE=inline` (default, `make run`): a deferred job runs in this process right after
the business transaction commits (nothing runs if it rolls back), as the work ran before there
was a queue. `JINGPIN_QUEUE=postgres`: `defer` inserts the job on the session's own psycopg 3
connection, inside the business transaction, so a rolled-back request leaves no job; `jingpin
worker` processes run them with retries (exponential backoff), priorities and a lock per
agreement (`lock="agreement:<id>"`: two jobs for one agreement never run at once).

Domains declare their tasks with `@task(...)` in their own modules (imported by
backend.wiring); this module knows nothing of them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from backend.core.config import get_settings
from backend.core.errors import NotFound

log = logging.getLogger(__name__)

QUEUES = ("convert", "sign-finalise", "verify", "mail", "archive", "reminders")
# A worker that sent no heartbeat for this long is dead: its running jobs are retried.
STALLED_SECONDS = 30


@dataclass(frozen=True)
class TaskSpec:
    name: str
    queue: str
    func: Callable[..., Any]
    priority: int = 0
    max_attempts: int = 5
    # Seconds before the n-th retry: wait_base * 2 ** n (procrastinate's exponential_wait).
    wait_base: int = 2
    cron: str | None = None  # periodic (cron syntax, Beijing time is the worker's TZ)
    options: dict[str, Any] = field(default_factory=dict)


TASKS: dict[str, TaskSpec] = {}
_INLINE_KEY = "jingpin.inline_jobs"


def task(
    name: str,
    *,
    queue: str,
    priority: int = 0,
    max_attempts: int = 5,
    wait_base: int = 2,
    cron: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `func(**kwargs)` as the task `name` on `queue` (kwargs: JSON values only)."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        if name in TASKS and TASKS[name].func is not func:
            raise ValueError(f"task {name!r} registered twice")
        TASKS[name] = TaskSpec(name, queue, func, priority, max_attempts, wait_base, cron)
        return func

    return register


def queue_enabled() -> bool:
    return get_settings().queue == "postgres"


def defer(
    session: Session,
    name: str,
    *,
    lock: str | None = None,
    priority: int | None = None,
    **kwargs: Any,
) -> int | None:
    """Defer `name(**kwargs)` as part of `session`'s transaction; the job id (None inline)."""
    spec = TASKS[name]
    if not queue_enabled():
        session.info.setdefault(_INLINE_KEY, []).append((spec, kwargs))
        return None
    connection = _driver(session)
    deferrer = get_app().configure_task(
        name,
        allow_unknown=False,
        lock=lock,
        priority=spec.priority if priority is None else priority,
        connection=connection,
    )
    job_id: int = deferrer.defer(**kwargs)
    return job_id


@event.listens_for(Session, "after_commit")
def _run_inline_jobs(session: Session) -> None:
    pending = session.info.pop(_INLINE_KEY, [])
    for spec, kwargs in pending:
        run_inline(spec, kwargs)


@event.listens_for(Session, "after_rollback")
def _drop_inline_jobs(session: Session) -> None:
    session.info.pop(_INLINE_KEY, None)


def run_inline(spec: TaskSpec, kwargs: dict[str, Any]) -> None:
    """One in-process run; a failure is logged and counted, never raised into the request that
    already committed (the embedded default has no worker to retry)."""
    try:
        spec.func(**kwargs)
    except Exception:
        log.exception("job %s failed (in-process)", spec.name)
        for hook in FAILURE_HOOKS:
            hook(spec.name)


# Called with the task name when a job attempt fails (metrics subscribes; core knows no metrics).
FAILURE_HOOKS: list[Callable[[str], None]] = []


def conninfo() -> str:
    """The libpq URL of the app's PostgreSQL database (procrastinate talks psycopg directly)."""
    url = make_url(get_settings().db_url)
    if url.get_backend_name() != "postgresql":
        raise RuntimeError("JINGPIN_QUEUE=postgres needs a PostgreSQL JINGPIN_DATABASE_URL")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def get_app() -> Any:
    """The procrastinate App on this database, every registered task on it."""
    # procrastinate loads only when a queue is configured: it adds ~0.3 s to every start-up,
    # and the embedded default never needs it.
    from backend.core import queue_pg  # noqa: PLC0415

    return queue_pg.app_for(conninfo())


def run_worker(queues: list[str] | None, *, concurrency: int = 1, name: str | None = None) -> None:
    """`jingpin worker`: process jobs until SIGTERM/SIGINT (a running job finishes first)."""
    app = get_app()
    with app.open():
        app.run_worker(
            queues=queues,
            concurrency=concurrency,
            name=name,
            stalled_worker_timeout=STALLED_SECONDS,
            update_heartbeat_interval=5,
        )


def _driver(session: Session) -> Any:
    """The psycopg 3 connection under the session's current transaction."""
    conn = session.connection().connection.driver_connection
    assert conn is not None
    return conn


@dataclass(frozen=True)
class JobStatus:
    id: int
    task: str
    status: str  # todo | doing | succeeded | failed | cancelled | aborted
    attempts: int
    args: dict[str, Any]
    scheduled_at: dt.datetime | None


def job_status(session: Session, job_id: int) -> JobStatus:
    """A job's state from procrastinate's table, read on the app's own connection."""
    if not queue_enabled():
        raise NotFound("未找到该任务", code="job_not_found")
    cur = _driver(session).execute(
        "SELECT id, task_name, status, attempts, args, scheduled_at "
        "FROM procrastinate_jobs WHERE id = %s",
        (job_id,),
    )
    row = cur.fetchone()
    if row is None:
        raise NotFound("未找到该任务", code="job_not_found")
    return JobStatus(row[0], row[1], str(row[2]), row[3], row[4] or {}, row[5])


def queue_depth(session: Session) -> dict[str, int]:
    """Jobs waiting per queue (todo), for /metrics; empty in the embedded default."""
    if not queue_enabled():
        return {}
    cur = _driver(session).execute(
        "SELECT queue_name, count(*) FROM procrastinate_jobs WHERE status = 'todo' "
        "GROUP BY queue_name"
    )
    return {q: n for q, n in cur.fetchall()}
