"""The committed templates/*.docx are the source: people edit them in Word or LibreOffice. These
checks keep what the former build script (scripts/templates_build.py) guaranteed, so that an edit
which drops one of its properties fails here, naming what changed:

- styles trimmed: only the styles the document uses, no ``stylesWithEffects.xml`` (LibreOffice
  imports every style for every PDF, ~40 ms of each conversion);
- fonts: Noto Serif CJK SC for the body, Noto Sans CJK SC for titles and headings, explicit in
  ``docDefaults`` (``w:eastAsia`` included) and never a theme font;
- languages: ``zh-CN`` in ``docDefaults`` (Simplified glyphs, the PDF's ``/Lang``) and ``en-US``
  for Latin runs on Normal, which every paragraph style is based on;
- pages: A4 (landscape only for the 推进表) with 第 X 页 共 Y 页 in the footer;
- core properties: the fixed title, subject, author… that every rendered document carries.

Each check returns a list of problems; the second half of the file shows each one failing on an
edited copy of a real template.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from backend.documents.render import SYSTEM_TEMPLATE_NAMES, TEMPLATE_NAMES, TEMPLATES_DIR

ALL_TEMPLATES = (*TEMPLATE_NAMES, *SYSTEM_TEMPLATE_NAMES)
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CORE = {
    "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
    "dc": "http://purl.org/dc/elements/1.1/",
}
SERIF = "Noto Serif CJK SC"  # 宋体-like body face
SANS = "Noto Sans CJK SC"  # 黑体-like heading face
FONT_ATTRIBUTES = ("ascii", "hAnsi", "eastAsia", "cs")
A4_TWIPS = (11906, 16838)  # 210 × 297 mm
LANDSCAPE = {"progress_table.docx"}
TITLE_SIZES = {"44", "36"}  # half-points: 22 pt 二号, 18 pt 小二

# dc:title and dc:subject of each template; the other core properties are the same for all.
TITLES = {
    "application_form.docx": ("“微短剧精品创作传播计划”扶持项目申请书", "附件1 扶持项目申请书"),
    "copyright_pledge.docx": ("版权承诺书", "附件2 版权承诺书"),
    "agreement.docx": (
        "“微短剧精品创作传播计划”扶持项目三方协议",
        "三方协议（甲方 总局 / 乙方 制作机构 / 丙方 推荐单位）",
    ),
    "progress_table.docx": (
        "微短剧精品创作传播“五个一批工程”重点项目推进表",
        "附件3 重点项目推进表（双周）",
    ),
    "verification_report.docx": ("电子签名验证报告", "jingpin 验证报告"),
}
# render_docx() overwrites created/modified/lastPrinted/lastModifiedBy/revision (Word updates
# them on every save); these pass through to every rendered DOCX and its PDF's metadata.
FIXED_CORE = {
    "dc:creator": "国家广播电视总局网络视听节目管理司",
    "cp:keywords": "微短剧精品创作传播计划",
    "dc:description": "jingpin 文书模板（docxtpl）",
    "cp:category": "模板",
}


def w(name: str) -> str:
    return f"{{{W}}}{name}"


class Package:
    """The parts of a .docx, parsed on demand."""

    def __init__(self, path: Path) -> None:
        with zipfile.ZipFile(path) as z:
            self.parts = {name: z.read(name) for name in z.namelist()}

    def xml(self, name: str) -> etree._Element:
        return etree.fromstring(self.parts[name])

    def word_parts(self) -> list[str]:
        return [n for n in self.parts if n.startswith("word/") and n.endswith(".xml")]

    def styles(self) -> dict[str, etree._Element]:
        return {el.get(w("styleId")): el for el in self.xml("word/styles.xml").iter(w("style"))}

    def defaults_rpr(self) -> etree._Element:
        rpr = self.xml("word/styles.xml").find(f"{w('docDefaults')}/{w('rPrDefault')}/{w('rPr')}")
        return rpr if rpr is not None else etree.Element(w("rPr"))


def _find(el: etree._Element | None, path: str) -> etree._Element | None:
    return None if el is None else el.find("/".join(w(tag) for tag in path.split("/")))


# --- the checks ---------------------------------------------------------------------------------


def style_problems(path: Path) -> list[str]:
    """Styles nobody refers to, and Word 2010's stylesWithEffects part."""
    pkg = Package(path)
    styles = pkg.styles()
    refs = ("pStyle", "rStyle", "tblStyle", "numStyleLink", "styleLink")
    used = {
        el.get(w("val"))
        for part in pkg.word_parts()
        for tag in refs
        for el in pkg.xml(part).iter(w(tag))
    }
    used |= {sid for sid, el in styles.items() if el.get(w("default")) in ("1", "true")}
    todo = list(used)
    while todo:  # a used style keeps the styles it is based on, continues with and links to
        style = styles.get(todo.pop())
        for tag in ("basedOn", "next", "link"):
            ref = style.find(w(tag)) if style is not None else None
            if ref is not None and ref.get(w("val")) not in used:
                used.add(ref.get(w("val")))
                todo.append(ref.get(w("val")))
    problems = [f"unused style {sid}" for sid in styles if sid not in used]
    if any("stylesWithEffects" in name for name in pkg.parts):
        problems.append("package carries stylesWithEffects.xml")
    rels = pkg.xml("word/_rels/document.xml.rels")
    if any(rel.get("Type", "").endswith("/stylesWithEffects") for rel in rels):
        problems.append("document refers to stylesWithEffects")
    return problems


