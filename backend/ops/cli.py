"""`jingpin worker`, `jingpin backup`, `jingpin restore`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer


def worker(
    queues: Annotated[
        str,
        typer.Option(
            help="只处理这些队列（逗号分隔）：convert, sign-finalise, verify, mail, archive, "
            "reminders；默认全部"
        ),
    ] = "",
    concurrency: Annotated[int, typer.Option(help="同时执行的任务数")] = 1,
    name: Annotated[str, typer.Option(help="工作进程名称（日志与监控中显示）")] = "",
) -> None:
    """运行后台任务工作进程（需要 JINGPIN_QUEUE=postgres）。"""
    from backend import wiring
    from backend.core import jobs
    from backend.core.config import get_settings
    from backend.core.logging import configure_logging

    if get_settings().queue != "postgres":
        typer.echo(
            "后台任务队列未启用：请设置 JINGPIN_QUEUE=postgres（需要 PostgreSQL）。", err=True
        )
        raise typer.Exit(2)
    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = [q for q in wanted if q not in jobs.QUEUES]
    if unknown:
        typer.echo(f"未知的队列：{', '.join(unknown)}（可选：{', '.join(jobs.QUEUES)}）", err=True)
        raise typer.Exit(2)
    if get_settings().log_format == "json":
        configure_logging()
    else:
        logging.basicConfig(level=logging.INFO)
    wiring.install()
    typer.echo(f"jingpin 工作进程：队列 {', '.join(wanted or jobs.QUEUES)}")
    jobs.run_worker(wanted or None, concurrency=concurrency, name=name or None)


def backup(
    out: Annotated[Path, typer.Argument(help="备份文件（.tar）")],
) -> None:
    """备份数据库、文件存储与证书机构（清单含 SHA-256 与 SM3，经系统电子签章签名；不含密钥加密密钥）。"""
    from backend import wiring
    from backend.ops.backup import backup as make_backup

    wiring.install()
    summary = make_backup(out)
    typer.echo(
        f"已备份到 {out}：{summary.tables} 张表 {summary.rows} 行，{summary.blobs} 个文件，"
        f"证书机构 {summary.ca_files} 个文件（数据库版本 {summary.revision}）"
    )


def restore(
    source: Annotated[Path, typer.Argument(help="备份文件（.tar）")],
) -> None:
    """把备份恢复到空的数据库与数据目录（先核验签名与每个部分的摘要）。"""
    from backend import wiring
    from backend.core.errors import JingpinError
    from backend.ops.backup import restore as do_restore

    wiring.install()
    try:
        summary = do_restore(source)
    except JingpinError as exc:
        typer.echo(f"未恢复：{exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"已恢复：{summary.tables} 张表 {summary.rows} 行，{summary.blobs} 个文件，"
        f"证书机构 {summary.ca_files} 个文件。请运行 jingpin audit verify 核验审计日志。"
    )
