"""Build templates/verification_report.docx (验证报告), reusing the helpers of templates_build.py.

`.venv/bin/python scripts/verification_report_template.py` overwrites hand edits of the .docx.
Context: backend.verification.report.report_context(body)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: E402
from docx.shared import Cm  # noqa: E402
from templates_build import SANS, form_table, new_document, para, save, tag_para, title  # noqa: E402


def build() -> Path:
    doc = new_document(title="电子签名验证报告", subject="jingpin 验证报告", title_size=22)
    title(doc, "电子签名验证报告")
    para(
        doc,
        "报告生成时间：{{ generated_at }}　　验证依据：ETSI EN 319 102-1",
        align=WD_ALIGN_PARAGRAPH.CENTER,
        size=10.5,
    )
    para(doc, "一、文件", face=SANS, size=14, before=12, after=6)
    form_table(
        doc,
        [
            ("文件名", "{{ file_name }}"),
            ("大小", "{{ file_size }}"),
            ("SHA-256", "{{ file_sha256 }}"),
            ("SM3", "{{ file_sm3 }}"),
            ("本系统登记", "{{ registry_message }}"),
        ],
        [Cm(3.2), Cm(12.8)],
    )
    para(doc, "二、总体结论", face=SANS, size=14, before=12, after=6)
    para(doc, "{{ overall }}", bold=True, size=16)
    para(doc, "{{ overall_detail }}", size=10.5)
    para(doc, "三、逐个签名（按签署顺序）", face=SANS, size=14, before=12, after=6)
    para(doc, "{{ no_signatures }}", size=10.5)
    tag_para(doc, "{%p for s in signatures %}")
    para(doc, "{{ s.heading }}", face=SANS, size=12, before=8, after=4)
    tag_para(doc, "{%p for row in s.rows %}")
    para(doc, "{{ row.label }}：{{ row.value }}", size=10.5, line=1.2)
    tag_para(doc, "{%p endfor %}")
    tag_para(doc, "{%p endfor %}")
    para(doc, "四、说明", face=SANS, size=14, before=12, after=6)
    para(
        doc,
        "本报告由 jingpin 系统根据上传文件自动生成，并以“jingpin 系统”电子签章（PAdES B-T，"
        "证书由本系统 CA 签发）签署，可用 jingpin verify 或任何支持 PAdES 的软件核验。"
        "报告只对上述 SHA-256 所指的文件有效。",
        size=10.5,
        indent=True,
    )
    para(doc, "系统签章：", size=10.5, before=12)
    return save(doc, "verification_report.docx")


if __name__ == "__main__":
    print(build())
