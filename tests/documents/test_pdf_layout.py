"""pdf_layout on a hand-written PDF: a table drawn the way other producers than LibreOffice draw
it (scaled by ``cm``, borders as thin filled rectangles), text from a standard font."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from backend.documents.pdf_layout import last_page

# A two-row table from (100, 400) to (500, 600) pt, the column divider at x = 200, drawn at half
# scale: "2 0 0 2 0 0 cm" doubles every coordinate. Each border is a 0.25-unit (0.5 pt) filled
# rectangle, so its middle is 0.25 pt beyond the round numbers.
CONTENT = b"""
q 2 0 0 2 0 0 cm
50 300 200 0.25 re f
50 250 200 0.25 re f
50 200 200 0.25 re f
50 200 0.25 100 re f
100 200 0.25 100 re f
250 200 0.25 100 re f
Q
BT /F1 10 Tf 110 545 Td (Party A seal) Tj ET
BT /F1 10 Tf 110 445 Td (Party B seal) Tj ET
BT /F1 10 Tf 100 700 Td (Party A seal, said above the table) Tj ET
BT /F1 10 Tf 100 300 Td (Not in a table) Tj ET
"""


@pytest.fixture(scope="module")
def page():
    writer = PdfWriter()
    blank = writer.add_blank_page(595, 842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    blank[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(CONTENT)
    blank[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return last_page(out.getvalue())


def test_finds_the_table_rules_through_the_transformation(page):
    assert sorted(round(r.x, 2) for r in page.vertical) == [100.25, 200.25, 500.25]
    assert sorted(round(page.height - r.y, 2) for r in page.horizontal) == [400.25, 500.25, 600.25]


def test_cell_right_of_a_label_is_the_cell_of_its_row(page):
    a = page.find_label("Party A seal")
    b = page.find_label("Party B seal")
    assert a is not None and b is not None
    assert page.pdf_box(page.cell_right_of(a)) == pytest.approx((200.25, 500.25, 500.25, 600.25))
    assert page.pdf_box(page.cell_right_of(b)) == pytest.approx((200.25, 400.25, 500.25, 500.25))


def test_text_outside_a_table_has_no_cell(page):
    outside = page.find_label("Not in a table")
    assert outside is not None
    assert page.cell_right_of(outside) is None
    assert page.find_label("no such label") is None


def test_a_label_mentioned_twice_is_found_where_it_appears_last(page):
    # pdftotext reads top to bottom: the mention above the table comes first
    texts = [ln.text for ln in page.lines]  # words joined without spaces
    assert texts.index("PartyAseal,saidabovethetable") < texts.index("PartyAseal")
    assert page.find_label("Party A seal").text == "PartyAseal"
