"""JSON API for works: GET/POST /api/v1/works, GET/PATCH /api/v1/works/{id}."""

from __future__ import annotations

from fastapi import APIRouter

from backend.auth.deps import CurrentUser, SessionDep
from backend.works import service
from backend.works.schemas import WorkCreate, WorkRead, WorkUpdate

router = APIRouter(prefix="/api/v1/works", tags=["works"])


@router.get("", response_model=list[WorkRead], summary="作品列表（按角色和机构限定范围）")
def list_works(session: SessionDep, user: CurrentUser) -> list[WorkRead]:
    return [service.to_read(session, w) for w in service.list_works(session, user)]


@router.post("", response_model=WorkRead, status_code=201, summary="填报作品（节目制作机构）")
def create_work(body: WorkCreate, session: SessionDep, user: CurrentUser) -> WorkRead:
    return service.to_read(session, service.create_work(session, user, body))


@router.get("/{work_id}", response_model=WorkRead, summary="作品详情")
def get_work(work_id: int, session: SessionDep, user: CurrentUser) -> WorkRead:
    return service.to_read(session, service.get_work(session, user, work_id))


@router.patch("/{work_id}", response_model=WorkRead, summary="修改作品（草稿或退回修改时）")
def update_work(work_id: int, body: WorkUpdate, session: SessionDep, user: CurrentUser) -> WorkRead:
    return service.to_read(session, service.update_work(session, user, work_id, body))
