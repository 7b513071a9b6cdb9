"""The visual diff of the sealed report: the signed revision and the current file rendered with
pdftoppm and compared with Pillow — the changed region of an incremental-update attack is
found and outlined, an honest countersigned agreement shows nothing."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from pypdf import PdfReader
from sqlmodel import Session

from backend.verification.visual_diff import signed_revision, visual_diff
from tests.verification import corpus
from tests.verification.conftest import revisions, signed_agreement


def test_the_attack_is_found_on_its_page_and_the_honest_agreement_shows_nothing(
    session: Session,
) -> None:
    revs = revisions(session, signed_agreement(session))
    honest = revs[-1]
    assert visual_diff(honest) == []
    for partial in revs[1:-1]:  # each signer's revision: later signatures are not changes
        assert visual_diff(partial) == []

    attacked = corpus._incremental(honest, "content")
    assert signed_revision(attacked) == honest
    [page] = visual_diff(attacked)
    assert page.page == 1 and page.regions
    left, top, right, bottom = page.regions[0]
    assert right > left and bottom > top
    # The outline is drawn: red pixels on the sheet (signed | current).
    assert (220, 30, 30) in {page.image.getpixel((x, top + 48)) for x in range(page.image.width)}

    annotated = corpus._incremental(honest, "annotation")
    [page] = visual_diff(annotated)
    # The annotation's /Rect is (60, 740)–(400, 790) in points: near the top-left at 50 dpi.
    (left, top, right, bottom), *_ = page.regions
    assert left <= 60 * 50 / 72 + 6 and top <= (842 - 740) * 50 / 72


def test_the_sealed_report_of_a_failed_file_carries_the_side_by_side_pages(
    client: Any, token_for: Any, session: Session, verification_pool: Any, office: Any
) -> None:
    from backend.pki.service import verify_bytes

    honest = revisions(session, signed_agreement(session))[-1]
    attacked = corpus._incremental(honest, "content")
    h = token_for("auditor")
    pages = {}
    for name, data in (("honest", honest), ("attacked", attacked)):
        body = client.post(
            "/api/v1/verify", files={"file": (f"{name}.pdf", data, "application/pdf")}, headers=h
        ).json()
        report = client.get(body["report_pdf"], headers=h)
        assert report.status_code == 200
        assert verify_bytes(report.content).indication == "TOTAL_PASSED"  # still sealed
        pages[name] = len(PdfReader(BytesIO(report.content)).pages)
        if name == "attacked":
            assert body["indication"] == "TOTAL_FAILED"
            assert body["signatures"][-1]["modified_after"] == "第 1 页的内容被替换"
    assert pages["attacked"] == pages["honest"] + 1
