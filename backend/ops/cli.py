"""`jingpin worker`, `jingpin backup`, `jingpin restore`."""

from __future__ import annotations

import logging
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
