"""procrastinate, for backend.core.jobs when `JINGPIN_QUEUE=postgres` (imported only then)."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import procrastinate

from backend.core.jobs import FAILURE_HOOKS, TASKS, TaskSpec

log = logging.getLogger(__name__)


class _FailureCounter(procrastinate.RetryStrategy):
    """procrastinate's exponential backoff, telling FAILURE_HOOKS about every failed attempt."""

    def __init__(self, task_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.task_name = task_name

    def get_retry_decision(self, *, exception: BaseException, job: Any) -> Any:
        for hook in FAILURE_HOOKS:
            hook(self.task_name)
        return super().get_retry_decision(exception=exception, job=job)


@lru_cache
def app_for(conninfo: str) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))
    for spec in TASKS.values():
        app.task(
            name=spec.name,
            queue=spec.queue,
            priority=spec.priority,
            retry=_FailureCounter(
                spec.name, max_attempts=spec.max_attempts, exponential_wait=spec.wait_base
            ),
        )(spec.func)
        if spec.cron:
            app.periodic(cron=spec.cron, periodic_id=spec.name)(_periodic(spec, app))
    app.task(name="jobs.retry_stalled", queue="reminders", pass_context=True)(_retry_stalled)
    app.periodic(cron="* * * * *", periodic_id="retry_stalled")(app.tasks["jobs.retry_stalled"])
    return app


def _periodic(spec: TaskSpec, app: procrastinate.App) -> Any:
    """A periodic wrapper task: procrastinate passes `timestamp`; our task takes none."""

    def run(timestamp: int) -> None:
        spec.func()

    return app.task(name=f"{spec.name}.periodic", queue=spec.queue, priority=spec.priority)(run)


async def _retry_stalled(context: procrastinate.JobContext, timestamp: int) -> None:
    """Jobs whose worker stopped sending heartbeats (killed, host lost) go back to the queue."""
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs():
        log.warning("retrying job %s (%s): its worker is gone", job.id, job.task_name)
        await manager.retry_job(job)
