"""The agreement's three signature fields, as created through the API (real template, the shared
LibreOffice pool): each beside its label on the last page, in the label's row, inside the page."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from sqlmodel import Session

from backend.agreements.models import Party
from backend.agreements.service import INSET, signature_fields
from backend.documents.pdf_layout import LayoutNotFound
from tests.agreements.conftest import fresh_work

CM = 72 / 2.54
CELL = (10.5 * CM, 3.5 * CM)  # the signature table's right-hand cells in agreement.docx


def label_boxes(path: Path, page: int) -> dict[str, tuple[float, float, float, float]]:
    """pdftotext's word boxes of the signature labels, turned into PDF user space."""
    height = float(PdfReader(path).pages[page - 1].mediabox.height)
    bbox = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    boxes = {}
    for party in Party:
        m = re.search(
            r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
            + party.signature_label
            + "<",
            bbox,
        )
        assert m, party.signature_label
        x1, top, x2, bottom = (float(v) for v in m.groups())
        boxes[party.field_name] = (x1, height - bottom, x2, height - top)
    return boxes


@pytest.mark.libreoffice
def test_signature_fields_sit_beside_their_labels_on_the_last_page(
    pool: Any, client: Any, token_for: Any, session: Session, tmp_path: Path
) -> None:
    r = client.post(
        "/api/v1/agreements", json={"work_id": fresh_work(session)}, headers=token_for("ministry")
    )
    assert r.status_code == 201, r.text
    pdf = client.get(
        f"/api/v1/agreements/{r.json()['id']}/document.pdf", headers=token_for("ministry")
    )
    assert pdf.status_code == 200
    path = tmp_path / "prepared.pdf"
    path.write_bytes(pdf.content)

    reader = PdfReader(io.BytesIO(pdf.content))
    last = reader.pages[-1]
    width, height = float(last.mediabox.width), float(last.mediabox.height)
    fields = {
        str(a.get_object()["/T"]): tuple(float(v) for v in a.get_object()["/Rect"])
        for a in last.get("/Annots", [])
        if a.get_object().get("/FT") == "/Sig"
    }
    assert set(fields) == {p.field_name for p in Party}
    for page in reader.pages[:-1]:
        assert not page.get("/Annots")

    labels = label_boxes(path, len(reader.pages))
    for name, (x1, y1, x2, y2) in fields.items():
        lx1, ly1, lx2, ly2 = labels[name]
        assert lx2 < x1, f"{name} is not right of its label"
        assert y1 < (ly1 + ly2) / 2 < y2, f"{name} is not in its label's row"
        assert 0 < x1 < x2 < width and 0 < y1 < y2 < height, f"{name} leaves the page"
        assert (x2 - x1, y2 - y1) == pytest.approx(
            (CELL[0] - 2 * INSET, CELL[1] - 2 * INSET), abs=2
        ), f"{name} is not the size of its cell"
    # top to bottom 甲, 乙, 丙, rows touching but not overlapping
    jia, yi, bing = fields["party_jia"], fields["party_yi"], fields["party_bing"]
    assert jia[1] > yi[3] and yi[1] > bing[3]
    assert jia[1] - yi[3] == pytest.approx(2 * INSET, abs=0.5)


def test_a_pdf_without_the_signature_table_is_refused() -> None:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(LayoutNotFound) as err:
        signature_fields(out.getvalue())
    assert err.value.code == "pdf_layout_not_found"
    assert err.value.extra == {"label": "乙方（签章）"}
