"""Every role's main pages in Debian's Chromium at 1440 px and at 390 px (a phone): each page
renders without horizontal overflow of the page body, a screenshot is kept under
tests/artifacts/ for review, and axe-core (run inside the page, from tools/axe, installed by
scripts/bootstrap.sh) finds no serious or critical accessibility violation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import login_page

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "tests" / "artifacts" / "pages"

MAIN_PAGES = {
    "prod-hz": [
        "/home",
        "/applications",
        "/works",
        "/agreements",
        "/notifications",
        "/account/password",
    ],
    "unit-zj": ["/home", "/reviews/unit", "/progress-filings", "/agreements"],
    "ministry": ["/home", "/reviews/ministry", "/agreements"],
    "expert1": ["/home", "/reviews/expert"],
    "finance-a": ["/home", "/finance"],
    "auditor": ["/home", "/audit", "/verify"],
    "admin": ["/home", "/batches", "/admin/users"],
}
WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}


def _axe(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [v for v in result if v.get("impact") in ("serious", "critical")]


@pytest.mark.browser
@pytest.mark.parametrize("width", list(WIDTHS))
def test_main_pages_of_every_role_pass_axe_and_fit_the_screen(
    browser: Any, live_server: str, width: str
) -> None:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run scripts/bootstrap.sh")
    w, h = WIDTHS[width]
    out = ARTIFACTS / width
    out.mkdir(parents=True, exist_ok=True)
    problems: dict[str, Any] = {}
    for user, urls in MAIN_PAGES.items():
        context = browser.new_context(
            base_url=live_server,
            locale="zh-CN",
            viewport={"width": w, "height": h},
            bypass_csp=True,  # only to inject axe; the pages themselves run under the CSP
        )
        page = context.new_page()
        page.set_default_timeout(15000)
        login_page(page, user)
        for url in urls:
            response = page.goto(url)
            assert response is not None and response.status == 200, (user, url)
            name = f"{user}{url.replace('/', '_')}.png"
            page.screenshot(path=str(out / name), full_page=True)
            serious = _axe(page)
            if serious:
                problems[f"{user} {url}"] = [
                    {
                        "id": v["id"],
                        "help": v["help"],
                        "nodes": [n["target"] for n in v["nodes"][:3]],
                    }
                    for v in serious
                ]
        context.close()
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)


@pytest.mark.browser
def test_on_a_phone_tables_are_cards_and_the_sign_form_is_one_tap_away(
    browser: Any, live_server: str, session: Any
) -> None:
    from sqlmodel import select

    from backend.agreements import service
    from backend.auth.models import User

    producer = session.exec(select(User).where(User.username == "prod-hz")).one()
    waiting = service.awaiting(session, producer)
    assert waiting, "the demo leaves an agreement waiting for 乙方"
    context = browser.new_context(
        base_url=live_server, locale="zh-CN", viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    login_page(page, "prod-hz")
    page.goto("/applications")
    cell = page.locator("table.table tbody tr").first.locator("td").nth(1)
    assert cell.get_attribute("data-label") == "批次"
    assert cell.evaluate("td => getComputedStyle(td).display") == "flex"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # no sideways scrolling
    page.goto(f"/agreements/{waiting[0].id}")
    jump = page.locator("a.sign-jump")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight / 2)")
    box = jump.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 844 + 1  # stuck to the screen
    jump.click()
    assert page.get_by_label("请再次输入登录密码以确认").is_visible()
    page.screenshot(path=str(ARTIFACTS / "phone-sign.png"))
    context.close()
