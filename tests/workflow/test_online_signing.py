"""在线签章: the producer signs the prefilled 申请书 / 承诺书 with its seal instead of uploading scans."""

from __future__ import annotations

import re
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from tests.conftest import client_login
from tests.workflow.conftest import Flow

FULL = {
    "schedule": "2027年7月开机，10月完成后期",
    "planned_start": "2027-07-01",
    "planned_completion": "2027-10-31",
}
KINDS = ("application", "copyright-pledge")


def sign(
    flow: Flow, work_id: int, kind: str, user: str = "prod-hz", password: str = "jingpin-demo"
) -> Any:
    return flow.call(
        "POST", f"/api/v1/works/{work_id}/documents/{kind}/sign", user, json={"password": password}
    )


@pytest.fixture
def work_id(flow: Flow, app_pool: Any) -> int:
    batch = flow.open_batch()
    return int(flow.work(batch["id"], **FULL)["id"])


def test_signing_both_documents_online_lets_the_producer_submit(flow: Flow, work_id: int) -> None:
    for kind in KINDS:
        r = sign(flow, work_id, kind)
        assert r.status_code == 201, r.text
        assert r.json()["provided_by"] == "signed_online"
    app = flow.call("GET", f"/api/v1/works/{work_id}/application", "prod-hz", 200).json()
    assert app["eligible"], app["problems"]
    assert (
        flow.call("POST", f"/api/v1/works/{work_id}/submit", "prod-hz", 200).json()["status"]
        == "submitted"
    )


def test_online_signed_pdf_verifies_and_is_in_the_registry(flow: Flow, work_id: int) -> None:
    for kind in KINDS:
        sha = sign(flow, work_id, kind).json()["sha256"]
        pdf = flow.call(
            "GET", f"/api/v1/works/{work_id}/documents/{kind}/provided.pdf", "prod-hz", 200
        ).content
        report = flow.call(
            "POST",
            "/api/v1/verify",
            "auditor",
            200,
            files={"file": ("signed.pdf", pdf, "application/pdf")},
        ).json()
        assert report["indication"] == "TOTAL_PASSED", report
        assert len(report["signatures"]) == 1
        assert report["signatures"][0]["timestamp"], report  # B-T: a signature timestamp
        assert report["signatures"][0]["signer"]["organisation"] == "杭州光影微剧文化传媒有限公司"
        assert report["file_sha256"] == sha
        assert report["registry"], report
        flow.call("GET", f"/api/v1/registry/{sha}", "auditor", 200)


_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)


def _words_on_page(
    pdf: bytes, page: int, tmp_path: Path
) -> list[tuple[float, float, float, float, str]]:
    """(x1, top, x2, bottom, text) of each word poppler finds on ``page`` (1-based); y grows down."""
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return [(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in _WORD.findall(out)]


@pytest.mark.parametrize("kind", KINDS)
def test_online_signature_field_sits_on_the_last_page_beside_the_seal_label(
    flow: Flow, work_id: int, kind: str, tmp_path: Path
) -> None:
    sign(flow, work_id, kind)
    pdf = flow.call(
        "GET", f"/api/v1/works/{work_id}/documents/{kind}/provided.pdf", "prod-hz", 200
    ).content
    reader = PdfReader(BytesIO(pdf))
    widgets = [
        (number, a.get_object())
        for number, page in enumerate(reader.pages)
        for a in page.get("/Annots", [])
        if a.get_object().get("/FT") == "/Sig"
    ]
    assert [number for number, _ in widgets] == [len(reader.pages) - 1]  # one, on the last page
    last = reader.pages[-1]
    height, width = float(last.mediabox.height), float(last.mediabox.width)
    x1, y1, x2, y2 = (float(v) for v in widgets[0][1]["/Rect"])
    top, bottom = height - y2, height - y1  # poppler's coordinates: y grows downwards
    assert x2 - x1 >= 150 and bottom - top >= 40  # room for the four lines of the appearance
    assert x1 >= 0 and x2 <= width

    words = _words_on_page(pdf, len(reader.pages), tmp_path)
    labels = [w for w in words if "（盖章）" in w[4]]
    assert len(labels) == 1, words
    lx1, ltop, lx2, lbottom, _ = labels[0]
    # Beside the label: just right of it, never over it, and level with it.
    assert lx2 <= x1 <= lx2 + 20, (labels[0], (x1, top, x2, bottom))
    assert top <= ltop and lbottom <= bottom, (labels[0], (x1, top, x2, bottom))
    # ... and beside the whole block under it (法定代表人（签字）, 日期).
    block = [w for w in words if w[0] < x1 and ltop <= w[1] < ltop + 80]
    assert any("签字" in w[4] for w in block) and any("日期" in w[4] for w in block), block
    assert all(w[0] >= lx1 and w[3] <= bottom for w in block), (block, bottom)
    # No word of the document is covered: whatever overlaps the box is the appearance inside it.
    inside = [w for w in words if w[0] < x2 and w[2] > x1 and w[1] < bottom and w[3] > top]
    assert inside and all(
        x1 <= w[0] and w[2] <= x2 and top <= w[1] and w[3] <= bottom for w in inside
    ), inside
    assert any("杭州光影微剧文化传媒有限公司" in w[4] for w in inside), inside


def test_wrong_password_is_refused_and_nothing_is_recorded(flow: Flow, work_id: int) -> None:
    r = sign(flow, work_id, "application", password="not-my-password")
    assert r.status_code == 403 and r.json()["code"] == "wrong_password"
    app = flow.call("GET", f"/api/v1/works/{work_id}/application", "prod-hz", 200).json()
    assert app["documents"] == []


def test_another_producers_work_is_not_found(flow: Flow, work_id: int) -> None:
    r = sign(flow, work_id, "application", user="prod-cd")
    assert r.status_code == 404 and r.json()["code"] == "work_not_found"


def test_page_signs_online_with_the_password_field(client: Any, flow: Flow, work_id: int) -> None:
    r = client_login(client, "prod-hz")
    assert r.status_code in (302, 303), r.text
    page = client.get(f"/works/{work_id}/application")
    assert "在线签章" in page.text

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    bad = client.post(
        f"/works/{work_id}/application/documents/application/sign",
        data={"csrf_token": csrf[1], "password": "wrong"},
        follow_redirects=False,
    )
    assert bad.status_code == 403 and "密码错误" in bad.text
    ok = client.post(
        f"/works/{work_id}/application/documents/application/sign",
        data={"csrf_token": csrf[1], "password": "jingpin-demo"},
        follow_redirects=False,
    )
    assert ok.status_code == 303, ok.text
    assert "在线签章" in client.get(f"/works/{work_id}/application").text
