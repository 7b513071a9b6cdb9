"""`jingpin verify FILE` and `jingpin audit verify-export FILE`, offline.

Imports happen inside the commands on purpose: every `jingpin` invocation loads this module, and
the verifier and the database cost about a second of start-up that `--help` should not pay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def verify_export_file(path: Path) -> tuple[int, str]:
    """(exit code, Chinese message): 0 valid, 1 tampered or not signed by our system seal,
    3 unreadable."""
    from backend.pki.service import get_ca, system_certificates
    from backend.verification.export import verify_export

    try:
        data = path.read_bytes()
    except OSError as exc:
        return 3, f"无法读取文件：{exc.strerror}"
    ca = get_ca()
    revoked = {c.serial for c in ca.list() if c.revoked}
    check = verify_export(data, pinned=system_certificates(), revoked_serials=revoked)
    if check.ok:
        return 0, check.message
    return 1, f"核验失败：{check.message}"


def verify(
    file: Annotated[Path, typer.Argument(help="PDF 文件")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """验证 PDF 的电子签名。退出码：0 全部通过，1 失败，2 无法确定，3 不可读或无签名。"""
    from backend.core.db import session_scope
    from backend.pki.service import verify_bytes
    from backend.verification import registry
    from signing.verify import describe_zh, exit_code

    try:
        data = file.read_bytes()
    except OSError as exc:
        typer.echo(f"无法读取文件：{exc.strerror}", err=True)
        raise typer.Exit(3) from exc
    report = verify_bytes(data)
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