def font_problems(path: Path) -> list[str]:
    pkg = Package(path)
    problems = []
    defaults = pkg.defaults_rpr().find(w("rFonts"))
    for attr in FONT_ATTRIBUTES:
        face = None if defaults is None else defaults.get(w(attr))
        if face != SERIF:
            problems.append(f"docDefaults w:{attr} is {face!r}, not {SERIF}")
    # Every face named anywhere in the text, styles or footer is one of the two Noto CJK faces
    # (numbering.xml is left out: python-docx's list definitions name Symbol for unused bullets).
    parts = ["word/styles.xml", "word/document.xml"] + [
        n for n in pkg.word_parts() if n.startswith(("word/footer", "word/header"))
    ]
    for part in parts:
        for rfonts in pkg.xml(part).iter(w("rFonts")):
            for key, value in rfonts.attrib.items():
                name = etree.QName(key).localname
                if name.lower().endswith("theme"):
                    problems.append(f"{part}: theme font w:{name}={value} overrides the faces")
                elif name in FONT_ATTRIBUTES and value not in (SERIF, SANS):
                    problems.append(f"{part}: w:{name}={value!r}")
    styles = pkg.styles()
    for sid, style in styles.items():
        expected = SANS if sid == "Title" or sid.startswith("Heading") else SERIF
        rfonts = _find(style, "rPr/rFonts")
        face = None if rfonts is None else rfonts.get(w("eastAsia"))
        if style.get(w("type")) == "paragraph" and face is not None and face != expected:
            problems.append(f"style {sid} uses {face!r}, not {expected}")
    sizes = (
        ("docDefaults", pkg.defaults_rpr().find(w("sz"))),
        ("Normal", _find(styles.get("Normal"), "rPr/sz")),
    )
    for where, size in sizes:
        if size is None or size.get(w("val")) != "24":
            problems.append(f"{where} is not 12 pt (小四)")
    title_size = _find(styles.get("Title"), "rPr/sz")
    if title_size is None or title_size.get(w("val")) not in TITLE_SIZES:
        problems.append("Title is neither 22 pt (二号) nor 18 pt (小二)")
    return problems


def language_problems(path: Path) -> list[str]:
    pkg = Package(path)
    problems = []
    styles = pkg.styles()
    expected = (
        ("docDefaults", pkg.defaults_rpr().find(w("lang")), "zh-CN"),
        ("Normal", _find(styles.get("Normal"), "rPr/lang"), "en-US"),
    )
    for where, lang, western in expected:
        got = (None, None) if lang is None else (lang.get(w("val")), lang.get(w("eastAsia")))
        if got != (western, "zh-CN"):
            problems.append(f"{where} w:lang is {got}, not ({western!r}, 'zh-CN')")
    for sid, style in styles.items():
        if style.get(w("type")) != "paragraph":
            continue
        seen: set[str] = set()
        current: str | None = sid
        while current is not None and current != "Normal" and current not in seen:
            seen.add(current)
            based_on = _find(styles.get(current), "basedOn")
            current = None if based_on is None else based_on.get(w("val"))
        if current != "Normal":  # it would miss Normal's en-US for Latin runs
            problems.append(f"paragraph style {sid} is not based on Normal")
    theme = pkg.xml("word/settings.xml").find(w("themeFontLang"))
    if theme is None or theme.get(w("eastAsia")) != "zh-CN":
        problems.append("settings w:themeFontLang has no w:eastAsia zh-CN")
    return problems


