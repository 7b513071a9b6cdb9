"""The warm LibreOffice pool against the real LibreOffice: happy path, crash, hang, back-pressure,
recycling and the one-shot fallback. Faults are real: SIGSTOP for a hang, SIGKILL for a crash."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import subprocess
import threading
from pathlib import Path

import docx
import pypdf
import pytest
from docx.oxml.ns import qn

from backend.core.errors import ServiceBusy
from backend.documents.converter import (
    DEFAULT_UNO_SITE,
    UNO_SERVER,
    ConversionTimeout,
    ConverterPool,
)

pytestmark = pytest.mark.libreoffice

TEXT = "微短剧精品创作传播计划扶持项目申请书"


def chinese_docx(text: str = TEXT) -> bytes:
    """A small DOCX whose default language is zh-CN, as the templates set it."""
    document = docx.Document()
    for lang in document.styles.element.iter(qn("w:lang")):
        lang.set(qn("w:val"), "zh-CN")
        lang.set(qn("w:eastAsia"), "zh-CN")
    document.add_heading(text, 1)
    document.add_paragraph("申请单位承诺所填内容真实、准确，版权清晰，无任何权属纠纷。")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def converter_processes(root: Path) -> list[int]:
    """Live (non-zombie) processes whose command line mentions this pool's directory."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(root).encode() in cmdline and state != "Z":
            found.append(int(proc.name))
    return found


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory):
    p = ConverterPool(data_dir=tmp_path_factory.mktemp("converter"), instances=2)
    p.start()
    yield p
    p.stop()


@pytest.fixture
def make_pool(tmp_path: Path):
    pools: list[ConverterPool] = []

    def make(**kw) -> ConverterPool:
        p = ConverterPool(data_dir=tmp_path / f"pool{len(pools)}", **kw)
        pools.append(p)
        return p

    yield make
    for p in pools:
        p.stop()


def in_threads(pool: ConverterPool, n: int) -> tuple[list[threading.Thread], list[object]]:
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            results[i] = pool.convert(chinese_docx(f"{TEXT}{i}"))
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads, results


def test_chinese_docx_converts_to_pdf_with_its_text_and_zh_cn_language(pool):
    pdf = pool.convert(chinese_docx())
    assert pdf.startswith(b"%PDF")
    assert TEXT in pdf_text(pdf).replace("\n", "")
    assert pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Lang"] == "zh-CN"


