"""One new work walked through every role's whole job in Debian's Chromium, through the pages
only (clicks, form fills, downloads and uploads; the database is only read, to check outcomes):

producer: new work in the open demo batch → prefilled PDFs → online seal of 申请书 and 承诺书 →
submit; unit: 初评 → 推荐; ministry: 复评 experts → 复评结论 → 终评 experts → 终评决定 →
发布公示 → 确认入选 → the agreement with a custom milestone split; 乙 → 丙 (then the 推进表,
previewed) → 甲 sign; producer requests 中期检查, the ministry records it with a PDF attachment;
finance-a requests the 中期款, finance-b approves and pays; the auditor verifies the downloaded
signed agreement (通过) and a tampered copy (失败).

Every step keeps a screenshot under tests/artifacts/walk/<width>/NN-<step>.png; at 390 px no page
scrolls sideways. The chain runs once per width, each on one backend to keep CI time: desktop
(1440×900) on SQLite, phone (390×844) on PostgreSQL (on SQLite too when PostgreSQL is absent).

The 公示 period (the batch's notice_days) blocks 确认入选 until it has ended: the page shows the
button disabled with its reason, then the ministry confirms with the process clock moved past the
period's end (freezegun, read from the notice the page published; the app under test runs in this
process) and the clock returns before the agreement is generated and signed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from sqlmodel import Session, col, select

from tests.conftest import BACKENDS, DEMO_PASSWORD, login_page
from tests.verification.conftest import (  # noqa: F401  (fixtures, shared with the auditor tests)
    shared_verification_pool,
    verification_pool,
)
from tests.workflow.conftest import WORK

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts" / "walk"
WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}
TITLE = "钱塘江上的摆渡人"
# Each width once, on one backend: desktop on SQLite, phone on PostgreSQL when it answers.
RUNS = [("sqlite", "desktop"), ("postgres" if "postgres" in BACKENDS else "sqlite", "phone")]
# The app's threads follow the moved clock; the browser driver's and the server loop's do not.
CLOCK_IGNORE = ["playwright", "uvicorn", "asyncio", "anyio", "h11", "greenlet"]


class Walk:
    """One person at a time in their own browser context, at one width; numbered screenshots."""

    def __init__(self, browser: Any, base_url: str, width: str) -> None:
        self.browser, self.base_url, self.width = browser, base_url, width
        self.out = ARTIFACTS / width
        self.out.mkdir(parents=True, exist_ok=True)
        for old in self.out.glob("*.png"):
            old.unlink()
        self.step = 0
        self.context: Any = None
        self.page: Any = None

    def login(self, username: str) -> Any:
        if self.context is not None:
            self.context.close()
        w, h = WIDTHS[self.width]
        self.context = self.browser.new_context(
            base_url=self.base_url, locale="zh-CN", viewport={"width": w, "height": h}
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(30000)
        login_page(self.page, username)
        return self.page

    def shot(self, name: str) -> None:
        """Keep a screenshot of the step; on a phone, the body may not scroll sideways."""
        self.step += 1
        self.page.screenshot(path=str(self.out / f"{self.step:02d}-{name}.png"), full_page=True)
        if self.width == "phone":
            wide = self.page.evaluate(
                "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
            )
            assert wide <= WIDTHS["phone"][0], (name, self.page.url, wide)

    def settle(self) -> None:
        """Wait for the redirect back with ?msg= (or ?error=); fail with the page's message."""
        self.page.wait_for_url(re.compile(r"[?&](msg|error)="))
        assert "error=" not in self.page.url, self.page.locator(".alert").all_inner_texts()

    def close(self) -> None:
        if self.context is not None:
            self.context.close()


def _db() -> Session:
    from backend.core.db import get_engine

    return Session(get_engine(), expire_on_commit=False)


def _work() -> Any:
    from backend.works.models import Work

    with _db() as s:
        return s.exec(select(Work).where(Work.title == TITLE)).one()


def _open_batch() -> tuple[int, str]:
    """The demo's batch that is open today (backend.demo.open_batch_now)."""
    from backend.core.dates import before
    from backend.works.models import Batch

    now = datetime.now(UTC)
    with _db() as s:
        batch = next(b for b in s.exec(select(Batch)) if before(now, b.registration_deadline))
        return batch.id or 0, batch.label


