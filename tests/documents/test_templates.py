"""Templates, renderer and context builders: variables match both ways, StrictUndefined, escaping,
determinism, validation; then the real LibreOffice (PDF text, embedded CJK fonts, the signature
table's cells).
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import docx
import pypdf
import pytest
from freezegun import freeze_time
from lxml import etree
from openpyxl import load_workbook
from sqlmodel import Session, SQLModel, create_engine

import backend.models  # noqa: F401  (registers every table)
from backend.core.errors import ValidationFailed
from backend.documents.contexts import (
    agreement_context,
    application_context,
    pledge_context,
    progress_context,
)
from backend.documents.pdf_layout import last_page
from backend.documents.progress_xlsx import progress_xlsx
from backend.documents.render import (
    TEMPLATE_NAMES,
    TemplateVariableError,
    render_docx,
    template_sha256,
    template_variables,
)
from backend.funding.progress import progress_rows
from backend.orgs.models import Organisation, OrgKind, RecommendingUnit, UnitKind
from backend.verification.report import report_context
from backend.works.models import Batch, Direction, Work, WorkStatus

TRICKY = 'A&B <x> "q"'
MILESTONES = [
    {
        "name": "首期款",
        "amount_fen": 20000000,
        "condition": "三方签署完成",
        "planned_date": date(2026, 7, 15),
    },
    {
        "name": "中期款",
        "amount_fen": 15000000,
        "condition": "中期检查通过",
        "planned_date": date(2026, 9, 15),
    },
    {"name": "尾款", "amount_fen": 15000000, "condition": "审核验收通过", "planned_date": None},
]


class World:
    """A small database: one unit, its organisation, a producer, a batch and works."""

    def __init__(self) -> None:
        engine = create_engine("sqlite://")
        SQLModel.metadata.create_all(engine)
        self.session = Session(engine, expire_on_commit=False)
        s = self.session
        self.unit = RecommendingUnit(
            code="zj", name="浙江省广播电视局", short_name="浙江", kind=UnitKind.provincial
        )
        s.add(self.unit)
        s.flush()
        self.unit_org = Organisation(
            kind=OrgKind.unit,
            name="浙江省广播电视局",
            address="浙江省杭州市西湖区学院路77号",
            contact_name="王晓",
            contact_phone="0571-85000000",
            unit_id=self.unit.id,
        )
        self.producer = Organisation(
            kind=OrgKind.producer,
            name=f"杭州星河影视文化有限公司{TRICKY}",
            uscc="91330106MA2H3K4L5X",
            address="浙江省杭州市西湖区文三路100号",
            legal_representative="李明",
            contact_name="张华",
            contact_phone="13800000000",
            contact_email="zhang@xinghe.example.cn",
            unit_id=self.unit.id,
        )
        s.add_all([self.unit_org, self.producer])
        s.flush()
        self.batch = Batch(
            year=2026,
            number=1,
            registration_deadline=datetime(2026, 6, 4, 16, tzinfo=UTC),
            submission_deadline=datetime(2026, 6, 15, 16, tzinfo=UTC),
        )
        s.add(self.batch)
        s.flush()
        self.work = self.add_work("西湖边的灯火", WorkStatus.confirmed)
        self.add_work("钱江潮", WorkStatus.in_notice)
        self.add_work("未入选的剧", WorkStatus.not_selected)
        self.add_work("草稿中的剧", WorkStatus.draft)

    def add_work(self, title: str, status: WorkStatus, **kw) -> Work:
        fields = dict(
            organisation_id=self.producer.id,
            unit_id=self.unit.id,
            batch_id=self.batch.id,
            status=status,
            title=title,
            direction=Direction.everyday_life,
            genre="都市生活",
            episodes=30,
            minutes_per_episode=2.5,
            synopsis="讲述杭州一家老字号面馆三代人守正创新的故事。\n第二段：数字经济浪潮中的坚守。",
            filing_number="（浙）网剧备字〔2026〕第0123号",
            budget_fen=300000000,
            requested_fen=50000000,
            director="陈远",
            screenwriter="林秋",
            producer_name="赵宁",
            schedule="2026年7月完成剧本，8月开机，10月完成后期制作。",
            planned_start=date(2026, 8, 1),
            planned_completion=date(2026, 10, 31),
            partner_platform="芒果TV",
        )
        fields.update(kw)
        work = Work(**fields)
        self.session.add(work)
        self.session.flush()
        return work

    # contexts -------------------------------------------------------------------------------
    def application(self) -> dict:
        return application_context(session=self.session, work=self.work)

    def pledge(self) -> dict:
        return pledge_context(session=self.session, work=self.work)

    def agreement(self, **kw) -> dict:
        args = dict(
            session=self.session,
            work=self.work,
            producer=self.producer,
            unit=self.unit,
            unit_org=self.unit_org,
            grant_fen=50000000,
            milestones=MILESTONES,
            agreement_number="JP-2026-1-ZJ-0001",
            version=1,
            issued_on=date(2026, 7, 1),
        )
        args.update(kw)
        return agreement_context(**args)

    def zero_grant_agreement(self) -> dict:
        work = self.add_work(
            "已获扶持的剧",
            WorkStatus.confirmed,
            central_support_received=True,
            central_support_details="已获2025年度网络视听节目精品创作传播工程扶持",
        )
        return self.agreement(
            work=work, grant_fen=0, milestones=[], agreement_number="JP-2026-1-ZJ-0002"
        )

    def progress(self, rows=None) -> dict:
        return progress_context(
            session=self.session,
            unit=self.unit,
            year=2026,
            month=6,
            half=1,
            rows=progress_rows(self.session, self.unit) if rows is None else rows,
            filed_on=date(2026, 6, 15),
        )


PROGRESS_ROWS = [
    {
        "title": "西湖边的灯火",
        "producer": "杭州星河影视文化有限公司",
        "batch": "2026年第1批",
        "direction": "聚焦人间烟火",
        "stage": "拍摄制作",
        "progress": "完成第1至10集拍摄",
        "grant_fen": 50000000,
        "paid_fen": 20000000,
        "platform": "芒果TV",
        "broadcast_date": None,
        "remarks": "",
    },
    {
        "title": "钱江潮",
        "producer": "杭州潮声文化传媒有限公司",
        "batch": "2026年第1批",
        "direction": "反映时代新气象",
        "stage": "已上线播出",
        "progress": "",
        "grant_fen": 30000000,
        "paid_fen": 30000000,
        "platform": "腾讯视频",
        "broadcast_date": date(2026, 6, 10),
        "remarks": "首周播放量居前",
    },
]


@pytest.fixture
def world() -> World:
    return World()


def contexts(world: World) -> dict[str, dict]:
    return {
        "application_form.docx": world.application(),
        "copyright_pledge.docx": world.pledge(),
        "agreement.docx": world.agreement(),
        "progress_table.docx": world.progress(PROGRESS_ROWS),
    }


def document_text(data: bytes) -> str:
    d = docx.Document(io.BytesIO(data))
    parts = [p.text for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


# --- templates and builders agree ---------------------------------------------------------------


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_variables_equal_builder_keys_both_ways(world, name):
    ctx = contexts(world)[name]
    variables = template_variables(name)
    assert variables - ctx.keys() == set(), "template reads variables the builder does not provide"
    assert ctx.keys() - variables == set(), "builder provides keys no template reads"


def test_zero_grant_agreement_context_has_the_same_keys(world):
    assert world.zero_grant_agreement().keys() == template_variables("agreement.docx")


def test_verification_report_variables_equal_report_context_keys():
    body = {
        "file_sha256": "0" * 64,
        "indication": "TOTAL_PASSED",
        "signatures": [{"field": "party_yi", "indication": "TOTAL_PASSED"}],
    }
    assert report_context(body).keys() == template_variables("verification_report.docx")


def test_template_sha256_is_the_file_hash():
    path = Path(__file__).resolve().parents[2] / "templates" / "agreement.docx"
    assert template_sha256("agreement.docx") == hashlib.sha256(path.read_bytes()).hexdigest()


# --- renderer -------------------------------------------------------------------------------------


def test_missing_variable_raises_error_naming_it(world):
    ctx = world.application()
    del ctx["filing_number"]
    with pytest.raises(TemplateVariableError) as err:
        render_docx("application_form.docx", ctx)
    assert err.value.name == "filing_number"
    assert err.value.code == "template_variable_missing"
    assert "filing_number" in err.value.message


def test_missing_key_inside_a_loop_item_is_named(world):
    ctx = world.agreement()
    for m in ctx["milestones"]:
        del m["condition"]
    with pytest.raises(TemplateVariableError) as err:
        render_docx("agreement.docx", ctx)
    assert err.value.name == "condition"


def test_unknown_template_name_is_refused():
    with pytest.raises(Exception) as err:
        render_docx("../pyproject.toml", {})
    assert getattr(err.value, "code", "") == "template_not_found"


def test_user_text_with_xml_specials_is_escaped(world):
    data = render_docx("application_form.docx", world.application())
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    etree.fromstring(xml)  # well-formed
    assert b'A&amp;B &lt;x&gt; "q"' in xml  # re-serialised by lxml: quotes need no escape in text
    assert TRICKY in document_text(data)


def test_newlines_in_user_text_become_line_breaks(world):
    data = render_docx("application_form.docx", world.application())
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert re.search(r"守正创新的故事。</w:t><w:br/><w:t[^>]*>第二段", xml)


def test_rendering_twice_gives_identical_bytes(world):
    for name, ctx in contexts(world).items():
        first = hashlib.sha256(render_docx(name, ctx)).hexdigest()
        second = hashlib.sha256(render_docx(name, dict(ctx))).hexdigest()
        assert first == second, name


def test_different_input_gives_different_bytes(world):
    a = render_docx("agreement.docx", world.agreement())
    b = render_docx("agreement.docx", world.agreement(version=2))
    assert a != b


def test_rendered_core_properties_and_zip_dates_are_fixed(world):
    data = render_docx("copyright_pledge.docx", world.pledge())
    z = zipfile.ZipFile(io.BytesIO(data))
    assert {i.date_time for i in z.infolist()} == {(2026, 1, 1, 0, 0, 0)}
    assert z.namelist()[0] == "[Content_Types].xml"
    cp = docx.Document(io.BytesIO(data)).core_properties
    assert cp.created == cp.modified == datetime(2026, 1, 1, tzinfo=UTC)
    assert cp.last_modified_by == "jingpin"
    assert cp.revision == 1


def test_agreement_renders_milestone_rows_in_figures_and_capitals(world):
    text = document_text(render_docx("agreement.docx", world.agreement()))
    for expected in (
        "首期款",
        "200,000.00",
        "三方签署完成",
        "中期检查通过",
        "审核验收通过",
        "2026年7月15日",
    ):
        assert expected in text
    assert "人民币伍拾万元整（¥500,000.00）" in text
    assert "不再发放扶持资金" not in text


def test_zero_grant_agreement_has_no_schedule_and_says_no_funding(world):
    data = render_docx("agreement.docx", world.zero_grant_agreement())
    text = document_text(data)
    assert "依据实施方案，不再发放扶持资金" in text
    assert "付款节点" not in text
    assert "专款专用" not in text
    assert len(docx.Document(io.BytesIO(data)).tables) == 1  # only the signature table


# --- builders validate --------------------------------------------------------------------------


def test_application_builder_lists_every_missing_field_at_once(world):
    world.work.filing_number = ""
    world.work.director = "  "
    world.work.planned_start = None
    world.producer.uscc = None
    world.producer.contact_email = ""
    with pytest.raises(ValidationFailed) as err:
        world.application()
    assert err.value.fields == {
        "filing_number": "规划立项备案号未填写",
        "director": "导演未填写",
        "planned_start": "计划开机时间未填写",
        "organisation.uscc": "统一社会信用代码未填写",
        "organisation.contact_email": "电子邮箱未填写",
    }


def test_application_builder_requires_details_of_central_support(world):
    world.work.central_support_received = True
    with pytest.raises(ValidationFailed) as err:
        world.application()
    assert "central_support_details" in err.value.fields


def test_pledge_builder_needs_only_what_the_pledge_shows(world):
    world.work.director = ""
    assert world.pledge()["work_title"] == "西湖边的灯火"
    world.work.filing_number = ""
    with pytest.raises(ValidationFailed) as err:
        world.pledge()
    assert err.value.fields == {"filing_number": "规划立项备案号未填写"}


def test_agreement_builder_checks_milestones_sum_and_fields(world):
    bad = [
        dict(MILESTONES[0]),
        {"name": "", "amount_fen": 0, "condition": "", "planned_date": None},
    ]
    with pytest.raises(ValidationFailed) as err:
        world.agreement(milestones=bad, agreement_number="")
    fields = err.value.fields
    assert {
        "agreement_number",
        "milestones",
        "milestones[1].name",
        "milestones[1].amount_fen",
        "milestones[1].condition",
    } <= fields.keys()
    assert "不一致" in fields["milestones"]


def test_zero_grant_requires_central_support_elsewhere(world):
    with pytest.raises(ValidationFailed) as err:
        world.agreement(grant_fen=0, milestones=[])
    assert "grant_fen" in err.value.fields


def test_progress_builder_reports_missing_row_fields(world):
    rows = [dict(PROGRESS_ROWS[0], stage="", producer=""), dict(PROGRESS_ROWS[1], paid_fen=-5)]
    with pytest.raises(ValidationFailed) as err:
        world.progress(rows)
    assert err.value.fields == {
        "rows[0].producer": "第1行制作机构未填写",
        "rows[0].stage": "第1行当前阶段未填写",
        "rows[1].paid_fen": "第2行金额无效",
    }


def test_progress_default_rows_list_selected_works_without_funding(world):
    ctx = world.progress()
    assert [r["title"] for r in ctx["rows"]] == ["西湖边的灯火", "钱江潮"]
    assert {r["grant_figures"] for r in ctx["rows"]} == {"0.00"}
    assert ctx["total_paid_figures"] == "0.00"
    assert ctx["period_label"] == "2026年6月上半月"
    text = document_text(render_docx("progress_table.docx", ctx))
    assert "合计（2部）" in text


def test_progress_table_without_works_says_so(world):
    text = document_text(render_docx("progress_table.docx", world.progress([])))
    assert "本期无纳入计划的扶持项目" in text
    assert "合计（0部）" in text


# --- xlsx -----------------------------------------------------------------------------------------


def test_progress_xlsx_has_money_formats_frozen_header_and_a4_landscape(world):
    ctx = world.progress(PROGRESS_ROWS)
    with freeze_time("2026-06-16 09:00:00"):
        data = progress_xlsx(ctx)
    with freeze_time("2026-06-16 09:00:01"):  # the same table a second later: the same bytes
        assert data == progress_xlsx(ctx)
    props = load_workbook(io.BytesIO(data)).properties
    assert props.modified == props.created
    ws = load_workbook(io.BytesIO(data)).active
    assert ws["A2"].value == "微短剧精品创作传播“五个一批工程”重点项目推进表"
    assert "浙江省广播电视局" in ws["A3"].value and "2026年6月上半月" in ws["A3"].value
    assert ws.freeze_panes == "A5"
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert ws.column_dimensions["G"].width == 36
    assert [ws.cell(5, c).value for c in (1, 2, 6)] == [1, "西湖边的灯火", "拍摄制作"]
    assert ws["H5"].value == 500000 and ws["H5"].number_format == "¥#,##0.00"
    assert ws["I6"].value == 300000
    assert ws["A7"].value == "合计（2部）"
    assert ws["H7"].value == 800000 and ws["I7"].value == 500000
    assert ws["H7"].number_format == "¥#,##0.00"
    assert ws["J6"].value == "腾讯视频，2026年6月10日"


# --- real LibreOffice -----------------------------------------------------------------------------

SOFFICE = shutil.which("soffice")


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory) -> dict[str, Path]:
    """Render every document (and the zero-grant agreement) and convert them in one soffice run."""
    if not SOFFICE:
        pytest.skip("LibreOffice (soffice) not installed")
    out = tmp_path_factory.mktemp("pdf")
    w = World()
    docs = {name.removesuffix(".docx"): (name, ctx) for name, ctx in contexts(w).items()}
    docs["agreement_zero"] = ("agreement.docx", w.zero_grant_agreement())
    for stem, (name, ctx) in docs.items():
        (out / f"{stem}.docx").write_bytes(render_docx(name, ctx))
    profile = out / "lo-profile"
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
        ]
        + [str(out / f"{stem}.docx") for stem in docs],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return {stem: out / f"{stem}.pdf" for stem in docs}


def pdftext(path: Path, *args: str) -> str:
    return subprocess.run(
        ["pdftotext", *args, str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


EXPECTED_IN_PDF = {
    "application_form": [
        "“微短剧精品创作传播计划”扶持项目申请书",
        "附件1",
        '杭州星河影视文化有限公司A&B<x>"q"',
        "91330106MA2H3K4L5X",
        "（浙）网剧备字〔2026〕第0123号",
        "聚焦人间烟火、反映美好新生活的精品",
        "¥3,000,000.00",
        "人民币叁佰万元整",
        "¥500,000.00",
        "人民币伍拾万元整",
        "2026年8月1日",
        "申报单位（盖章）",
        "法定代表人（签字）",
    ],
    "copyright_pledge": [
        "版权承诺书",
        "附件2",
        "西湖边的灯火",
        "著作权",
        "全部法律责任",
        "退还已拨付的扶持资金",
        "承诺单位（盖章）",
    ],
    "agreement": [
        "三方协议",
        "广电办发〔2026〕123号",
        "JP-2026-1-ZJ-0001",
        "国家广播电视总局（网络视听节目管理司）",
        "人民币伍拾万元整（¥500,000.00）",
        "200,000.00",
        "150,000.00",
        "三方签署完成",
        "中期检查通过",
        "审核验收通过",
        "专款专用",
        "双周",
        "自甲、乙、丙三方签署完成之日起生效",
        "甲方（签章）",
        "乙方（签章）",
        "丙方（签章）",
    ],
    "agreement_zero": ["依据实施方案，不再发放扶持资金", "零元整", "JP-2026-1-ZJ-0002"],
    "progress_table": [
        "附件3",
        "微短剧精品创作传播“五个一批工程”重点项目推进表",
        "2026年6月上半月",
        "2026年6月15日",
        "浙江省广播电视局",
        "钱江潮",
        "500,000.00",
        "800,000.00",
        "合计（2部）",
    ],
}


@pytest.mark.libreoffice
@pytest.mark.parametrize("stem", list(EXPECTED_IN_PDF))
def test_pdf_contains_expected_chinese_text_and_amounts(pdfs, stem):
    text = flat(pdftext(pdfs[stem]))
    missing = [s for s in EXPECTED_IN_PDF[stem] if flat(s) not in text]
    assert not missing


@pytest.mark.libreoffice
@pytest.mark.parametrize("stem", list(EXPECTED_IN_PDF))
def test_pdf_embeds_noto_cjk_fonts_only(pdfs, stem):
    out = subprocess.run(
        ["pdffonts", str(pdfs[stem])], check=True, capture_output=True, text=True
    ).stdout
    rows = out.splitlines()[2:]
    assert rows
    names = [row.split()[0] for row in rows]
    # The Noto CJK .ttc shares one CFF table between SC/TC/JP/KR, so the embedded PostScript
    # name reads "NotoSerifCJKjp-…" even though the SC face (Simplified glyphs) was selected.
    assert all(re.search(r"\+Noto(Sans|Serif)CJK", n) for n in names), names
    assert any("NotoSerifCJK" in n for n in names) and any("NotoSansCJK" in n for n in names)
    for row in rows:
        emb = row.split()[-5]
        assert emb == "yes", row


@pytest.mark.libreoffice
@pytest.mark.parametrize("stem", list(EXPECTED_IN_PDF))
def test_pdf_declares_zh_cn_as_its_language(pdfs, stem):
    # LibreOffice writes the DOCX's default Western language as /Lang; the templates' Latin
    # runs keep en-US through their Normal style.
    root = pypdf.PdfReader(pdfs[stem]).trailer["/Root"]
    assert root["/Lang"] == "zh-CN"


def _page_count(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def _table_rules(path: Path, page: int, dpi: int = 288) -> tuple[list[float], list[float]]:
    """Horizontal and vertical rules (in PDF points from the top/left) found on a rendered page."""
    raw = subprocess.run(
        ["pdftoppm", "-gray", "-r", str(dpi), "-f", str(page), "-l", str(page), str(path)],
        check=True,
        capture_output=True,
    ).stdout
    magic, dims, _maxval, pixels = raw.split(b"\n", 3)
    assert magic == b"P5"
    width, height = map(int, dims.split())
    scale = dpi / 72

    def dark_runs(count: int, is_dark) -> list[float]:
        lines: list[list[int]] = []
        for i in range(count):
            if is_dark(i):
                if lines and i - lines[-1][-1] <= 1:
                    lines[-1].append(i)
                else:
                    lines.append([i])
        return [(g[0] + g[-1] + 1) / 2 / scale for g in lines]

    def row_dark(y: int) -> bool:
        row = pixels[y * width : (y + 1) * width]
        return sum(1 for v in row[::2] if v < 128) > width * 0.25 / 2

    def col_dark(x: int) -> bool:
        col = pixels[x::width]
        return sum(1 for v in col[::2] if v < 128) > height * 0.1 / 2

    return dark_runs(height, row_dark), dark_runs(width, col_dark)


SIGNATURE_LABELS = ("甲方（签章）", "乙方（签章）", "丙方（签章）")  # top to bottom


@pytest.mark.libreoffice
@pytest.mark.parametrize("stem", ["agreement", "agreement_zero"])
def test_cells_beside_the_signature_labels_are_the_table_cells_seen_on_the_page(pdfs, stem):
    """pdf_layout reads the signature table from the PDF's drawing operators; the rules seen on
    the rendered page (288 dpi) must agree within 1 pt: right-hand column, the label's row."""
    path = pdfs[stem]
    page = last_page(path.read_bytes())
    assert page.index + 1 == _page_count(path)
    horizontal, vertical = _table_rules(path, page.index + 1)
    assert len(horizontal) == 4 and len(vertical) == 3, (horizontal, vertical)
    for row, label in enumerate(SIGNATURE_LABELS):
        line = page.find_label(label)
        assert line is not None, label
        cell = page.cell_right_of(line)
        assert cell is not None, label
        x1, top, x2, bottom = cell
        assert line.x2 < x1
        assert (x1, x2) == pytest.approx((vertical[1], vertical[2]), abs=1)
        assert (top, bottom) == pytest.approx((horizontal[row], horizontal[row + 1]), abs=1)
        assert top < line.top < line.bottom < bottom
    assert "签章" not in pdftext(path, "-f", str(page.index), "-l", str(page.index))
