"""Build the Word templates in templates/ (run once; the committed .docx files are the source).

    .venv/bin/python scripts/templates_build.py            # rewrite all templates
    .venv/bin/python scripts/templates_build.py agreement  # only one

The files are ordinary .docx documents with docxtpl/Jinja tags (``{{ work_title }}``,
``{%tr for m in milestones %}``). After this script has run, people may edit them in Word;
keep every tag inside a single run (type it in one go) so docxtpl sees it whole.
Re-running the script overwrites such edits, so either edit the .docx or this script, not both.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from io import BytesIO
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.documents.render import normalise_package  # noqa: E402

TEMPLATES = ROOT / "templates"
SERIF = "Noto Serif CJK SC"  # 宋体-like body face
SANS = "Noto Sans CJK SC"  # 黑体-like heading face
FIXED_TIME = datetime(2026, 5, 23, 0, 0, 0)
AUTHOR = "国家广播电视总局网络视听节目管理司"

# Agreement signature page geometry (see templates/README.md for the measured PDF boxes).
SIG_LABEL_WIDTH = Cm(5.5)
SIG_BOX_WIDTH = Cm(10.5)
SIG_ROW_HEIGHT = Cm(3.5)


# ---------------------------------------------------------------------------------------------
# low-level XML helpers


def _set_fonts(rpr, face: str) -> None:
    """Explicit fonts for Latin and East-Asian text; theme fonts removed so they cannot win."""
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in list(rfonts.attrib):
        del rfonts.attrib[attr]
    for key in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(key), face)


def _child(parent, tag: str):
    el = parent.find(qn(tag))
    if el is None:
        el = OxmlElement(tag)
        parent.append(el)
    return el


def _style_rpr(style):
    return style.element.get_or_add_rPr()


def _reset_style(
    doc: DocumentObject,
    name: str,
    *,
    face: str,
    size: float,
    bold: bool = False,
    align: WD_ALIGN_PARAGRAPH | None = None,
    before: float = 0,
    after: float = 0,
    line: float | None = None,
    keep_next: bool = False,
) -> None:
    style = doc.styles[name]
    el = style.element
    for tag in ("w:pPr", "w:rPr"):
        old = el.find(qn(tag))
        if old is not None:
            el.remove(old)
    font = style.font
    font.size = Pt(size)
    font.bold = bold
    font.italic = False
    _set_fonts(_style_rpr(style), face)
    color = _child(_style_rpr(style), "w:color")
    color.set(qn("w:val"), "000000")
    pf = style.paragraph_format
    pf.space_before = Pt(before)
    pf.space_after = Pt(after)
    if line is not None:
        pf.line_spacing = line
    if align is not None:
        pf.alignment = align
    pf.keep_with_next = keep_next


def _set_language(rpr, *, western: str) -> None:
    lang = _child(rpr, "w:lang")
    lang.set(qn("w:val"), western)
    lang.set(qn("w:eastAsia"), "zh-CN")
    lang.set(qn("w:bidi"), "ar-SA")


def _setup_styles(doc: DocumentObject, *, title_size: float) -> None:
    styles_el = doc.styles.element
    # Remove theme fonts everywhere (they override explicit faces in Word).
    for rfonts in styles_el.iter(qn("w:rFonts")):
        for attr in list(rfonts.attrib):
            if attr.endswith("Theme") or attr.endswith("theme"):
                del rfonts.attrib[attr]
    # docDefaults: body face, 小四 (12pt), language zh-CN (East-Asian: Simplified glyphs; Western:
    # what LibreOffice writes as the PDF's /Lang). Normal sets en-US for Latin runs, below.
    rpr_default = styles_el.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(rpr_default, SERIF)
    for tag, val in (("w:sz", "24"), ("w:szCs", "24")):
        _child(rpr_default, tag).set(qn("w:val"), val)
    _set_language(rpr_default, western="zh-CN")
    ppr_default = styles_el.find(qn("w:docDefaults")).find(qn("w:pPrDefault")).find(qn("w:pPr"))
    spacing = ppr_default.find(qn("w:spacing"))
    spacing.set(qn("w:after"), "0")
    spacing.set(qn("w:line"), "360")  # 1.5 lines
    spacing.set(qn("w:lineRule"), "auto")

    _reset_style(doc, "Normal", face=SERIF, size=12, line=1.5)
    # Latin runs: Western line breaking, so codes and numbers do not split inside words. Every
    # paragraph style is based on Normal.
    _set_language(_style_rpr(doc.styles["Normal"]), western="en-US")
    _reset_style(
        doc,
        "Title",
        face=SANS,
        size=title_size,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        before=12,
        after=18,
        line=1.25,
    )
    _reset_style(doc, "Heading 1", face=SANS, size=14, before=12, after=6, line=1.5, keep_next=True)
    _reset_style(doc, "Heading 2", face=SANS, size=12, before=6, after=0, line=1.5, keep_next=True)
    _reset_style(doc, "Footer", face=SERIF, size=10.5, align=WD_ALIGN_PARAGRAPH.CENTER, line=1.0)
    for char_style in ("Title Char", "Heading 1 Char", "Heading 2 Char"):
        rpr = _style_rpr(doc.styles[char_style])
        _set_fonts(rpr, SANS)
        _child(rpr, "w:color").set(qn("w:val"), "000000")
    doc.styles["Normal"].element.get_or_add_pPr()
    # Word: snap to the document grid off, so 1.5 lines means 1.5 lines.
    table_style = doc.styles["Table Grid"]
    _set_fonts(_style_rpr(table_style), SERIF)


def _setup_page(doc: DocumentObject, *, landscape: bool) -> None:
    section = doc.sections[0]
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Cm(29.7), Cm(21.0)
        section.top_margin = section.bottom_margin = Cm(2.0)
        section.left_margin = section.right_margin = Cm(1.8)
    else:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        section.top_margin = Cm(2.5)
        section.bottom_margin = Cm(2.5)
        section.left_margin = section.right_margin = Cm(2.5)
    section.header_distance = Cm(1.5)
    section.footer_distance = Cm(1.2)
    # Footer: 第 X 页 共 Y 页
    footer = section.footer
    p = footer.paragraphs[0]
    p.style = doc.styles["Footer"]
    p.add_run("第 ")
    _add_field(p, "PAGE", "1")
    p.add_run(" 页  共 ")
    _add_field(p, "NUMPAGES", "1")
    p.add_run(" 页")


def _add_field(p: Paragraph, instr: str, placeholder: str) -> None:
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), f" {instr} \\* MERGEFORMAT ")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = placeholder
    run.append(text)
    fld.append(run)
    p._p.append(fld)


def _core_properties(doc: DocumentObject, *, title: str, subject: str) -> None:
    cp = doc.core_properties
    cp.title = title
    cp.subject = subject
    cp.author = AUTHOR
    cp.last_modified_by = AUTHOR
    cp.keywords = "微短剧精品创作传播计划"
    cp.comments = "jingpin 文书模板（docxtpl）"
    cp.category = "模板"
    cp.revision = 1
    cp.created = FIXED_TIME
    cp.modified = FIXED_TIME
    cp.last_printed = FIXED_TIME


def new_document(*, title: str, subject: str, landscape: bool = False, title_size: float = 22):
    doc = Document()
    _setup_styles(doc, title_size=title_size)
    _setup_page(doc, landscape=landscape)
    _core_properties(doc, title=title, subject=subject)
    theme_lang = doc.settings.element.find(qn("w:themeFontLang"))
    if theme_lang is not None:
        theme_lang.set(qn("w:eastAsia"), "zh-CN")
    # python-docx's default package carries a thumbnail of an empty page: drop it.
    rels = doc.part.package.rels
    for r_id, rel in list(rels.items()):
        if rel.reltype.endswith("/thumbnail"):
            del rels[r_id]
    # python-docx's blank document starts with one empty paragraph: drop it.
    body = doc.element.body
    for p in list(body.iterchildren(qn("w:p"))):
        body.remove(p)
    return doc


def _drop_unused_styles(doc: DocumentObject) -> None:
    """Keep only the styles the document uses (with their basedOn / next / link chains).

    python-docx's default package carries 164 styles (340 KB of styles.xml) plus a 440 KB
    stylesWithEffects.xml for Word 2010; LibreOffice imports every one of them for every PDF
    (~40 ms of each conversion). Word still offers its built-in styles from its own list.
    """
    refs = ("w:pStyle", "w:rStyle", "w:tblStyle", "w:numStyleLink", "w:styleLink")
    parts = [doc.part] + [rel.target_part for rel in doc.part.rels.values() if not rel.is_external]
    used: set[str] = set()
    for part in parts:
        element = getattr(part, "element", None)
        if element is None:
            continue
        for tag in refs:
            used.update(el.get(qn("w:val")) for el in element.iter(qn(tag)))
    styles = {el.get(qn("w:styleId")): el for el in doc.styles.element.iter(qn("w:style"))}
    used.update(sid for sid, el in styles.items() if el.get(qn("w:default")) in ("1", "true"))
    todo = list(used)
    while todo:
        el = styles.get(todo.pop())
        for tag in ("w:basedOn", "w:next", "w:link"):
            ref = el.find(qn(tag)) if el is not None else None
            if ref is not None and ref.get(qn("w:val")) not in used:
                used.add(ref.get(qn("w:val")))
                todo.append(ref.get(qn("w:val")))
    for sid, el in styles.items():
        if sid not in used:
            el.getparent().remove(el)
    for r_id, rel in list(doc.part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            del doc.part.rels[r_id]


def save(doc: DocumentObject, name: str) -> Path:
    _drop_unused_styles(doc)
    buf = BytesIO()
    doc.save(buf)
    path = TEMPLATES / name
    path.write_bytes(normalise_package(buf.getvalue()))
    return path


# ---------------------------------------------------------------------------------------------
# content helpers


def para(
    doc_or_cell,
    text: str = "",
    *,
    bold: bool = False,
    indent: bool = False,
    align: WD_ALIGN_PARAGRAPH | None = None,
    size: float | None = None,
    face: str | None = None,
    style: str | None = None,
    before: float | None = None,
    after: float | None = None,
    line: float | None = None,
) -> Paragraph:
    """One paragraph with one run (so each Jinja tag stays inside a single run)."""
    p = doc_or_cell.add_paragraph(style=style)
    if text:
        run = p.add_run(text)
        run.bold = bold or None
        if size:
            run.font.size = Pt(size)
        if face:
            _set_fonts(run._r.get_or_add_rPr(), face)
    pf = p.paragraph_format
    if indent:
        pf.first_line_indent = Pt(24)
    if align is not None:
        pf.alignment = align
    if before is not None:
        pf.space_before = Pt(before)
    if after is not None:
        pf.space_after = Pt(after)
    if line is not None:
        pf.line_spacing = line
    return p


def heading(doc: DocumentObject, text: str, level: int = 1) -> Paragraph:
    return doc.add_paragraph(text, style=f"Heading {level}")


def title(doc: DocumentObject, text: str) -> Paragraph:
    return doc.add_paragraph(text, style="Title")


def attachment_mark(doc: DocumentObject, text: str) -> None:
    para(doc, text, face=SANS, size=16, line=1.0)


def tag_para(doc_or_cell, tag: str) -> Paragraph:
    """A paragraph holding only a docxtpl ``{%p ... %}`` tag (removed on rendering)."""
    p = doc_or_cell.add_paragraph()
    p.add_run(tag)
    return p


def _cell_text(
    cell: _Cell,
    text: str,
    *,
    bold: bool = False,
    align: WD_ALIGN_PARAGRAPH | None = None,
    size: float | None = None,
    face: str | None = None,
) -> None:
    p = cell.paragraphs[0]
    for line_no, line in enumerate(text.split("\n")):
        if line_no:
            p = cell.add_paragraph()
        run = p.add_run(line)
        run.bold = bold or None
        if size:
            run.font.size = Pt(size)
        if face:
            _set_fonts(run._r.get_or_add_rPr(), face)
        p.paragraph_format.line_spacing = 1.25
        if align is not None:
            p.alignment = align
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def _fix_table(table: Table, widths: list[Cm]) -> None:
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl_pr.append(layout)
    grid = table._tbl.tblGrid
    for col, width in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
        col.set(qn("w:w"), str(int(width.twips)))
    for row in table.rows:
        for idx, cell in enumerate(row.cells):
            cell.width = widths[idx]


def form_table(doc: DocumentObject, rows: list[tuple], widths: list[Cm]) -> Table:
    """A key/value form table. Each row is (label, value) spanning all value columns, or
    (label, value, label, value) for two pairs; labels are bold and centred."""
    ncols = len(widths)
    table = doc.add_table(rows=len(rows), cols=ncols)
    _fix_table(table, widths)
    for r, spec in enumerate(rows):
        cells = table.rows[r].cells
        if len(spec) == 2:
            label, value = spec
            _cell_text(cells[0], label, bold=True, size=10.5, align=WD_ALIGN_PARAGRAPH.CENTER)
            merged = cells[1].merge(cells[ncols - 1])
            _cell_text(merged, value, size=10.5)
        else:
            for c, text in enumerate(spec):
                is_label = c % 2 == 0
                _cell_text(
                    cells[c],
                    text,
                    bold=is_label,
                    size=10.5,
                    align=WD_ALIGN_PARAGRAPH.CENTER if is_label else None,
                )
        table.rows[r].height = Cm(1.0)
        table.rows[r].height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    return table


def _set_row_height(table: Table, row: int, height: Cm, rule=WD_ROW_HEIGHT_RULE.AT_LEAST) -> None:
    table.rows[row].height = height
    table.rows[row].height_rule = rule


def _repeat_header(table: Table, row: int = 0) -> None:
    tr_pr = table.rows[row]._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def _no_split(table: Table) -> None:
    for row in table.rows:
        tr_pr = row._tr.get_or_add_trPr()
        el = OxmlElement("w:cantSplit")
        el.set(qn("w:val"), "true")
        tr_pr.append(el)


def _page_break_before(p: Paragraph) -> None:
    p.paragraph_format.page_break_before = True


# ---------------------------------------------------------------------------------------------
# 附件1 申请书


def build_application_form() -> Path:
    doc = new_document(
        title="“微短剧精品创作传播计划”扶持项目申请书",
        subject="附件1 扶持项目申请书",
        title_size=18,
    )
    attachment_mark(doc, "附件1")
    title(doc, "“微短剧精品创作传播计划”扶持项目申请书")
    para(
        doc,
        "申报批次：{{ batch_label }}　　推荐单位：{{ unit_name }}",
        align=WD_ALIGN_PARAGRAPH.CENTER,
        after=6,
    )

    w4 = [Cm(3.5), Cm(4.6), Cm(3.3), Cm(4.6)]
    heading(doc, "一、申报单位基本情况")
    form_table(
        doc,
        [
            ("单位名称", "{{ org_name }}"),
            ("统一社会信用代码", "{{ org_uscc }}", "法定代表人", "{{ org_legal_rep }}"),
            ("单位地址", "{{ org_address }}"),
            ("联系人", "{{ contact_name }}", "联系电话", "{{ contact_phone }}"),
            ("电子邮箱", "{{ contact_email }}"),
        ],
        w4,
    )

    heading(doc, "二、作品基本情况")
    table = form_table(
        doc,
        [
            ("作品名称", "{{ work_title }}"),
            ("创作方向", "“五个一批”：{{ direction_label }}"),
            ("题材类型", "{{ genre }}", "规划立项备案号", "{{ filing_number }}"),
            ("集数", "{{ episodes }}集", "单集时长", "{{ minutes_per_episode }}分钟"),
            ("是否原创", "{{ originality_label }}", "上线播出情况", "{{ online_status_label }}"),
            ("计划开机时间", "{{ planned_start }}", "计划完成时间", "{{ planned_completion }}"),
            ("导演", "{{ director }}", "编剧", "{{ screenwriter }}"),
            ("制片人", "{{ producer_name }}", "合作播出平台", "{{ partner_platform }}"),
            ("内容简介", "{{ synopsis }}"),
            ("创作计划及进度安排", "{{ schedule }}"),
        ],
        w4,
    )
    _set_row_height(table, 8, Cm(5.0))
    _set_row_height(table, 9, Cm(2.5))

    heading(doc, "三、经费预算及申请扶持资金")
    form_table(
        doc,
        [
            ("项目总预算", "小写：{{ budget_figures }}\n大写：人民币{{ budget_capitals }}"),
            ("申请扶持资金", "小写：{{ requested_figures }}\n大写：人民币{{ requested_capitals }}"),
            ("是否已获得其他中央财政资金扶持", "{{ central_support_label }}"),
            ("扶持情况说明", "{{ central_support_details }}"),
        ],
        w4,
    )

    heading(doc, "四、推荐单位意见")
    table = form_table(
        doc,
        [
            ("推荐单位", "{{ unit_name }}"),
            ("初评意见", "\n\n\n（盖章）\n年　　月　　日"),
        ],
        w4,
    )
    for p in table.rows[1].cells[1].paragraphs[3:]:
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _set_row_height(table, 1, Cm(4.0))

    heading(doc, "五、申报单位承诺")
    for text in (
        "本单位自愿申报“微短剧精品创作传播计划”扶持项目，并郑重承诺：",
        "（一）本申请书所填写的内容及提交的全部申报材料真实、准确、完整，不存在虚假记载、误导性陈述或重大遗漏；",
        "（二）申报作品为处于创作阶段的原创微短剧，已通过微短剧规划立项备案，截至申报时未上线播出；",
        "（三）如实报告申报作品获得中央财政资金扶持的情况；已在其他项目评审中获得中央财政资金扶持的，知悉依据实施方案将不再发放扶持资金；",
        "（四）作品入选后，严格按照三方协议组织创作生产，扶持资金专款专用，主动接受国家广播电视总局及推荐单位的全过程跟踪指导和监督检查；",
        "（五）如违反上述承诺，本单位愿意承担由此产生的全部法律责任，并接受撤销扶持资格、退还已拨付扶持资金等处理。",
    ):
        para(doc, text, indent=True)

    para(doc, "申报单位（盖章）：{{ org_name }}", before=24)
    para(doc, "法定代表人（签字）：")
    para(doc, "日期：　　　　年　　月　　日")
    return save(doc, "application_form.docx")


# ---------------------------------------------------------------------------------------------
# 附件2 版权承诺书


def build_copyright_pledge() -> Path:
    doc = new_document(title="版权承诺书", subject="附件2 版权承诺书")
    attachment_mark(doc, "附件2")
    title(doc, "版权承诺书")
    para(doc, "国家广播电视总局网络视听节目管理司：", before=6)
    para(
        doc,
        "本单位{{ org_name }}（统一社会信用代码：{{ org_uscc }}）系微短剧《{{ work_title }}》"
        "（规划立项备案号：{{ filing_number }}，共{{ episodes }}集）的制作机构。"
        "本单位经{{ unit_name }}推荐，申报{{ batch_label }}“微短剧精品创作传播计划”扶持项目，"
        "现就该作品的版权事宜郑重承诺如下：",
        indent=True,
    )
    for text in (
        "一、该作品系本单位组织创作的原创作品，不存在抄袭、剽窃、篡改他人作品或者未经许可改编他人作品的情形。",
        "二、本单位依法享有该作品完整的著作权及相关权利，包括但不限于剧本、音乐、美术、图像、字体、肖像及表演等全部组成部分；"
        "凡使用他人享有权利的内容，均已取得权利人合法、有效且足以覆盖创作、制作、播出、宣传推广及信息网络传播的书面授权。",
        "三、该作品的创作、制作、播出及宣传推广不侵犯任何第三方的著作权、商标权、肖像权、名誉权、隐私权等合法权益。",
        "四、因该作品引发的任何版权纠纷或其他权属争议，均由本单位承担全部法律责任；给国家广播电视总局、推荐单位或者播出平台造成损失的，由本单位依法予以赔偿。",
        "五、如违反上述承诺，本单位同意国家广播电视总局撤销该作品的扶持资格，并在收到通知之日起三十日内全额退还已拨付的扶持资金。",
        "六、本单位授权国家广播电视总局、推荐单位为宣传推广“微短剧精品创作传播计划”之目的，无偿使用该作品的名称、海报、剧照及片段。",
    ):
        para(doc, text, indent=True)
    para(doc, "特此承诺。", indent=True)
    para(doc, "承诺单位（盖章）：{{ org_name }}", before=36)
    para(doc, "法定代表人（签字）：")
    para(doc, "日期：　　　　年　　月　　日")
    return save(doc, "copyright_pledge.docx")


# ---------------------------------------------------------------------------------------------
# 三方协议


def build_agreement() -> Path:
    doc = new_document(
        title="“微短剧精品创作传播计划”扶持项目三方协议",
        subject="三方协议（甲方 总局 / 乙方 制作机构 / 丙方 推荐单位）",
        title_size=18,
    )
    para(doc, "协议编号：{{ agreement_number }}", align=WD_ALIGN_PARAGRAPH.RIGHT, line=1.2)
    para(doc, "文本版本：第{{ version }}版", align=WD_ALIGN_PARAGRAPH.RIGHT, line=1.2)
    title(doc, "“微短剧精品创作传播计划”扶持项目\n三方协议")

    party_rows = [
        ("甲方：", "国家广播电视总局（网络视听节目管理司）"),
        ("地址：", "北京市西城区复兴门外大街2号"),
        ("乙方：", "{{ producer_org_name }}"),
        ("统一社会信用代码：", "{{ producer_uscc }}"),
        ("地址：", "{{ producer_address }}"),
        ("法定代表人：", "{{ producer_legal_rep }}"),
        ("联系人及电话：", "{{ producer_contact }}"),
        ("丙方：", "{{ unit_name }}"),
        ("地址：", "{{ unit_address }}"),
        ("联系人及电话：", "{{ unit_contact }}"),
    ]
    for label, value in party_rows:
        p = para(doc, "", line=1.4)
        r = p.add_run(label)
        if label in ("甲方：", "乙方：", "丙方："):
            r.bold = True
            _set_fonts(r._r.get_or_add_rPr(), SANS)
            p.paragraph_format.space_before = Pt(6)
        p.add_run(value)

    para(
        doc,
        "根据《国家广播电视总局办公厅关于印发〈“微短剧精品创作传播计划”实施方案〉的通知》"
        "（广电办发〔2026〕123号，以下简称《实施方案》），乙方制作的微短剧《{{ work_title }}》"
        "经丙方初评推荐，由甲方组织专家评审委员会复评、终评并经公示，入选{{ batch_label }}"
        "“微短剧精品创作传播计划”扶持项目。为全流程推进作品创作传播，明确三方权利义务，"
        "经甲、乙、丙三方协商一致，订立本协议。",
        indent=True,
        before=12,
    )

    heading(doc, "第一条　扶持作品")
    para(
        doc,
        "作品名称：《{{ work_title }}》；创作方向：“五个一批”{{ direction_label }}；"
        "题材类型：{{ genre }}；规模：{{ episodes }}集，单集时长约{{ minutes_per_episode }}分钟；"
        "规划立项备案号：{{ filing_number }}；计划完成时间：{{ planned_completion }}。",
        indent=True,
    )
    para(
        doc,
        "作品的主要内容、创作计划及经费预算以乙方提交并经丙方推荐的《扶持项目申请书》为准，"
        "《扶持项目申请书》及乙方出具的《版权承诺书》为本协议的组成部分。",
        indent=True,
    )

    heading(doc, "第二条　扶持资金")
    tag_para(doc, "{%p if has_grant %}")
    para(
        doc,
        "甲方依据《实施方案》，向乙方提供扶持资金人民币{{ grant_capitals }}（{{ grant_figures }}），"
        "按照下列付款节点分期拨付至乙方指定账户：",
        indent=True,
    )
    widths = [Cm(1.4), Cm(3.2), Cm(3.2), Cm(4.0), Cm(4.2)]
    table = doc.add_table(rows=5, cols=5)
    _fix_table(table, widths)
    for c, text in enumerate(["序号", "付款节点", "金额（元）", "拨付条件", "计划时间"]):
        _cell_text(table.rows[0].cells[c], text, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _repeat_header(table)
    loop_open = table.rows[1].cells[0].merge(table.rows[1].cells[4])
    _cell_text(loop_open, "{%tr for m in milestones %}")
    for c, text in enumerate(
        [
            "{{ m.index }}",
            "{{ m.name }}",
            "{{ m.amount_figures }}",
            "{{ m.condition }}",
            "{{ m.planned_date }}",
        ]
    ):
        align = WD_ALIGN_PARAGRAPH.RIGHT if c == 2 else WD_ALIGN_PARAGRAPH.CENTER
        _cell_text(table.rows[2].cells[c], text, align=align)
    loop_close = table.rows[3].cells[0].merge(table.rows[3].cells[4])
    _cell_text(loop_close, "{%tr endfor %}")
    total_label = table.rows[4].cells[0].merge(table.rows[4].cells[1])
    _cell_text(total_label, "合计", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _cell_text(
        table.rows[4].cells[2], "{{ grant_figures }}", bold=True, align=WD_ALIGN_PARAGRAPH.RIGHT
    )
    total_caps = table.rows[4].cells[3].merge(table.rows[4].cells[4])
    _cell_text(total_caps, "人民币{{ grant_capitals }}", align=WD_ALIGN_PARAGRAPH.CENTER)
    for r in (2, 4):
        _set_row_height(table, r, Cm(0.9))
    _no_split(table)
    para(
        doc,
        "末期扶持资金在作品通过甲方组织的审核验收后拨付。拨付前，甲方有权根据跟踪指导及监督检查情况"
        "核实付款条件是否成就；付款条件未成就的，相应款项暂缓拨付。",
        indent=True,
        before=6,
    )
    tag_para(doc, "{%p else %}")
    para(
        doc,
        "《实施方案》规定，入选作品如已在其他项目评审中获得中央财政资金扶持，将不再发放扶持资金。"
        "经核实，该作品已获得中央财政资金扶持（{{ central_support_details }}），"
        "依据实施方案，不再发放扶持资金。本协议项下扶持资金为人民币{{ grant_capitals }}"
        "（{{ grant_figures }}）。",
        indent=True,
    )
    para(
        doc,
        "除扶持资金外，本协议关于跟踪指导、进度报告、审核验收、版权及宣推播出支持等约定继续适用。",
        indent=True,
    )
    tag_para(doc, "{%p endif %}")

    heading(doc, "第三条　资金使用")
    tag_para(doc, "{%p if has_grant %}")
    for text in (
        "乙方应当对扶持资金实行专款专用、单独核算，全部用于该作品的剧本创作、拍摄制作、后期制作及宣传推广等直接相关支出，"
        "不得挪作他用，不得用于支付罚款、捐赠、赞助及与该作品无关的其他支出。",
        "乙方应当建立扶持资金使用台账，按照甲方、丙方的要求如实报送资金使用情况，并接受财政、审计等部门及甲方、丙方的监督检查。",
    ):
        para(doc, text, indent=True)
    tag_para(doc, "{%p else %}")
    para(
        doc,
        "本协议项下不发放扶持资金。乙方应当按照申报的经费预算落实创作生产资金，保障作品按计划完成。",
        indent=True,
    )
    tag_para(doc, "{%p endif %}")

    heading(doc, "第四条　甲方的权利和义务")
    for text in (
        "（一）对乙方的创作生产给予专项指导，建立重点项目跟踪指导机制，全流程跟踪推进作品创作；",
        "（二）组织专家从选题策划、剧本创作到拍摄制作、成片审核开展全过程跟踪指导；",
        "（三）按照本协议第二条的约定拨付扶持资金（依据《实施方案》不发放扶持资金的除外）；",
        "（四）组织对制作完成的作品进行审核验收；",
        "（五）对制作完成并通过审核验收的作品，给予宣推和播出支持，协调全网视听平台给予置顶推介、流量倾斜、专区展播等资源保障。",
    ):
        para(doc, text, indent=True)

    heading(doc, "第五条　乙方的权利和义务")
    for text in (
        "（一）按照《扶持项目申请书》确定的创作计划组织创作生产，坚持正确的政治方向、舆论导向、价值取向，确保作品质量，按期完成制作；",
        "（二）如实向丙方报告创作进度、播出及资金使用情况，配合丙方按双周填报推进表；创作计划、主创人员、集数时长等发生重大变化的，应当事先书面报告；",
        "（三）接受甲方、丙方的全过程跟踪指导和监督检查，及时落实专家指导意见；",
        "（四）作品制作完成后，及时通过丙方向甲方申请审核验收；",
        "（五）按照本协议约定使用扶持资金，并对申报材料及报送信息的真实性负责。",
    ):
        para(doc, text, indent=True)

    heading(doc, "第六条　丙方的权利和义务")
    for text in (
        "（一）履行属地管理职责，对乙方的创作生产进行日常指导和监管，协调解决作品推进过程中的问题；",
        "（二）按双周（月中、月末）填写《微短剧精品创作传播“五个一批工程”重点项目推进表》，"
        "如实报送作品的创作、播出及扶持资金情况；",
        "（三）严格内容审核把关，常态化开展内容排查，及时发现和纠正创作偏差，督导乙方严把内容导向关；",
        "（四）对乙方的审核验收申请进行初审，并将初审意见报送甲方。",
    ):
        para(doc, text, indent=True)

    heading(doc, "第七条　审核验收")
    para(
        doc,
        "作品制作完成后，乙方向丙方提出审核验收申请，丙方初审后报送甲方，甲方组织专家进行审核验收。"
        "审核验收未通过的，乙方应当在甲方规定的期限内修改完善后重新申请；经修改后仍未通过的，按照本协议第九条处理。",
        indent=True,
    )

    heading(doc, "第八条　版权")
    para(
        doc,
        "乙方保证作品为原创作品，依法享有作品完整的著作权及相关权利，不侵犯任何第三方的合法权益，"
        "并履行《版权承诺书》的各项承诺。因作品引发的版权纠纷，由乙方承担全部法律责任。"
        "甲方、丙方为宣传推广“微短剧精品创作传播计划”之目的，可以无偿使用作品的名称、海报、剧照及片段。",
        indent=True,
    )

    heading(doc, "第九条　协议终止与资金退还")
    para(
        doc,
        "乙方有下列情形之一的，甲方有权终止本协议、撤销该作品的扶持资格，乙方应当自收到书面通知之日起三十日内退还已拨付的全部扶持资金：",
        indent=True,
    )
    for text in (
        "（一）提供虚假申报材料或者隐瞒已获得中央财政资金扶持情况的；",
        "（二）作品存在抄袭、剽窃或者侵犯他人合法权益情形的；",
        "（三）截留、挪用扶持资金或者未按照本协议约定使用扶持资金的；",
        "（四）无正当理由未按照创作计划推进，经督促仍不改正的；",
        "（五）作品内容存在导向问题，或者审核验收经修改后仍未通过的。",
    ):
        para(doc, text, indent=True)

    heading(doc, "第十条　争议解决")
    para(
        doc,
        "因本协议引起的或者与本协议有关的争议，三方应当友好协商解决；协商不成的，任何一方可以向甲方所在地有管辖权的人民法院提起诉讼。",
        indent=True,
    )

    heading(doc, "第十一条　生效及其他")
    for text in (
        "（一）本协议以电子文本形式订立，由三方使用可靠的电子签名签署，依照《中华人民共和国电子签名法》与手写签名或者盖章具有同等法律效力。"
        "本协议自甲、乙、丙三方签署完成之日起生效。",
        "（二）本协议未尽事宜，由三方协商一致后另行签订补充协议，补充协议与本协议具有同等法律效力。",
        "（三）本协议文本编号为{{ agreement_number }}，第{{ version }}版，于{{ issue_date }}生成。",
    ):
        para(doc, text, indent=True)
    para(doc, "（以下无正文）", align=WD_ALIGN_PARAGRAPH.CENTER, before=6)

    # Signature page: always the last page, fixed layout.
    p = para(
        doc,
        "（本页无正文，为《“微短剧精品创作传播计划”扶持项目三方协议》签署页）",
        align=WD_ALIGN_PARAGRAPH.CENTER,
        after=18,
        line=1.2,
    )
    _page_break_before(p)
    sig = doc.add_table(rows=3, cols=2)
    _fix_table(sig, [SIG_LABEL_WIDTH, SIG_BOX_WIDTH])
    labels = [
        ("甲方（签章）", "国家广播电视总局\n（网络视听节目管理司）"),
        ("乙方（签章）", "{{ producer_org_name }}"),
        ("丙方（签章）", "{{ unit_name }}"),
    ]
    for r, (label, org) in enumerate(labels):
        cell = sig.rows[r].cells[0]
        _cell_text(cell, label, bold=True, face=SANS, align=WD_ALIGN_PARAGRAPH.CENTER)
        for line in org.split("\n"):
            q = cell.add_paragraph()
            q.alignment = WD_ALIGN_PARAGRAPH.CENTER
            q.paragraph_format.line_spacing = 1.25
            run = q.add_run(line)
            run.font.size = Pt(10.5)
        _set_row_height(sig, r, SIG_ROW_HEIGHT, WD_ROW_HEIGHT_RULE.EXACTLY)
    _no_split(sig)
    para(
        doc,
        "协议编号：{{ agreement_number }}（第{{ version }}版）。签章栏由三方依次（乙方、丙方、甲方）"
        "以电子签名签署，签署时间以电子签名所含可信时间戳为准。",
        size=10.5,
        before=12,
        line=1.3,
    )
    return save(doc, "agreement.docx")


# ---------------------------------------------------------------------------------------------
# 附件3 推进表


def build_progress_table() -> Path:
    doc = new_document(
        title="微短剧精品创作传播“五个一批工程”重点项目推进表",
        subject="附件3 重点项目推进表（双周）",
        landscape=True,
        title_size=18,
    )
    attachment_mark(doc, "附件3")
    title(doc, "微短剧精品创作传播“五个一批工程”重点项目推进表")
    para(
        doc,
        "填报单位（盖章）：{{ unit_name }}　　填报期间：{{ period_label }}"
        "（{{ period_start }}至{{ period_end }}）　　填报日期：{{ filing_date }}",
        size=11,
        after=6,
        line=1.2,
    )
    headers = [
        "序号",
        "作品名称",
        "制作机构",
        "入选批次",
        "创作方向",
        "当前阶段",
        "本期进展情况",
        "扶持资金（元）",
        "已拨付（元）",
        "播出平台及上线时间",
        "备注",
    ]
    widths = [
        Cm(1.1),
        Cm(2.9),
        Cm(3.0),
        Cm(2.0),
        Cm(2.3),
        Cm(2.0),
        Cm(4.6),
        Cm(2.5),
        Cm(2.5),
        Cm(2.7),
        Cm(2.4),
    ]
    cells = [
        "{{ r.index }}",
        "{{ r.title }}",
        "{{ r.producer }}",
        "{{ r.batch }}",
        "{{ r.direction }}",
        "{{ r.stage }}",
        "{{ r.progress }}",
        "{{ r.grant_figures }}",
        "{{ r.paid_figures }}",
        "{{ r.broadcast }}",
        "{{ r.remarks }}",
    ]
    n = len(headers)
    table = doc.add_table(rows=5, cols=n)
    _fix_table(table, widths)
    for c, text in enumerate(headers):
        _cell_text(
            table.rows[0].cells[c],
            text,
            bold=True,
            size=10,
            face=SANS,
            align=WD_ALIGN_PARAGRAPH.CENTER,
        )
    _repeat_header(table)
    _cell_text(table.rows[1].cells[0].merge(table.rows[1].cells[n - 1]), "{%tr for r in rows %}")
    for c, text in enumerate(cells):
        align = (
            WD_ALIGN_PARAGRAPH.RIGHT
            if c in (7, 8)
            else (WD_ALIGN_PARAGRAPH.CENTER if c in (0, 3, 5) else None)
        )
        _cell_text(table.rows[2].cells[c], text, size=10, align=align)
    _cell_text(table.rows[3].cells[0].merge(table.rows[3].cells[n - 1]), "{%tr endfor %}")
    total = table.rows[4].cells[0].merge(table.rows[4].cells[6])
    _cell_text(
        total, "合计（{{ row_count }}部）", bold=True, size=10, align=WD_ALIGN_PARAGRAPH.CENTER
    )
    _cell_text(
        table.rows[4].cells[7],
        "{{ total_grant_figures }}",
        bold=True,
        size=10,
        align=WD_ALIGN_PARAGRAPH.RIGHT,
    )
    _cell_text(
        table.rows[4].cells[8],
        "{{ total_paid_figures }}",
        bold=True,
        size=10,
        align=WD_ALIGN_PARAGRAPH.RIGHT,
    )
    _cell_text(table.rows[4].cells[9].merge(table.rows[4].cells[10]), "", size=10)
    for r in (0, 2, 4):
        _set_row_height(table, r, Cm(0.9))
    tag_para(doc, "{%p if not rows %}")
    para(doc, "本期无纳入计划的扶持项目。", size=10.5, before=6, line=1.2)
    tag_para(doc, "{%p endif %}")
    para(
        doc,
        "注：1.本表自6月起按双周（月中、月末）填写，报送国家广播电视总局网络视听节目管理司；"
        "2.当前阶段填写剧本创作、拍摄制作、后期制作、审核验收、已上线播出等；"
        "3.金额单位为元，保留两位小数。",
        size=10,
        before=6,
        line=1.2,
    )
    para(
        doc,
        "填报人：　　　　　　　　联系电话：　　　　　　　　审核人：",
        size=11,
        before=12,
        line=1.2,
    )
    return save(doc, "progress_table.docx")


BUILDERS: dict[str, Callable[[], Path]] = {
    "application_form": build_application_form,
    "copyright_pledge": build_copyright_pledge,
    "agreement": build_agreement,
    "progress_table": build_progress_table,
}


def main(argv: list[str]) -> int:
    TEMPLATES.mkdir(exist_ok=True)
    names = argv or list(BUILDERS)
    for name in names:
        path = BUILDERS[name]()
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
