"""`jingpin render …`: render a document from the database to a file (operators, scripts).

    jingpin render application --work 3 --format pdf --out 申请书.pdf
    jingpin render pledge --work 3 --format docx
    jingpin render progress --unit zj --period 2026-06-H1 --format xlsx --out 推进表.xlsx

(``progress`` is funding's: backend.funding.cli.) Same path as the download API (context → render → store_rendered → pdf_for_docx, audit event
for new document rows, actor "cli"), without the per-user access check. Errors are one Chinese
line on stderr and a non-zero exit: 2 bad input (unknown work or unit, missing fields, bad
period or format), 3 converter unavailable, 1 anything else (e.g. a template bug).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlmodel import Session

from backend.core.errors import JingpinError, ServiceBusy
from backend.documents import downloads
from backend.documents.downloads import Prepared
from backend.documents.models import DocumentFormat
from backend.works.models import Work

app = typer.Typer(help="从数据库生成文书（申请书、版权承诺书、推进表）", no_args_is_help=True)

FormatOpt = Annotated[str, typer.Option("--format", "-f", help="文件格式")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="输出文件（默认：当前目录下的中文文件名）")
]
EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 3


def fail(message: str, code: int) -> NoReturn:
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
        fail(f"无法写入文件 {target}：{exc.strerror or exc}", 1)
    return target


def issue_to_file(prepare: Callable[[Session], Prepared], out: Path | None) -> None:
    """Prepare in a read session, convert with the pool (borrowed if one runs), record, write."""
    from backend.core.db import get_engine
    from backend.documents.converter import get_pool

    try:
        with Session(get_engine(), expire_on_commit=False) as session:
            prepared = prepare(session)
        pool = get_pool()
        borrowed = pool.stats().mode != "stopped"  # someone else's running pool (tests)
        try:
            pdf = downloads.convert_sync(prepared, pool)
        finally:
            if not borrowed:
                pool.stop()
        issued = downloads.record_issued(prepared, pdf, actor="cli")
    except ServiceBusy as exc:
        fail(f"{exc.message}（文档转换服务不可用）", EXIT_UNAVAILABLE)
        return
    except JingpinError as exc:
        detail = "；".join(exc.fields.values())
        code = EXIT_BAD_INPUT if exc.status_code < 500 else 1
        fail(f"{exc.message}：{detail}" if detail else exc.message, code)
        return
    target = _write(issued.data, out, issued.filename)
    note = "新生成" if issued.created else "与已登记的文书相同"
    typer.echo(f"已生成 {target}（{len(issued.data)} 字节，sha256 {issued.sha256}，{note}）")


def _work_document(doc_type: str, work_id: int, fmt: str, out: Path | None) -> None:
    def prepare(session: Session) -> Prepared:
        work = session.get(Work, work_id)
        if work is None:
            fail(f"作品 {work_id} 不存在", EXIT_BAD_INPUT)
        wanted = downloads.parse_format(fmt, downloads.WORK_FORMATS)
        return downloads.prepare_work_document(session, work=work, doc_type=doc_type, fmt=wanted)

    issue_to_file(prepare, out)


@app.command("application")
def render_application(
    work: Annotated[int, typer.Option("--work", "-w", help="作品编号")],
    fmt: FormatOpt = DocumentFormat.pdf.value,
    out: OutOpt = None,
) -> None:
    """扶持项目申请书（附件1），docx 或 pdf。"""
    _work_document("application", work, fmt, out)


@app.command("pledge")
def render_pledge(
    work: Annotated[int, typer.Option("--work", "-w", help="作品编号")],
    fmt: FormatOpt = DocumentFormat.pdf.value,
    out: OutOpt = None,
) -> None:
    """版权承诺书（附件2），docx 或 pdf。"""
    _work_document("copyright-pledge", work, fmt, out)
