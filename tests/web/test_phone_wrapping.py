"""Long unbroken strings (certificate serials, SHA-256 and SM3 digests) on a 390 px phone: the
card cells of tables and the facts lists wrap them instead of widening the page. Found by the
whole-job walk (tests/web/test_whole_job_walk.py) at the phone width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from tests.conftest import login_page
from tests.verification.conftest import (  # noqa: F401  (fixtures, shared with the auditor tests)
    revisions,
    shared_verification_pool,
    signed_agreement,
    verification_pool,
)


def _page_width(page: Any) -> int:
    return int(
        page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
    )


@pytest.mark.browser
def test_a_signed_agreement_and_its_verification_fit_a_phone(
    browser: Any,
    live_server: str,
    session: Session,
    verification_pool: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Found by the walk at 390 px: the signature rows (certificate serials), the verification
    result's SHA-256/SM3 and the 申报材料 hashes are unbroken strings that made the page wider
    than the phone; card cells and facts now wrap them."""
    ag = signed_agreement(session)
    pdf = tmp_path / "协议.pdf"
    pdf.write_bytes(revisions(session, ag)[-1])
    context = browser.new_context(
        base_url=live_server, locale="zh-CN", viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.set_default_timeout(30000)
    login_page(page, "auditor")
    page.goto(f"/agreements/{ag.id}")
    assert page.locator("#agreement-status").inner_text() == "三方签署完成"
    assert _page_width(page) <= 390, ("agreement", _page_width(page))
    page.goto("/verify")
    page.get_by_label("PDF 文件").set_input_files(str(pdf))
    page.get_by_role("button", name="验证").click()
    page.wait_for_selector("#verdict")
    assert _page_width(page) <= 390, ("verify", _page_width(page))
    context.close()