def _expert_scores(walk: Walk, experts: list[str], round_label: str, totals: list[int]) -> None:
    for username, total_cut in zip(experts, totals, strict=True):
        page = walk.login(username)
        page.goto("/reviews/expert")
        task = page.locator("section.card", has_text=TITLE).filter(
            has_text=round_label, has=page.locator("form")
        )
        numbers = task.locator("input[type=number]")
        for i in range(numbers.count()):
            top = int(numbers.nth(i).get_attribute("max") or 0)
            numbers.nth(i).fill(str(top - (total_cut if i == 0 else 0)))
        task.get_by_label("评审意见").fill(f"{round_label}：立意积极，制作扎实。")
        task.get_by_role("button", name="提交评分…").click()
        facts = page.locator("#confirm-facts").inner_text()
        assert "提交后不能修改" in page.get_by_role("alert").inner_text()
        assert str(100 - total_cut) in facts and TITLE in facts
        walk.shot(f"{username}-{'final' if round_label == '终评' else 'second'}-confirm")
        page.get_by_role("button", name="确认提交评分").click()
        walk.settle()
        walk.shot(f"{username}-{'final' if round_label == '终评' else 'second'}-scored")


def _assign(walk: Walk, batch_id: int, work_id: int, round_label: str) -> list[str]:
    """Tick every expert offered for the round; returns their usernames (read from the DB)."""
    from backend.auth.models import Role, User

    page = walk.page
    page.goto(f"/reviews/ministry?batch_id={batch_id}")
    form = page.locator(f"form[action='/reviews/ministry/{work_id}/assign']")
    assert f"分配{round_label}专家" in form.inner_text()
    boxes = form.locator("input[name=expert_ids]")
    assert boxes.count() >= 2
    for i in range(boxes.count()):
        boxes.nth(i).check()
    form.get_by_role("button", name="分配").click()
    walk.settle()
    walk.shot(f"ministry-assign-{'final' if round_label == '终评' else 'second'}")
    with _db() as s:
        return [u.username for u in s.exec(select(User).where(User.role == Role.expert)).all()]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize(("template", "width"), RUNS, indirect=["template"])
