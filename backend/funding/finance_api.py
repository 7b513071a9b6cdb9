"""Finance and 推进表 API under /api/v1 (tags: finance): the summary per unit or batch, the money
trail of one agreement, the filings of a half-month, and the 推进表 download
(``GET /api/v1/units/{code}/progress-tables/{YYYY-MM-H1|H2}.{docx|xlsx|pdf}``: the unit's own
reviewers, the ministry, auditors and admin; another unit → 404, other roles → 403)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from backend.auth.deps import CurrentUser, SessionDep
from backend.core.schemas import error_responses
from backend.documents import downloads
from backend.documents.downloads import Prepared
from backend.documents.endpoints import DOCUMENT_RESPONSES, PoolDep, issue
from backend.funding import exports, filings
from backend.funding.pages import require_viewer
from backend.funding.progress import prepare_progress_table
from backend.funding.schemas import FilingRead, FinanceSummary, MoneyTrail, PeriodStatus
from backend.funding.schemas import SummaryRowRead as Row
from backend.funding.summary import summary, total

router = APIRouter(prefix="/api/v1", tags=["finance"], responses=error_responses(401))
VIEWERS_ONLY = {403: "只有财务、总局、审计人员和管理员可以查看资金拨付"}


@router.get(
    "/finance/summary",
    response_model=FinanceSummary,
    summary="资金汇总（按推荐单位或批次；金额单位：分）",
    responses=error_responses(403, 422, notes=VIEWERS_ONLY),
)
def finance_summary(
    session: SessionDep, user: CurrentUser, group_by: Literal["unit", "batch"] = "unit"
) -> FinanceSummary:
    require_viewer(user)
    rows = summary(session, group_by)
    return FinanceSummary(
        group_by=group_by,
        rows=[Row.model_validate(r) for r in rows],
        total=Row.model_validate(total(rows)),
    )


@router.get(
    "/agreements/{agreement_id}/money-trail",
    response_model=MoneyTrail,
    summary="资金轨迹：节点→解锁依据→申请、审批、拨付、冲销",
    responses=error_responses(403, 404, 422, notes=VIEWERS_ONLY),
)
def money_trail(agreement_id: int, session: SessionDep, user: CurrentUser) -> MoneyTrail:
    require_viewer(user)
    return exports.money_trail(session, user, agreement_id)


@router.get(
    "/progress-filings",
    response_model=PeriodStatus,
    summary="某半月各推荐单位推进表报送情况（period=YYYY-MM-H1|H2）",
    responses=error_responses(
        403, 422, notes={403: "总局、审计、管理员看全部；推荐单位只看本单位；其他角色无权查看"}
    ),
)
def progress_filings(period: str, session: SessionDep, user: CurrentUser) -> PeriodStatus:
    return filings.period_status(session, user, period)


class FilingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    correction_reason: str = Field(
        default="", max_length=2000, description="更正理由（重复报送时必填）"
    )


@router.post(
    "/units/{code}/progress-filings/{period}",
    response_model=FilingRead,
    status_code=201,
    summary="报送本单位某半月推进表（重复报送 409，除非填写更正理由）",
    responses=error_responses(
        403,
        404,
        409,
        422,
        notes={
            403: "只有推荐单位可以报送本单位的推进表",
            404: "推荐单位不存在或不是您的单位",
            409: "本期已报送（更正须填写理由），或该半月尚未结束",
        },
    ),
)
def file_progress_table(
    code: str, period: str, session: SessionDep, user: CurrentUser, body: FilingBody | None = None
) -> FilingRead:
    filings.file_table(
        session, user, code, period, correction_reason=(body or FilingBody()).correction_reason
    )
    return filings.filing_of(session, code, period)


@router.get(
    "/units/{code}/progress-tables/{period}.{fmt}",
    summary="下载重点项目推进表（附件3），期间如 2026-06-H1（上半月）/ 2026-06-H2（下半月）",
    response_class=Response,
    tags=["documents"],
    responses={
        200: DOCUMENT_RESPONSES[200],
        **error_responses(
            403,
            404,
            422,
            503,
            notes={
                403: "角色无权下载推进表",
                **{s: str(DOCUMENT_RESPONSES[s]["description"]) for s in (404, 422, 503)},
            },
        ),
    },
)
async def progress_table(
    code: str,
    period: str,
    fmt: Annotated[str, Path(description="docx、xlsx 或 pdf")],
    session: SessionDep,
    user: CurrentUser,
    pool: PoolDep,
    request: Request,
) -> Response:
    def prepare() -> Prepared:
        unit = downloads.authorised_unit(session, user, code)
        half = downloads.parse_half_month(period)
        wanted = downloads.parse_format(fmt, downloads.PROGRESS_FORMATS)
        return prepare_progress_table(session, unit=unit, period=half, fmt=wanted)

    return await issue(await run_in_threadpool(prepare), pool, user, request)
