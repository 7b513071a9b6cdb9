"""`jingpin verify FILE` and `jingpin audit verify-export FILE`, offline.

Imports happen inside the commands on purpose: every `jingpin` invocation loads this module, and
the verifier and the database cost about a second of start-up that `--help` should not pay."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Annotated

import typer


def verify_export_file(path: Path) -> tuple[int, str]:
    """(exit code, Chinese message): 0 valid, 1 tampered or not signed by us, 3 unreadable."""
    from backend.pki.service import get_ca
    from backend.verification.export import verify_export

    try:
        data = path.read_bytes()
    except OSError as exc:
        return 3, f"无法读取文件：{exc.strerror}"
    ca = get_ca()
    revoked = {c.serial for c in ca.list() if c.revoked}
    check = verify_export(
        data, root=ca.root_certificate, issuing=ca.issuing_certificate, revoked_serials=revoked
    )
    if check.ok:
        return 0, check.message
    return 1, f"核验失败：{check.message}"


def library_logging(verbose: bool) -> None:
    """Where library diagnostics go: pyHanko logs a traceback for every self-signed signer or
    suspicious revision of a foreign file. The verdict says what matters; the tracebacks appear
    on stderr only with ``--verbose`` (Python warnings too)."""
    logging.captureWarnings(True)
    root = logging.getLogger()
    if verbose:
        handler: logging.Handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.setLevel(logging.INFO)
    else:
        # A handler on the root keeps logging's last-resort stderr handler out of it.
        handler = logging.NullHandler()
    root.addHandler(handler)


def validation_time(text: str | None) -> dt.datetime | None:
    """``--at`` as an aware moment; a usage error (exit 2, like any bad option) otherwise."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"无法识别的时间 {text!r}，应为 ISO 8601，如 2031-06-01T00:00:00+08:00",
            param_hint="--at",
        ) from None
    if moment.tzinfo is None:
        raise typer.BadParameter("时间须带时区，如 2031-06-01T00:00:00+08:00", param_hint="--at")
    return moment


def verify(
    file: Annotated[Path, typer.Argument(help="PDF 文件")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="验证时间（ISO 8601，须带时区，如 2031-06-01T00:00:00+08:00），默认为现在",
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="在标准错误输出中显示程序库的诊断信息")
    ] = False,
) -> None:
    """验证 PDF 的电子签名。退出码：0 全部通过，1 失败，2 无法确定，3 不可读或无签名。"""
    library_logging(verbose)
    moment = validation_time(at)
    from backend.core.db import session_scope
    from backend.pki.service import verify_bytes
    from backend.verification import registry
    from signing.verify import describe_zh, exit_code

    try:
        data = file.read_bytes()
    except OSError as exc:
        typer.echo(f"无法读取文件：{exc.strerror}", err=True)
        raise typer.Exit(3) from exc
    report = verify_bytes(data, at=moment)
    body = report.to_dict()
    with session_scope() as session:
        body["registry"] = registry.lookup(session, report.file_sha256).model_dump(mode="json")
    if as_json:
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        for line in describe_zh(report):
            typer.echo(line)
        typer.echo("本系统签发的文件" if body["registry"]["known"] else "本系统未登记此文件")
    raise typer.Exit(exit_code(report))
