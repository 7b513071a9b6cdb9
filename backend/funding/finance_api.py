"""Finance and 推进表 API under /api/v1 (tags: finance): the summary per unit or batch, the money
trail of one agreement, the filings of a half-month, and the 推进表 download
(``GET /api/v1/units/{code}/progress-tables/{YYYY-MM-H1|H2}.{docx|xlsx|pdf}``: the unit's own
reviewers, the ministry, auditors and admin; another unit → 404, other roles → 403)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from backend.auth.deps import CurrentUser, SessionDep
from backend.documents import downloads
from backend.documents.downloads import Prepared
from backend.documents.endpoints import DOCUMENT_RESPONSES, PoolDep, issue
from backend.funding import exports, filings
from backend.funding.pages import require_viewer
from backend.funding.progress import prepare_progress_table
from backend.funding.summary import summary, total

router = APIRouter(prefix="/api/v1", tags=["finance"])


@router.get("/finance/summary", summary="资金汇总（按推荐单位或批次；金额单位：分）")
def finance_summary(
    session: SessionDep, user: CurrentUser, group_by: Literal["unit", "batch"] = "unit"
) -> dict[str, Any]:
    require_viewer(user)
    rows = summary(session, group_by)
    return {
        "group_by": group_by,
        "rows": [r.as_dict() for r in rows],
        "total": total(rows).as_dict(),
    }


@router.get(
    "/agreements/{agreement_id}/money-trail",
    summary="资金轨迹：节点→解锁依据→申请、审批、拨付、冲销",
)
def money_trail(agreement_id: int, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    require_viewer(user)
    return exports.money_trail(session, user, agreement_id)


@router.get("/progress-filings", summary="某半月各推荐单位推进表报送情况（period=YYYY-MM-H1|H2）")
def progress_filings(period: str, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    return filings.period_status(session, user, period)


class FilingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    correction_reason: str = Field(
        default="", max_length=2000, description="更正理由（重复报送时必填）"
    )


@router.post(
    "/units/{code}/progress-filings/{period}",
    status_code=201,
    summary="报送本单位某半月推进表（重复报送 409，除非填写更正理由）",
)
def file_progress_table(
    code: str, period: str, session: SessionDep, user: CurrentUser, body: FilingBody | None = None
) -> dict[str, Any]:
    filings.file_table(
        session, user, code, period, correction_reason=(body or FilingBody()).correction_reason
    )
    unit = filings.unit_or_404(session, code)
    f = session.exec(
        filings.select(filings.ProgressFiling).where(
            filings.ProgressFiling.unit_id == unit.id, filings.ProgressFiling.period == period
        )
    ).one()
    return filings.filing_dict(session, f, unit)


@router.get(
    "/units/{code}/progress-tables/{period}.{fmt}",
    summary="下载重点项目推进表（附件3），期间如 2026-06-H1（上半月）/ 2026-06-H2（下半月）",
    response_class=Response,
    tags=["documents"],
    responses=DOCUMENT_RESPONSES | {403: {"description": "角色无权下载推进表"}},
)
async def progress_table(
    code: str,
    period: str,
    fmt: Annotated[str, Path(description="docx、xlsx 或 pdf")],
    session: SessionDep,
    user: CurrentUser,
    pool: PoolDep,
) -> Response:
    def prepare() -> Prepared:
        unit = downloads.authorised_unit(session, user, code)
        half = downloads.parse_half_month(period)
        wanted = downloads.parse_format(fmt, downloads.PROGRESS_FORMATS)
        return prepare_progress_table(session, unit=unit, period=half, fmt=wanted)

    return await issue(await run_in_threadpool(prepare), pool, user)
