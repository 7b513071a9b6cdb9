"""`jingpin render …` against the demo database; PDFs through the shared LibreOffice pool."""

from __future__ import annotations

import subprocess

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from backend.cli import app as cli
from backend.documents.models import Document
from backend.works.models import Work

TITLE = "西湖边的修伞人"


def work_id(session: Session) -> int:
    work = session.exec(select(Work).where(Work.title == TITLE)).one()
    session.rollback()
    assert work.id is not None
    return work.id


def run(*args: str):
    return CliRunner().invoke(cli, ["render", *args])


@pytest.mark.libreoffice
def test_render_application_pdf_writes_the_file_and_exits_0(env, session, app_pool, tmp_path):
    out = tmp_path / "申请书.pdf"
    result = run(
        "application", "--work", str(work_id(session)), "--format", "pdf", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert TITLE in text
    assert "已生成" in result.output
    session.rollback()
    assert session.exec(select(Document).where(Document.format == "pdf")).first() is not None
    assert app_pool.stats().mode == "pool"  # the CLI leaves a pool it did not start running


def test_render_progress_xlsx_writes_the_file(env, tmp_path):
    out = tmp_path / "推进表.xlsx"
    result = run(
        "progress", "--unit", "zj", "--period", "2026-06-H1", "--format", "xlsx", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:2] == b"PK"


def test_render_pledge_docx_into_a_directory_uses_the_chinese_name(env, session, tmp_path):
    result = run(
        "pledge", "--work", str(work_id(session)), "--format", "docx", "--out", str(tmp_path)
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"{TITLE}-版权承诺书.docx").exists()


def test_bad_work_id_exits_non_zero_with_a_chinese_message(env):
    result = run("application", "--work", "99999", "--format", "pdf", "--out", "/tmp/never.pdf")
    assert result.exit_code == 2
    assert "作品 99999 不存在" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_missing_fields_exit_non_zero_listing_them(env, session, tmp_path):
    work = session.exec(select(Work).where(Work.title == TITLE)).one()
    work.filing_number = ""
    work.director = ""
    session.add(work)
    session.commit()
    out = tmp_path / "a.docx"
    result = run("application", "--work", str(work.id), "--format", "docx", "--out", str(out))
    assert result.exit_code == 2
    assert "规划立项备案号未填写" in result.output and "导演未填写" in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["progress", "--unit", "zj", "--period", "2026-13-H1"], "填报期间无效：2026-13-H1"),
        (["progress", "--unit", "zj", "--period", "2026-06-H3"], "填报期间无效"),
        (["progress", "--unit", "xx", "--period", "2026-06-H1"], "推荐单位 xx 不存在"),
        (
            ["progress", "--unit", "zj", "--period", "2026-06-H1", "--format", "doc"],
            "不支持的文件格式",
        ),
        (["application", "--work", "1", "--format", "xlsx"], "不支持的文件格式"),
    ],
)
def test_bad_input_exits_2_with_a_chinese_message(env, args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