def page_problems(path: Path, *, landscape: bool) -> list[str]:
    pkg = Package(path)
    problems = []
    targets = {
        rel.get("Id"): "word/" + rel.get("Target", "")
        for rel in pkg.xml("word/_rels/document.xml.rels")
        if rel.tag == f"{{{REL}}}Relationship"
    }
    sections = list(pkg.xml("word/document.xml").iter(w("sectPr")))
    if not sections:
        problems.append("no section properties")
    for n, sect in enumerate(sections, start=1):
        size = sect.find(w("pgSz"))
        width, height = (int(size.get(w(k), 0)) for k in ("w", "h")) if size is not None else (0, 0)
        expected = A4_TWIPS[::-1] if landscape else A4_TWIPS
        orient = "landscape" if landscape else "portrait"
        if abs(width - expected[0]) > 2 or abs(height - expected[1]) > 2:
            problems.append(f"section {n}: page {width} × {height} twips is not A4 {orient}")
        if landscape and size is not None and size.get(w("orient")) != "landscape":
            problems.append(f"section {n}: w:orient is not landscape")
        footers = [
            targets.get(ref.get(f"{{{R}}}id"), "")
            for ref in sect.iter(w("footerReference"))
            if ref.get(w("type")) == "default"
        ]
        instructions = " ".join(
            " ".join(
                [el.get(w("instr"), "") for el in pkg.xml(f).iter(w("fldSimple"))]
                + [el.text or "" for el in pkg.xml(f).iter(w("instrText"))]
            )
            for f in footers
            if f in pkg.parts
        ).split()
        if "PAGE" not in instructions or "NUMPAGES" not in instructions:
            problems.append(f"section {n}: footer lacks the PAGE / NUMPAGES fields")
    return problems


def core_property_problems(path: Path, *, title: str, subject: str) -> list[str]:
    core = Package(path).xml("docProps/core.xml")
    expected = {"dc:title": title, "dc:subject": subject, **FIXED_CORE}
    problems = []
    for key, value in expected.items():
        el = core.find(key, CORE)
        got = None if el is None else el.text
        if got != value:
            problems.append(f"{key} is {got!r}, not {value!r}")
    return problems


# --- today's templates pass ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_TEMPLATES)
def test_templates_carry_only_the_styles_they_use(name):
    assert style_problems(TEMPLATES_DIR / name) == []


@pytest.mark.parametrize("name", ALL_TEMPLATES)
def test_templates_use_the_noto_cjk_faces_explicitly(name):
    assert font_problems(TEMPLATES_DIR / name) == []


@pytest.mark.parametrize("name", ALL_TEMPLATES)
def test_templates_declare_zh_cn_with_en_us_latin_runs(name):
    assert language_problems(TEMPLATES_DIR / name) == []


@pytest.mark.parametrize("name", ALL_TEMPLATES)
def test_templates_are_a4_with_page_numbers(name):
    assert page_problems(TEMPLATES_DIR / name, landscape=name in LANDSCAPE) == []


@pytest.mark.parametrize("name", ALL_TEMPLATES)
def test_templates_have_the_fixed_core_properties(name):
    title, subject = TITLES[name]
    assert core_property_problems(TEMPLATES_DIR / name, title=title, subject=subject) == []


def test_every_template_is_checked():
    assert set(TITLES) == set(ALL_TEMPLATES) == {p.name for p in TEMPLATES_DIR.glob("*.docx")}


# --- each check fails on an edited copy ----------------------------------------------------------


def edited_copy(
    tmp_path: Path, name: str, part: str, old: str, new: str, extra: dict[str, bytes] | None = None
) -> Path:
    """A copy of ``templates/<name>`` with ``old`` replaced by ``new`` in one part (and extra
    parts added), as an editor in Word might leave it."""
    out = tmp_path / name
    with zipfile.ZipFile(TEMPLATES_DIR / name) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == part:
                text = data.decode()
                assert old in text, f"{old!r} not in {part}"
                data = text.replace(old, new, 1).encode()
            dst.writestr(item, data)
        for extra_name, extra_data in (extra or {}).items():
            dst.writestr(extra_name, extra_data)
    return out


