"""`jingpin render progress`: the 推进表 from the database to a file (registered on the
`render` group by backend.cli; the group itself is backend.documents.cli)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import Session, select

from backend.documents import downloads
from backend.documents.cli import EXIT_BAD_INPUT, FormatOpt, OutOpt, fail, issue_to_file
from backend.documents.downloads import Prepared
from backend.documents.models import DocumentFormat
from backend.funding.progress import prepare_progress_table
from backend.orgs.models import RecommendingUnit


def render_progress(
    unit: Annotated[str, typer.Option("--unit", "-u", help="推荐单位代码，如 zj")],
    period: Annotated[str, typer.Option("--period", "-p", help="填报期间，如 2026-06-H1")],
    fmt: FormatOpt = DocumentFormat.pdf.value,
    out: OutOpt = None,
) -> None:
    """重点项目推进表（附件3），docx、xlsx 或 pdf。"""

    def prepare(session: Session) -> Prepared:
        found = session.exec(select(RecommendingUnit).where(RecommendingUnit.code == unit)).first()
        if found is None:
            fail(f"推荐单位 {unit} 不存在（单位代码如 zj、sc）", EXIT_BAD_INPUT)
        half = downloads.parse_half_month(period)
        wanted = downloads.parse_format(fmt, downloads.PROGRESS_FORMATS)
        return prepare_progress_table(session, unit=found, period=half, fmt=wanted)

    issue_to_file(prepare, out)
