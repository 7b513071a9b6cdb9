"""Progress of a background job for the user who started it: `GET /api/v1/jobs/{id}` (JSON)
and `GET /jobs/{id}/status` (the htmx fragment the progress page polls).

Only the user who deferred the job (its `actor_id`) or an admin sees it; anyone else gets 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from backend.auth.deps import CurrentUser, PageUser, SessionDep
from backend.auth.models import Role, User
from backend.core import jobs
from backend.core.errors import NotFound
from backend.core.pages import render

router = APIRouter(tags=["jobs"])


class JobRead(BaseModel):
    id: int
    task: str
    status: str
    attempts: int
    done: bool
    download_path: str | None = None


def _visible(session: SessionDep, user: User, job_id: int) -> jobs.JobStatus:
    job = jobs.job_status(session, job_id)
    if job.args.get("actor_id") != user.id and user.role != Role.admin:
        raise NotFound("未找到该任务", code="job_not_found")
    return job


def _read(job: jobs.JobStatus) -> JobRead:
    path = job.args.get("download_path")
    return JobRead(
        id=job.id,
        task=job.task,
        status=job.status,
        attempts=job.attempts,
        done=job.status not in ("todo", "doing"),
        download_path=path if isinstance(path, str) and path.startswith("/api/") else None,
    )


@router.get("/api/v1/jobs/{job_id}", response_model=JobRead, summary="后台任务进度")
async def job_api(job_id: int, session: SessionDep, user: CurrentUser) -> JobRead:
    return _read(await run_in_threadpool(_visible, session, user, job_id))


@router.get("/jobs/{job_id}/status", response_class=HTMLResponse, include_in_schema=False)
async def job_fragment(
    job_id: int, request: Request, session: SessionDep, user: PageUser
) -> HTMLResponse:
    job = _read(await run_in_threadpool(_visible, session, user, job_id))
    return render(request, "jobs/status.html", job=job, download_path=job.download_path)