AGREEMENT_TITLE, AGREEMENT_SUBJECT = TITLES["agreement.docx"]
CHECKS: dict[str, Callable[[Path], list[str]]] = {
    "styles": style_problems,
    "fonts": font_problems,
    "languages": language_problems,
    "page": lambda path: page_problems(path, landscape=False),
    "core": lambda path: core_property_problems(
        path, title=AGREEMENT_TITLE, subject=AGREEMENT_SUBJECT
    ),
}


STYLES = "word/styles.xml"
UNUSED_STYLE = (
    '<w:style w:type="paragraph" w:customStyle="1" w:styleId="Quote2">'
    '<w:name w:val="Quote 2"/><w:basedOn w:val="Normal"/></w:style></w:styles>'
)
SECTION_FOOTER = '<w:footerReference w:type="default" r:id="rId9"/>'
EDITS = [
    ("styles", STYLES, "</w:styles>", UNUSED_STYLE, "unused style Quote2"),
    (
        "styles",
        "word/_rels/document.xml.rels",
        "</Relationships>",
        '<Relationship Id="rId99" Type="http://schemas.microsoft.com/office/2007/relationships/'
        'stylesWithEffects" Target="stylesWithEffects.xml"/></Relationships>',
        "document refers to stylesWithEffects",
    ),
    (
        "fonts",
        STYLES,
        'w:eastAsia="Noto Serif CJK SC"',
        'w:eastAsia="SimSun"',
        "docDefaults w:eastAsia is 'SimSun', not Noto Serif CJK SC",
    ),
    (
        "fonts",
        "word/document.xml",
        'w:ascii="Noto Sans CJK SC"',
        'w:ascii="Noto Sans CJK SC" w:eastAsiaTheme="minorEastAsia"',
        "word/document.xml: theme font w:eastAsiaTheme=minorEastAsia overrides the faces",
    ),
    ("fonts", STYLES, '<w:sz w:val="36"/>', '<w:sz w:val="32"/>', "Title is neither"),
    (
        "languages",
        STYLES,
        '<w:lang w:val="en-US" w:eastAsia="zh-CN"',
        '<w:lang w:val="zh-CN" w:eastAsia="zh-CN"',
        "Normal w:lang is ('zh-CN', 'zh-CN'), not ('en-US', 'zh-CN')",
    ),
    (
        "languages",
        STYLES,
        '<w:lang w:val="zh-CN" w:eastAsia="zh-CN"',
        '<w:lang w:val="en-US" w:eastAsia="en-US"',
        "docDefaults w:lang is ('en-US', 'en-US'), not ('zh-CN', 'zh-CN')",
    ),
    (
        "languages",
        STYLES,
        '<w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:link w:val="TitleChar"/>',
        '<w:next w:val="Normal"/><w:link w:val="TitleChar"/>',
        "paragraph style Title is not based on Normal",
    ),
    (
        "page",
        "word/document.xml",
        '<w:pgSz w:w="11906" w:h="16838"/>',
        '<w:pgSz w:w="12240" w:h="15840"/>',  # US Letter, Word's default in many locales
        "section 1: page 12240 × 15840 twips is not A4 portrait",
    ),
    (
        "page",
        "word/document.xml",
        SECTION_FOOTER,
        "",
        "section 1: footer lacks the PAGE / NUMPAGES fields",
    ),
    (
        "core",
        "docProps/core.xml",
        "<dc:creator>国家广播电视总局网络视听节目管理司</dc:creator>",
        "<dc:creator>张三</dc:creator>",
        "dc:creator is '张三', not '国家广播电视总局网络视听节目管理司'",
    ),
]


@pytest.mark.parametrize(("which", "part", "old", "new", "problem"), EDITS)
def test_each_check_fails_on_an_edited_copy(tmp_path, which, part, old, new, problem):
    path = edited_copy(tmp_path, "agreement.docx", part, old, new)
    problems = CHECKS[which](path)
    assert any(p.startswith(problem) for p in problems), problems


def test_style_check_finds_a_styles_with_effects_part(tmp_path):
    path = edited_copy(
        tmp_path,
        "copyright_pledge.docx",
        STYLES,
        "</w:styles>",
        "</w:styles>",
        extra={"word/stylesWithEffects.xml": b"<w:styles xmlns:w='" + W.encode() + b"'/>"},
    )
    assert style_problems(path) == ["package carries stylesWithEffects.xml"]
