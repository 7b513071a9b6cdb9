"""`jingpin render …`: render a document from the database to a file (operators, scripts).

    jingpin render application --work 3 --format pdf --out 申请书.pdf
    jingpin render pledge --work 3 --format docx
    jingpin render progress --unit zj --period 2026-06-H1 --format xlsx --out 推进表.xlsx

Same path as the download API (context → render → store_rendered → pdf_for_docx, audit event
for new document rows, actor "cli"), without the per-user access check. Errors are one Chinese
line on stderr and a non-zero exit: 2 bad input (unknown work or unit, missing fields, bad
period or format), 3 converter unavailable, 1 anything else (e.g. a template bug).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.documents.models import DocumentFormat

app = typer.Typer(help="从数据库生成文书（申请书、版权承诺书、推进表）", no_args_is_help=True)

FormatOpt = Annotated[str, typer.Option("--format", "-f", help="文件格式")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="输出文件（默认：当前目录下的中文文件名）")
]
EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 3


def _fail(message: str, code: int) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _write(data: bytes, out: Path | None, filename: str) -> Path:
    target = out or Path(filename)
    if target.is_dir():
        target = target / filename
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    except OSError as exc:
        _fail(f"无法写入文件 {target}：{exc.strerror or exc}", 1)
    return target


def _run(build: str, fmt: str, out: Path | None, **what: str | int) -> None:
    from sqlmodel import Session, select

    from backend.core.db import get_engine
    from backend.core.errors import JingpinError, ServiceBusy
    from backend.documents import downloads
    from backend.documents.converter import get_pool
    from backend.orgs.models import RecommendingUnit
    from backend.works.models import Work

    try:
        with Session(get_engine(), expire_on_commit=False) as session:
            if build == "progress":
                unit = session.exec(
                    select(RecommendingUnit).where(RecommendingUnit.code == what["unit"])
                ).first()
                if unit is None:
                    _fail(f"推荐单位 {what['unit']} 不存在（单位代码如 zj、sc）", EXIT_BAD_INPUT)
                    return
                period = downloads.parse_half_month(str(what["period"]))
                wanted = downloads.parse_format(fmt, downloads.PROGRESS_FORMATS)
                prepared = downloads.prepare_progress_table(
                    session, unit=unit, period=period, fmt=wanted
                )
            else:
                work = session.get(Work, what["work"])
                if work is None:
                    _fail(f"作品 {what['work']} 不存在", EXIT_BAD_INPUT)
                    return
                wanted = downloads.parse_format(fmt, downloads.WORK_FORMATS)
                prepared = downloads.prepare_work_document(
                    session, work=work, doc_type=build, fmt=wanted
                )
        pool = get_pool()
        borrowed = pool.stats().mode != "stopped"  # someone else's running pool (tests)
        try:
            pdf = downloads.convert_sync(prepared, pool)
        finally:
            if not borrowed:
                pool.stop()
        issued = downloads.record_issued(prepared, pdf, actor="cli")
    except ServiceBusy as exc:
        _fail(f"{exc.message}（文档转换服务不可用）", EXIT_UNAVAILABLE)
        return
    except JingpinError as exc:
        detail = "；".join(exc.fields.values())
        code = EXIT_BAD_INPUT if exc.status_code < 500 else 1
        _fail(f"{exc.message}：{detail}" if detail else exc.message, code)
        return
    target = _write(issued.data, out, issued.filename)
    note = "新生成" if issued.created else "与已登记的文书相同"
    typer.echo(f"已生成 {target}（{len(issued.data)} 字节，sha256 {issued.sha256}，{note}）")


@app.command("application")
def render_application(
    work: Annotated[int, typer.Option("--work", "-w", help="作品编号")],
    fmt: FormatOpt = DocumentFormat.pdf.value,
    out: OutOpt = None,
) -> None:
    """扶持项目申请书（附件1），docx 或 pdf。"""
    _run("application", fmt, out, work=work)


@app.command("pledge")
def render_pledge(
    work: Annotated[int, typer.Option("--work", "-w", help="作品编号")],
    fmt: FormatOpt = DocumentFormat.pdf.value,
    out: OutOpt = None,
) -> None:
    """版权承诺书（附件2），docx 或 pdf。"""
    _run("copyright-pledge", fmt, out, work=work)


@app.command("progress")
def render_progress(
    unit: Annotated[str, typer.Option("--unit", "-u", help="推荐单位代码，如 zj")],
    period: Annotated[str, typer.Option("--period", "-p", help="填报期间，如 2026-06-H1")],
    fmt: FormatOpt = DocumentFormat.pdf.value,
    out: OutOpt = None,
) -> None:
    """重点项目推进表（附件3），docx、xlsx 或 pdf。"""
    _run("progress", fmt, out, unit=unit, period=period)
