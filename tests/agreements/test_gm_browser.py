"""The gm flow in Chromium: the admin makes an electronic seal from a seal picture on the seal
page, three people sign in order 乙 → 丙 → 甲 with SM2, the auditor sees 国密 SM2 per signature
on the agreement page, exports an SES_Signature, and verifies the PDF on the verify page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from tests.agreements.conftest import fresh_work
from tests.agreements.gm_profile import profile_template
from tests.agreements.test_gm_seals import seal_png
from tests.conftest import DEMO_PASSWORD, login_page
from tests.signing.gm.ses_checker import check_signature

template = profile_template("gm", backends=("sqlite",))


def test_gm_seal_signing_and_verification_in_the_browser(
    pool: Any, page: Any, session: Session, tmp_path: Path
) -> None:
    from backend.agreements import service
    from backend.auth.models import User
    from backend.orgs.models import Organisation
    from signing.gm.ses import pdf_signed_bytes

    wid = fresh_work(session)
    ministry = session.exec(select(User).where(User.username == "ministry")).one()
    ag = service.create_agreement(session, ministry, wid)
    session.commit()
    producer = session.get(Organisation, ag.producer_org_id)
    assert producer is not None

    # the admin makes the producer's electronic seal from its picture (confirmation required)
    picture = tmp_path / "seal.png"
    picture.write_bytes(seal_png())
    login_page(page, "admin")
    page.goto("/seals")
    card = page.locator(f"#org-{producer.id}")
    assert "国密算法（SM2）" in card.locator(".profile").inner_text()
    card.get_by_text("制作电子印章", exact=True).first.click()
    card.locator("input[name=picture]").set_input_files(str(picture))
    card.get_by_label("我已核对印章图片", exact=False).check()
    card.get_by_role("button", name="制作电子印章").click()
    page.wait_for_url("**/seals?msg=*")
    card = page.locator(f"#org-{producer.id}")
    assert card.locator("img").count() == 1
    assert card.get_by_role("link", name="下载 SES_Seal").count() == 1

    for username, expected in (
        ("prod-hz", "签署中"),
        ("unit-zj", "签署中"),
        ("ministry", "三方签署完成"),
    ):
        page.context.clear_cookies()
        login_page(page, username)
        page.goto(f"/agreements/{ag.id}")
        page.get_by_label("请再次输入登录密码以确认").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="确认签署").click()
        page.wait_for_url(f"**/agreements/{ag.id}?msg=*")
        assert page.locator("#agreement-status").inner_text() == expected

    page.context.clear_cookies()
    login_page(page, "auditor")
    page.goto(f"/agreements/{ag.id}")
    parties = page.locator("#parties")
    assert parties.get_by_text("签名算法 国密 SM2").count() == 3
    link = parties.get_by_role("link", name="导出电子签章数据（SES_Signature）")
    assert link.count() == 1  # only 乙方's organisation has an electronic seal
    ses = page.request.get(link.get_attribute("href") or "")
    pdf = page.request.get(f"/api/v1/agreements/{ag.id}/document.pdf").body()
    seal_id = page.request.get(f"/api/v1/organisations/{producer.id}/seals").json()[
        "electronic_seals"
    ][0]["id"]
    seal_der = page.request.get(f"/api/v1/electronic-seals/{seal_id}.esl").body()
    check_signature(ses.body(), pdf_signed_bytes(pdf, "party_yi_sm2"), seal_der)

    signed = tmp_path / "agreement.pdf"
    signed.write_bytes(pdf)
    page.goto("/verify")
    page.get_by_label("PDF 文件").set_input_files(str(signed))
    page.get_by_role("button", name="验证").click()
    page.locator("#verify-result").wait_for()
    assert page.locator("#verdict").inner_text() == "验证通过"
    headings = page.locator("section.signature h3").all_inner_texts()
    seals, archive = headings[:3], headings[3:]
    assert all(h.startswith("签名") and "国密 SM2" in h for h in seals), headings
    # the archive form's SM2 document timestamp, shown as a timestamp, never as a seal
    assert len(archive) == 1 and archive[0].startswith("文档时间戳") and "SM2" in archive[0]