def test_one_work_through_every_roles_whole_job_in_the_pages(
    browser: Any,
    live_server: str,
    app_pool: Any,
    verification_pool: Any,  # noqa: F811
    width: str,
    tmp_path: Path,
) -> None:
    from backend.agreements.models import Agreement, AgreementMilestone, AgreementStatus, Gate
    from backend.documents.store import get_store
    from backend.funding.ledger import paid_fen
    from backend.funding.models import MilestoneGateOpening
    from backend.workflow.models import PublicNotice
    from backend.works.models import WorkStatus

    walk = Walk(browser, live_server, width)
    batch_id, batch_label = _open_batch()
    try:
        # --- producer: a new work in the open batch -------------------------------------------
        page = walk.login("prod-hz")
        walk.shot("producer-home")
        page.goto("/works")
        page.get_by_role("link", name="填报新作品").click()
        page.get_by_label("作品名称").fill(TITLE)
        page.locator("#direction").select_option(WORK["direction"])
        page.get_by_label("题材类型").fill(WORK["genre"])
        page.get_by_label("集数").fill(str(WORK["episodes"]))
        page.get_by_label("单集时长（分钟）").fill(str(WORK["minutes_per_episode"]))
        page.get_by_label("内容简介").fill("一位老艄公在大桥通车前的最后一个夏天。")
        page.get_by_label("规划立项备案号").fill("浙微剧备字〔2026〕第0815号")
        page.get_by_label("本作品为原创作品").check()
        page.locator("#director").fill(WORK["director"])
        page.locator("#screenwriter").fill(WORK["screenwriter"])
        page.locator("#producer_name").fill(WORK["producer_name"])
        page.get_by_label("制作计划").fill("2027年1月开机，3月完成后期")
        page.get_by_label("计划开机日期").fill("2027-01-10")
        page.get_by_label("计划完成日期").fill("2027-03-31")
        page.get_by_label("预算总额（元）").fill("1000000")
        page.get_by_label("申请扶持金额（元）").fill("400000")
        page.locator("#batch_id").select_option(str(batch_id))
        walk.shot("producer-new-work")
        page.get_by_role("button", name="保存").click()
        page.wait_for_url(re.compile(r"/works/\d+"))
        work_id = _work().id
        walk.shot("producer-work-saved")

        for link in ("申请书（PDF）", "版权承诺书（PDF）"):
            with page.expect_download() as info:
                page.get_by_role("link", name=link).click()
            data = Path(info.value.path()).read_bytes()
            assert data.startswith(b"%PDF-"), (link, data[:40])

        page.get_by_role("link", name="申报材料与进度").click()
        page.wait_for_url(f"**/works/{work_id}/application")
        assert batch_label in page.locator("main").inner_text()
        walk.shot("producer-application")
        for i in range(2):
            form = page.locator("form.sign-online").nth(i)
            form.locator("input[type=password]").fill(DEMO_PASSWORD)
            with page.expect_navigation():
                form.get_by_role("button", name="在线签章").click()
            assert page.locator(".field-error").count() == 0, page.locator(
                ".field-error"
            ).all_inner_texts()
        walk.shot("producer-sealed")
        assert "资格审查通过" in page.content()
        with page.expect_navigation():
            page.get_by_role("button", name="提交至浙江省广播电视局…").click()
        assert "提交后申报内容冻结" in page.get_by_role("alert").inner_text()
        walk.shot("producer-submit-confirm")
        page.get_by_role("button", name="确认提交至浙江省广播电视局").click()
        walk.settle()
        walk.shot("producer-submitted")

        # --- unit: 初评 and 推荐 -----------------------------------------------------------
        page = walk.login("unit-zj")
        page.goto(f"/reviews/unit?batch_id={batch_id}")
        walk.shot("unit-desk")
        page.get_by_role("link", name=TITLE).click()
        page.get_by_label("初评通过").check()
        page.get_by_label("初评意见").fill("材料齐全，符合申报条件")
        with page.expect_navigation():
            page.get_by_role("button", name="保存初评结论…").click()
        assert "初评通过" in page.locator("#confirm-facts").inner_text()
        walk.shot("unit-review-confirm")
        with page.expect_navigation():
            page.get_by_role("button", name="确认初评结论").click()
        page.get_by_label("推荐意见").fill("同意推荐")
        with page.expect_navigation():
            page.get_by_role("button", name="推荐至总局…").click()
        assert TITLE in page.locator("#confirm-facts").inner_text()
        walk.shot("unit-recommend-confirm")
        page.get_by_role("button", name="确认推荐至总局").click()
        walk.settle()
        walk.shot("unit-recommended")
        assert _work().status is WorkStatus.recommended

        # --- ministry and experts: 复评, 终评, 决定 ----------------------------------------
        walk.login("ministry")
        experts = _assign(walk, batch_id, work_id, "复评")
        _expert_scores(walk, experts, "复评", [5, 9])
        page = walk.login("ministry")
        page.goto(f"/reviews/ministry?batch_id={batch_id}")
        conclude = page.locator(f"form[action='/reviews/ministry/{work_id}/conclude']")
        conclude.get_by_label("进入终评").check()
        conclude.get_by_label("理由").fill("复评均分靠前")
        conclude.get_by_role("button", name="保存复评结论…").click()
        assert "进入终评" in page.locator("#confirm-facts").inner_text()
        assert _work().status is WorkStatus.second_review  # nothing recorded before confirming
        page.get_by_role("button", name="确认记录复评结论").click()
        walk.settle()
        walk.shot("ministry-concluded")
        assert _work().status is WorkStatus.final_review
        _assign(walk, batch_id, work_id, "终评")
        _expert_scores(walk, experts, "终评", [3, 6])
        page = walk.login("ministry")
        page.goto(f"/reviews/ministry?batch_id={batch_id}")
        decide = page.locator(f"form[action='/reviews/ministry/{work_id}/decide']")
        decide.get_by_label("拟入选").check()
        decide.get_by_label("理由").fill("终评均分靠前，拟入选")
        decide.get_by_role("button", name="保存终评决定…").click()
        assert "拟入选" in page.locator("#confirm-facts").inner_text()
        page.get_by_role("button", name="确认记录终评决定").click()
        walk.settle()
        walk.shot("ministry-decided")
        assert _work().status is WorkStatus.selected

        # --- 发布公示, then 确认入选 after the period --------------------------------------
        page.get_by_role("button", name="发布公示…").click()
        assert TITLE in page.locator("#confirm-facts").inner_text()
        walk.shot("ministry-publish-confirm")
        page.get_by_role("button", name="确认发布公示").click()
        walk.settle()
        walk.shot("ministry-published")
        confirm = page.get_by_role("button", name="公示期满，确认入选名单…")
        assert confirm.is_disabled()
        assert "期满后方可确认" in page.locator("#confirm-blocked").inner_text()
        with _db() as s:
            notice = s.exec(select(PublicNotice).where(PublicNotice.batch_id == batch_id)).one()
        with freeze_time(
            notice.ends_at + timedelta(seconds=1), tick=True, real_asyncio=True, ignore=CLOCK_IGNORE
        ):
            page = walk.login("ministry")  # the session went idle across the period
            page.goto(f"/reviews/ministry?batch_id={batch_id}")
            page.get_by_role("button", name="公示期满，确认入选名单…").click()
            assert TITLE in page.locator("#confirm-facts").inner_text()
            walk.shot("ministry-selection-confirm")
            page.get_by_role("button", name="确认确认入选名单").click()
            walk.settle()
            walk.shot("ministry-selection-confirmed")
        assert _work().status is WorkStatus.confirmed

        # --- ministry: the agreement, with a custom split -----------------------------------
        page = walk.login("ministry")
        page.goto("/agreements")
        page.locator("tr", has_text=TITLE).get_by_role("button", name="生成三方协议…").click()
        amounts = [page.locator(f"#m{i}_amount") for i in range(3)]
        grant = sum(round(float(a.input_value() or 0) * 100) for a in amounts)
        assert grant > 0
        split = [grant * 50 // 100, grant * 25 // 100]
        split.append(grant - sum(split))
        for field, fen in zip(amounts, split, strict=True):
            field.fill(f"{fen / 100:.2f}")
        walk.shot("ministry-agreement-confirm")
        page.get_by_role("button", name="确认生成三方协议").click()
        walk.settle()
        walk.shot("ministry-agreement-created")
        with _db() as s:
            ag = s.exec(select(Agreement).where(Agreement.work_id == work_id)).one()
            milestones = s.exec(
                select(AgreementMilestone)
                .where(AgreementMilestone.agreement_id == ag.id)
                .order_by(AgreementMilestone.id)  # type: ignore[arg-type]
            ).all()
        assert [m.amount_fen for m in milestones] == split  # the split the ministry typed
        ag_id = ag.id

        # --- 乙 → 丙 (and the 推进表) → 甲 -------------------------------------------------
        for username, step in (("prod-hz", "yi"), ("unit-zj", "bing"), ("ministry", "jia")):
            page = walk.login(username)
            page.goto(f"/agreements/{ag_id}")
            walk.shot(f"{step}-before-sign")
            page.get_by_label("请再次输入登录密码以确认").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="确认签署").click()
            walk.settle()
            walk.shot(f"{step}-signed")
            if username == "unit-zj":
                page.goto("/progress-filings")
                first = page.locator("form[action='/progress-filings']").first
                reason = first.locator("input[name=correction_reason]")
                if reason.count():
                    reason.fill("补报新签协议的作品")
                first.get_by_role("button").click()
                preview = page.locator("#confirm-preview")
                assert TITLE in preview.inner_text()
                walk.shot("bing-filing-preview")
                page.locator("form[action='/progress-filings'] button.primary").click()
                walk.settle()
                walk.shot("bing-filed")
        assert page.locator("#agreement-status").inner_text() == "三方签署完成"

        # --- 中期检查 and 审核验收: the producer asks, the ministry records each result with a
        # signed PDF attached; each 通过 opens its payment gate ---------------------------------
        scan = tmp_path / "检查意见.pdf"
        scan.write_bytes(get_store().get(ag.prepared_pdf_sha256 or ""))  # a real PDF
        for n, (kind, label, note) in enumerate(
            (
                ("midterm", "中期检查", "已完成拍摄，进入后期制作"),
                ("acceptance", "审核验收", "成片已完成，申请审核验收"),
            ),
            start=1,
        ):
            page = walk.login("prod-hz")
            page.goto(f"/agreements/{ag_id}")
            page.get_by_role("link", name="中期检查与审核验收").click()
            page.locator("#req-kind").select_option(kind)
            page.get_by_label("说明（制作进度、希望的时间等）").fill(note)
            page.get_by_role("button", name="提交申请").click()
            walk.settle()
            walk.shot(f"producer-{kind}-requested")
            page = walk.login("ministry")
            page.goto(f"/agreements/{ag_id}/reviews")
            page.locator("#rec-kind").select_option(kind)
            asked = page.locator("#rec-request option", has_text=label)
            page.locator("#rec-request").select_option(asked.get_attribute("value"))
            page.get_by_label("检查日期").fill(_today())
            page.get_by_label("通过", exact=True).check()
            page.get_by_label("评审人员（用逗号分隔）").fill("评审专家甲，评审专家乙")
            page.get_by_label("评审意见").fill(f"{label}：进度与质量符合协议约定")
            page.get_by_label("检查或验收意见（已签字盖章的 PDF，可多份）").set_input_files(
                str(scan)
            )
            page.locator("#rec-confirm").check()
            walk.shot(f"ministry-{kind}-record")
            page.get_by_role("button", name="登记结论").click()
            walk.settle()
            walk.shot(f"ministry-{kind}-recorded")
            rows = page.locator("#reviews tbody tr")
            assert rows.count() == n
            assert "1 份 PDF" in rows.nth(n - 1).inner_text()
        with _db() as s:
            opened = {
                g.gate
                for g in s.exec(
                    select(MilestoneGateOpening).where(
                        col(MilestoneGateOpening.milestone_id).in_([m.id for m in milestones])
                    )
                )
            }
        assert {Gate.midterm_check_passed.value, Gate.acceptance_passed.value} <= opened

        # --- finance: the 中期款, requested by one and approved and paid by the other --------
        midterm = next(m for m in milestones if m.gate == Gate.midterm_check_passed.value)
        page = walk.login("finance-a")
        page.goto(f"/finance/agreements/{ag_id}")
        page.locator("#milestone").select_option(str(midterm.id))
        page.get_by_label("金额（元）").fill(f"{midterm.amount_fen / 100:.2f}")
        page.get_by_label("说明").fill("中期检查通过，申请拨付中期款")
        page.get_by_role("button", name="申请拨付…").click()
        walk.shot("finance-a-request-confirm")
        page.get_by_role("button", name="确认申请拨付").click()
        walk.settle()
        walk.shot("finance-a-requested")
        row = page.locator("#disbursements tr", has_text="申请拨付中期款")
        d_id = (row.get_attribute("id") or "").split("-")[1]
        page = walk.login("finance-b")
        page.goto(f"/finance/agreements/{ag_id}")
        mine = page.locator(f"#disbursement-{d_id}")
        mine.get_by_role("button", name="审批通过…").click()
        walk.shot("finance-b-approve-confirm")
        page.get_by_role("button", name="确认审批通过").click()
        walk.settle()
        mine = page.locator(f"#disbursement-{d_id}")
        mine.get_by_label("凭证号").fill("JP-PZ-WALK-1")
        mine.get_by_label("银行流水号").fill("ICBC-WALK-1")
        mine.get_by_role("button", name="登记拨付…").click()
        walk.shot("finance-b-pay-confirm")
        page.get_by_role("button", name="确认登记拨付").click()
        walk.settle()
        walk.shot("finance-b-paid")
        assert page.locator(f"#disbursement-{d_id} [data-state]").inner_text() == "已拨付"
        with _db() as s:
            assert paid_fen(s, milestone_id=midterm.id or 0) == midterm.amount_fen

        # --- auditor: the downloaded signed agreement, and a tampered copy ------------------
        page = walk.login("auditor")
        page.goto(f"/agreements/{ag_id}")
        # The link opens the PDF in the browser's viewer (no download event): keep the bytes
        # the server sent to the click, as "save as" would.
        got: dict[str, Any] = {}

        def keep(route: Any) -> None:
            answer = route.fetch()
            got["type"], got["body"] = answer.headers.get("content-type", ""), answer.body()
            route.fulfill(response=answer)

        page.route("**/document.pdf", keep)
        with page.expect_response(lambda r: r.url.endswith("/document.pdf")):
            page.get_by_role("link", name="下载协议 PDF").click()
        signed = got["body"]
        assert got["type"].startswith("application/pdf") and signed.startswith(b"%PDF-")
        good = tmp_path / "三方协议.pdf"
        good.write_bytes(signed)
        tampered = bytearray(signed)
        tampered[3000] ^= 0x01
        bad = tmp_path / "三方协议-篡改.pdf"
        bad.write_bytes(bytes(tampered))
        page.goto("/verify")
        for path, verdict, step in ((good, "验证通过", "good"), (bad, "验证失败", "tampered")):
            page.get_by_label("PDF 文件").set_input_files(str(path))
            page.get_by_role("button", name="验证").click()
            page.wait_for_selector("#verdict")
            assert page.locator("#verdict").inner_text() == verdict
            walk.shot(f"auditor-verify-{step}")
        with _db() as s:
            assert s.get(Agreement, ag_id).status == AgreementStatus.fully_signed  # type: ignore[union-attr]
    finally:
        walk.close()


def _today() -> str:
    from backend.core.dates import today_shanghai

    return today_shanghai().isoformat()
