"""The verification page's verdict (issue 15.12): 通过 on a green banner, 失败 on a red one,
each with its reason; a non-PDF is refused plainly with no report to download."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session

from tests.verification.conftest import revisions, signed_agreement
from tests.web.helpers import csrf, login


def _verify(client: Any, name: str, data: bytes) -> Any:
    return client.post(
        "/verify",
        data={"csrf_token": csrf(client, "/verify")},
        files={"file": (name, data, "application/pdf")},
    )


def test_verdicts_are_coloured_banners_with_a_reason_and_a_non_pdf_gets_no_report(
    client: Any, session: Session, verification_pool: Any
) -> None:
    signed = revisions(session, signed_agreement(session))[-1]
    tampered = bytearray(signed)
    tampered[3000] ^= 0x01
    login(client, "auditor")
    good = _verify(client, "协议.pdf", signed).text
    assert 'class="verdict-banner verdict-ok"' in good and 'id="verdict-reason"' in good
    assert re.search(r'id="verdict-reason">全部 3 个签名完好', good)
    bad = _verify(client, "协议-篡改.pdf", bytes(tampered)).text
    assert 'class="verdict-banner verdict-bad"' in bad
    assert re.search(r'id="verdict-reason">有签名未通过验证：', bad)
    for page in (good, bad):  # the ETSI codes stay in the JSON, off the page's verdict
        banner = page.split('id="verdict-reason">', 1)[1].split("</p>", 1)[0]
        assert "TOTAL_" not in banner and "_FAILURE" not in banner, banner
    junk = _verify(client, "说明.pdf", b"just some text, not a PDF")
    assert junk.status_code in (400, 415, 422) and 'id="verify-error"' in junk.text
    assert "report.pdf" not in junk.text and "verdict-banner" not in junk.text
