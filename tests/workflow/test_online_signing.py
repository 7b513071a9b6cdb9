"""在线签章: the producer signs the prefilled 申请书 / 承诺书 with its seal instead of uploading scans."""

from __future__ import annotations

from typing import Any

import pytest

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


def test_online_signature_field_sits_on_the_last_page_beside_the_seal_label(
    flow: Flow, work_id: int
) -> None:
    from io import BytesIO

    from pypdf import PdfReader

    sign(flow, work_id, "application")
    pdf = flow.call(
        "GET", f"/api/v1/works/{work_id}/documents/application/provided.pdf", "prod-hz", 200
    ).content
    reader = PdfReader(BytesIO(pdf))
    last = reader.pages[-1]
    widgets = [
        a.get_object() for a in last.get("/Annots", []) if a.get_object().get("/FT") == "/Sig"
    ]
    assert len(widgets) == 1
    x1, y1, x2, y2 = (float(v) for v in widgets[0]["/Rect"])
    assert x2 - x1 >= 150 and y2 - y1 >= 40  # room for the four lines of the appearance
    assert "（盖章）" in last.extract_text()


def test_wrong_password_is_refused_and_nothing_is_recorded(flow: Flow, work_id: int) -> None:
    r = sign(flow, work_id, "application", password="not-my-password")
    assert r.status_code == 403 and r.json()["code"] == "wrong_password"
    app = flow.call("GET", f"/api/v1/works/{work_id}/application", "prod-hz", 200).json()
    assert app["documents"] == []


def test_another_producers_work_is_not_found(flow: Flow, work_id: int) -> None:
    r = sign(flow, work_id, "application", user="prod-cd")
    assert r.status_code == 404 and r.json()["code"] == "work_not_found"


def test_page_signs_online_with_the_password_field(client: Any, flow: Flow, work_id: int) -> None:
    r = client.post(
        "/login", data={"username": "prod-hz", "password": "jingpin-demo"}, follow_redirects=False
    )
    assert r.status_code in (302, 303), r.text
    page = client.get(f"/works/{work_id}/application")
    assert "在线签章" in page.text
    import re

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
