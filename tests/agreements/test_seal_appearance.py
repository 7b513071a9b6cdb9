"""The visible signature carries the organisation's round seal picture (issue 15.7): after 乙方
signs, its signature widget's appearance holds an image the size of the generated seal."""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfReader
from sqlmodel import Session

from tests.agreements.conftest import fresh_work, sign


def _images_in(obj: Any, seen: set[int] | None = None) -> list[Any]:
    """Image XObjects reachable from an appearance stream's resources."""
    seen = seen if seen is not None else set()
    out = []
    res = obj.get("/Resources")
    xobjects = res.get_object().get("/XObject", {}) if res is not None else {}
    for ref in dict(xobjects).values():
        x = ref.get_object()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if x.get("/Subtype") == "/Image":
            out.append(x)
        else:
            out.extend(_images_in(x, seen))
    return out


def test_the_signed_agreement_shows_the_seal_picture(
    pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    wid = fresh_work(session)
    r = client.post("/api/v1/agreements", json={"work_id": wid}, headers=token_for("ministry"))
    aid = r.json()["id"]
    assert sign(client, token_for("prod-hz"), aid).status_code == 200
    pdf = client.get(f"/api/v1/agreements/{aid}/document.pdf", headers=token_for("prod-hz"))
    reader = PdfReader(io.BytesIO(pdf.content))
    widgets = [
        a.get_object()
        for page in reader.pages
        for a in page.get("/Annots", []) or []
        if a.get_object().get("/FT") == "/Sig" and a.get_object().get("/V") is not None
    ]
    assert len(widgets) == 1
    images = _images_in(widgets[0]["/AP"]["/N"].get_object())
    assert images, "the signature appearance has no seal image"
    assert (images[0]["/Width"], images[0]["/Height"]) == (320, 320)