def test_instances_run_the_server_that_loads_documents_hidden(pool):
    # The pool runs unoserver through uno_server.py …
    cmdlines = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in pool.stats().pids if pid]
    assert len(cmdlines) == 2 and all(str(UNO_SERVER).encode() in c for c in cmdlines)
    # … whose Desktop adds Hidden=True to every load (and overrides a Hidden=False).
    probe = f"""
import runpy
from unoserver import converter
from unoserver.converter import PropertyValue
module = runpy.run_path({str(UNO_SERVER)!r})
assert converter.UnoConverter is module["PipeUnoConverter"]
class Desktop:
    def loadComponentFromURL(self, url, frame, flags, props):
        return sorted((p.Name, p.Value) for p in props)
desktop = module["_HiddenDesktop"](Desktop())
props = (PropertyValue(Name="ReadOnly", Value=True), PropertyValue(Name="Hidden", Value=False))
print(desktop.loadComponentFromURL("file:///x.docx", "_default", 0, props))
"""
    out = subprocess.run(
        ["/usr/bin/python3", "-P", "-c", probe],
        env={
            **os.environ,
            "PYTHONPATH": str(DEFAULT_UNO_SITE),
            "JINGPIN_UNO_PIPE": "probe",
            "JINGPIN_XMLRPC_SOCKET": "/nonexistent/probe.sock",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[('Hidden', True), ('ReadOnly', True)]"


def test_pdf_is_untagged_unless_the_pool_is_asked_for_tags(pool, make_pool):
    untagged = pypdf.PdfReader(io.BytesIO(pool.convert(chinese_docx()))).trailer["/Root"]
    assert "/StructTreeRoot" not in untagged
    # The one-shot path (no warm instance can start) takes the same options.
    tagging = make_pool(instances=1, python="/nonexistent", tagged=True)
    tagging.start()
    tagged = pypdf.PdfReader(io.BytesIO(tagging.convert(chinese_docx()))).trailer["/Root"]
    assert "/StructTreeRoot" in tagged and bool(tagged["/MarkInfo"]["/Marked"])
    assert tagging.stats().fallback_conversions == 1


def test_pdfa_option_produces_pdfa_2b(pool):
    pdf = pool.convert(chinese_docx(), pdfa=True)
    xmp = pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"pdfaid:part>2<" in xmp and b"pdfaid:conformance>B<" in xmp


def test_convert_async_runs_conversions_concurrently_from_async_code(pool):
    async def main() -> list[bytes]:
        return await asyncio.gather(
            *(pool.convert_async(chinese_docx(f"第{i}号")) for i in range(4))
        )

    pdfs = asyncio.run(main())
    assert [f"第{i}号" in pdf_text(p) for i, p in enumerate(pdfs)] == [True] * 4


@pytest.fixture(scope="module")
def solo(tmp_path_factory: pytest.TempPathFactory):
    """One instance shared by the fault tests; each begins with a conversion so that a restart
    left by the previous test has finished."""
    p = ConverterPool(data_dir=tmp_path_factory.mktemp("solo"), instances=1)
    p.start()
    yield p
    p.stop()


def ready_pid(pool: ConverterPool) -> int:
    pool.convert(chinese_docx())
    pid = pool.stats().pids[0]
    assert pid is not None
    return pid


def test_full_queue_raises_service_busy_with_retry_after(solo, monkeypatch):
    monkeypatch.setattr(solo, "max_queue", 2)
    pid = ready_pid(solo)
    restarts = solo.stats().restarts
    os.killpg(pid, signal.SIGSTOP)  # the one instance hangs: requests pile up
    try:
        threads, results = in_threads(solo, 3)  # one converting, two waiting
        assert solo.wait_for_admitted(3, timeout=10)
        with pytest.raises(ServiceBusy) as busy:
            solo.convert(chinese_docx())
        assert int(busy.value.headers["Retry-After"]) >= 1
        with pytest.raises(ServiceBusy):
            asyncio.run(solo.convert_async(chinese_docx()))
    finally:
        os.killpg(pid, signal.SIGCONT)
    for t in threads:
        t.join()
    assert all(isinstance(r, bytes) for r in results), results
    assert solo.stats().restarts == restarts


def test_killed_instance_mid_queue_requests_succeed_or_get_service_busy_and_pool_recovers(solo):
    pid = ready_pid(solo)
    restarts = solo.stats().restarts
    os.killpg(pid, signal.SIGSTOP)
    threads, results = in_threads(solo, 4)
    assert solo.wait_for_admitted(4, timeout=10)
    os.kill(pid, signal.SIGKILL)  # unoserver dies mid-queue; its soffice is left orphaned
    for t in threads:
        t.join()
    assert all(isinstance(r, bytes | ServiceBusy) for r in results), results
    assert any(isinstance(r, bytes) for r in results)
    assert TEXT in pdf_text(solo.convert(chinese_docx()))
    stats = solo.stats()
    assert stats.restarts == restarts + 1 and stats.pids[0] != pid
    assert pid not in converter_processes(solo.root)


def test_hung_conversion_times_out_kills_the_instance_and_the_next_one_succeeds(solo):
    pid = ready_pid(solo)
    restarts = solo.stats().restarts
    os.killpg(pid, signal.SIGSTOP)
    with pytest.raises(ConversionTimeout):
        solo.convert(chinese_docx(), timeout=2)
    assert TEXT in pdf_text(solo.convert(chinese_docx()))
    assert solo.stats().restarts == restarts + 1 and solo.stats().pids[0] != pid
    assert pid not in converter_processes(solo.root)


def test_instance_is_recycled_after_restart_after_conversions(solo, monkeypatch):
    pid = ready_pid(solo)
    restarts = solo.stats().restarts
    monkeypatch.setattr(solo, "restart_after", 2)
    solo.convert(chinese_docx())  # second conversion on this instance: recycled afterwards
    assert TEXT in pdf_text(solo.convert(chinese_docx()))
    stats = solo.stats()
    assert stats.restarts == restarts + 1 and stats.pids[0] != pid


def test_first_conversion_starts_the_pool_and_stop_leaves_no_process(make_pool):
    pool = make_pool(instances=2)
    assert pool.stats().mode == "stopped"
    assert TEXT in pdf_text(pool.convert(chinese_docx()))
    assert pool.stats().mode == "pool"
    assert len(converter_processes(pool.root)) >= 2
    pool.stop()
    assert converter_processes(pool.root) == []
    assert pool.stats().mode == "stopped"


def test_pool_that_cannot_start_falls_back_to_one_shot_soffice_with_a_warning(make_pool, caplog):
    pool = make_pool(instances=1, python="/nonexistent/python3")
    with caplog.at_level(logging.WARNING, logger="backend.documents.converter"):
        pool.start()
    assert "falling back to one-shot soffice" in caplog.text
    pdf = pool.convert(chinese_docx(), pdfa=True)
    assert TEXT in pdf_text(pdf).replace("\n", "")
    stats = pool.stats()
    assert stats.mode == "fallback" and stats.fallback_conversions == 1
