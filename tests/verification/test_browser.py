"""An auditor uploads a signed agreement and a tampered copy in the browser and sees both verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session

from tests.conftest import login_page
from tests.verification.conftest import revisions, signed_agreement


def test_auditor_sees_passed_for_the_signed_agreement_and_failed_for_a_tampered_copy(
    page: Any, session: Session, verification_pool: Any, tmp_path: Path
) -> None:
    signed = revisions(session, signed_agreement(session))[-1]
    good = tmp_path / "协议.pdf"
    good.write_bytes(signed)
    tampered = bytearray(signed)
    tampered[3000] ^= 0x01
    bad = tmp_path / "协议-篡改.pdf"
    bad.write_bytes(bytes(tampered))
    login_page(page, "auditor")
    page.get_by_role("link", name="签名验证").first.click()
    page.wait_for_url("**/verify")
    for path, verdict in ((good, "验证通过"), (bad, "验证失败")):
        page.get_by_label("PDF 文件").set_input_files(str(path))
        page.get_by_role("button", name="验证").click()
        page.wait_for_selector("#verdict")
        assert page.locator("#verdict").inner_text() == verdict
    assert "本系统未登记此文件" in page.locator("#registry-message").inner_text()
