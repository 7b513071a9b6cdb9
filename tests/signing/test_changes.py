"""Change reports in Chinese, from the revisions: what an incremental update did after each
signature, and nothing for an honest countersigned agreement."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signing.verify import TOTAL_FAILED, TOTAL_PASSED, VerificationReport
from tests.verification.corpus import _incremental

Verify = Callable[[bytes], VerificationReport]


def _kinds(report: VerificationReport) -> list[set[str]]:
    return [{c["kind"] for c in s.changes} for s in report.signatures]


def _no_internals(report: VerificationReport) -> None:
    for sig in report.signatures:
        text = sig.modified_after or ""
        assert "Reference(" not in text and "xref" not in text and "revision" not in text


def test_an_honest_countersigned_agreement_reports_no_change(
    three_signed: bytes, verify: Verify
) -> None:
    report = verify(three_signed)
    assert report.indication == TOTAL_PASSED
    assert all(s.changes == [] for s in report.signatures)


def test_content_replaced_after_signing_names_the_page(three_signed: bytes, verify: Verify) -> None:
    report = verify(_incremental(three_signed, "content"))
    assert report.indication == TOTAL_FAILED
    for sig in report.signatures:
        assert {"kind": "content_replaced", "page": 1}.items() <= sig.changes[0].items()
        assert sig.modified_after == "第 1 页的内容被替换"
    _no_internals(report)


def test_an_annotation_added_after_signing_names_its_type_page_and_position(
    three_signed: bytes, verify: Verify
) -> None:
    report = verify(_incremental(three_signed, "annotation"))
    assert report.indication == TOTAL_FAILED
    last = report.signatures[-1]
    [change] = last.changes
    assert change["kind"] == "annotation_added" and change["page"] == 1
    assert (change["x"], change["y"]) == (60.0, 740.0)
    assert last.modified_after == "第 1 页增加了“方框”注释，位置 (60, 740)"
    _no_internals(report)


def test_fonts_changed_after_signing_are_reported(three_signed: bytes, verify: Verify) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(three_signed))
    page = writer.root["/Pages"]["/Kids"][0]
    font = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Font"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/Type1"),
            generic.pdf_name("/BaseFont"): generic.pdf_name("/Courier"),
        }
    )
    resources = page["/Resources"]
    resources["/Font"] = generic.DictionaryObject(
        {generic.pdf_name("/F1"): writer.add_object(font)}
    )
    page["/Resources"] = resources
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    report = verify(out.getvalue())
    assert report.indication == TOTAL_FAILED
    assert all("resources_changed" in kinds for kinds in _kinds(report))
    assert "第 1 页的字体或资源被修改" in (report.signatures[-1].modified_after or "")
