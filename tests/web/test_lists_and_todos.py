"""Lists that grow and 待办 (issue 15.14, 15.15): search, filters, sort and paging on the works,
applications, agreements and disbursements lists; Excel exports of 作品清单 and 评审结果; the
待办 counts in the navigation, equal to the work actually waiting for that user."""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import load_workbook
from sqlmodel import Session, select

from tests.web.helpers import login

TAG = "列表测试"


def _add_works(session: Session, n: int) -> list[int]:
    """``n`` copies of a demo work (submitted, visible to the ministry) with distinct titles and
    amounts; rows straight into the table, since only listing is under test here."""
    from backend.works.models import Work, WorkStatus

    model = session.exec(select(Work).where(Work.status != WorkStatus.draft)).first()
    assert model is not None
    ids = []
    for i in range(n):
        data = model.model_dump(exclude={"id"})
        data.update(title=f"{TAG}{i:02d}号", requested_fen=100_000 + i, status=WorkStatus.submitted)
        work = Work(**data)
        session.add(work)
        session.flush()
        ids.append(work.id or 0)
    session.commit()
    return ids


def _titles(html: str) -> list[str]:
    return re.findall(rf"<a href=\"/works/\d+\">({TAG}\d+号)</a>", html)


def _total(html: str) -> int:
    m = re.search(r"共 (\d+) 条", html)
    assert m, "the list says how many rows match"
    return int(m.group(1))


def test_works_list_searches_sorts_and_pages(client: Any, session: Session) -> None:
    _add_works(session, 25)
    login(client, "ministry")
    first = client.get("/works", params={"q": TAG, "sort": "requested"})
    assert first.status_code == 200
    assert _total(first.text) == 25
    assert _titles(first.text) == [f"{TAG}{i:02d}号" for i in range(20)]  # cheapest first
    assert "第 1 / 2 页" in first.text
    second = client.get("/works", params={"q": TAG, "sort": "requested", "page": "2"})
    assert _titles(second.text) == [f"{TAG}{i:02d}号" for i in range(20, 25)]
    newest = client.get("/works", params={"q": TAG, "sort": "-requested"})
    assert _titles(newest.text)[0] == f"{TAG}24号"
    # Past the end shows the last page, a junk page number the first; never an error.
    assert _titles(client.get("/works", params={"q": TAG, "page": "99"}).text)
    assert client.get("/works", params={"q": TAG, "page": "x", "sort": "nope"}).status_code == 200


def test_search_text_is_literal_and_filters_narrow(client: Any, session: Session) -> None:
    from backend.works.models import Work, WorkStatus

    ids = _add_works(session, 3)
    login(client, "ministry")
    # LIKE wildcards typed by the user match themselves, not everything.
    assert _total(client.get("/works", params={"q": "%"}).text) == 0
    assert _total(client.get("/works", params={"q": "_"}).text) == 0
    work = session.get(Work, ids[0])
    assert work is not None
    work.status = WorkStatus.returned
    session.add(work)
    session.commit()
    only = client.get("/works", params={"q": TAG, "status": "returned"})
    assert _titles(only.text) == [f"{TAG}00号"]
    other_unit = client.get("/works", params={"q": TAG, "unit": str(work.unit_id + 1000)})
    assert _total(other_unit.text) == 0


def test_works_export_holds_every_matching_work_across_pages(client: Any, session: Session) -> None:
    _add_works(session, 23)
    login(client, "ministry")
    r = client.get("/works/export.xlsx", params={"q": TAG, "sort": "requested"})
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:2] == ("序号", "作品名称")
    assert [row[1] for row in rows[1:]] == [f"{TAG}{i:02d}号" for i in range(23)]
    assert rows[1][7] == 1000  # 申请金额 in 元 as a number (100,000 分)
    assert ws["H2"].number_format == "#,##0.00"


def test_a_producer_lists_and_exports_only_its_own_works(client: Any, session: Session) -> None:
    from backend.auth.models import User
    from backend.works.models import Work

    producer = session.exec(select(User).where(User.username == "prod-hz")).one()
    own = session.exec(select(Work).where(Work.organisation_id == producer.organisation_id)).all()
    login(client, "prod-hz")
    assert _total(client.get("/applications").text) == len(own)
    r = client.get("/works/export.xlsx")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    assert sorted(row[1] for row in ws.iter_rows(min_row=2, values_only=True)) == sorted(
        w.title for w in own
    )


def test_agreements_list_filters_by_status_and_searches_the_number(
    client: Any, session: Session
) -> None:
    from backend.agreements.models import Agreement

    login(client, "ministry")
    every = session.exec(select(Agreement)).all()
    signed = [a for a in every if a.status == "fully_signed"]
    r = client.get("/agreements", params={"status": "fully_signed"})
    assert _total(r.text) == len(signed) >= 1
    numbers = re.findall(r'<a href="/agreements/\d+">([^<]+)</a>', r.text)
    assert sorted(numbers) == sorted(a.number for a in signed)
    one = client.get("/agreements", params={"q": every[0].number})
    assert _total(one.text) == 1


def test_disbursement_state_filter_agrees_with_the_ledger(client: Any, session: Session) -> None:
    from backend.funding import service
    from backend.funding.ledger import DisbursementState
    from backend.funding.models import Disbursement

    states = {
        d.id: service.disbursement_read(session, d).state
        for d in session.exec(select(Disbursement)).all()
    }
    assert len(set(states.values())) >= 4, "the demo ledger has requests in several states"
    login(client, "finance-a")
    for state in DisbursementState:
        r = client.get("/finance/disbursements", params={"state": state.value})
        assert r.status_code == 200
        expected = sum(1 for s in states.values() if s is state)
        assert _total(r.text) == expected, state
        assert re.findall(r'data-state="([a-z_]+)"', r.text) == [state.value] * expected
    assert _total(client.get("/finance/disbursements").text) == len(states)


def _nav_badges(html: str) -> dict[str, int]:
    nav = html.split('aria-label="主导航"', 1)[1].split("</nav>", 1)[0]
    return {
        label: int(count)
        for label, count in re.findall(
            r'<a href="[^"]+"[^>]*>([^<]+?) <span class="badge count"[^>]*>(\d+)</span>', nav
        )
    }


def test_todo_counts_follow_the_work_waiting_for_each_user(client: Any, session: Session) -> None:
    from backend.agreements import service as agreements
    from backend.auth.models import User
    from backend.workflow import notifications

    prod = session.exec(select(User).where(User.username == "prod-hz")).one()
    login(client, "prod-hz")
    home = client.get("/home").text
    badges = _nav_badges(home)
    waiting = len(agreements.awaiting(session, prod))
    assert waiting >= 1 and badges["三方协议"] == waiting
    unread = notifications.unread_count(session, prod)
    assert badges.get("通知", 0) == unread
    assert 'id="todo"' in home and "待我签署的协议" in home


def _todo(html: str, label: str) -> int:
    """The count of one 待办 line on the home page (absent: nothing waiting)."""
    block = html.split('id="todo"', 1)[1].split("</section>", 1)[0]
    m = re.search(rf">{label}</a> <span class=\"badge count\">(\d+)</span>", block)
    return int(m.group(1)) if m else 0


def test_finance_todos_leave_each_step_to_the_other_finance_user(
    client: Any, session: Session
) -> None:
    from backend.auth.models import User
    from backend.funding import service as funding
    from backend.funding.models import Disbursement

    fa = session.exec(select(User).where(User.username == "finance-a")).one()
    fb = session.exec(select(User).where(User.username == "finance-b")).one()

    def in_state(state: str, by: User) -> list[Disbursement]:
        return [
            d
            for d in session.exec(select(Disbursement)).all()
            if d.requested_by == by.id and funding.disbursement_read(session, d).state == state
        ]

    # The demo leaves one request waiting for approval; whoever made it is the asker.
    asker, checker = (fa, fb) if in_state("requested", fa) else (fb, fa)
    asked = in_state("requested", asker)
    assert asked, "the demo has a request waiting for approval"
    login(client, checker.username)
    home = client.get("/home").text
    assert _todo(home, "待审批的拨付申请") == len(asked)
    to_pay = _todo(home, "待拨付的申请")
    assert to_pay == len(in_state("approved", asker))
    assert _nav_badges(home)["资金拨付"] == _todo(home, "待审批的拨付申请") + to_pay + _todo(
        home, "待审批的冲销"
    )
    login(client, asker.username)
    home_asker = client.get("/home").text
    assert _todo(home_asker, "待审批的拨付申请") == len(in_state("requested", checker))
    asker_to_pay = _todo(home_asker, "待拨付的申请")

    session.commit()  # end this session's read snapshot before it writes (SQLite)
    funding.approve(session, checker, asked[0].id or 0, "测试审批。")
    session.commit()
    login(client, checker.username)
    home = client.get("/home").text
    assert _todo(home, "待审批的拨付申请") == len(asked) - 1
    assert _todo(home, "待拨付的申请") == to_pay + 1  # the asker may not pay its own request
    login(client, asker.username)
    assert _todo(client.get("/home").text, "待拨付的申请") == asker_to_pay


def test_review_results_export_lists_the_batch_standings(client: Any, session: Session) -> None:
    from backend.auth.models import User
    from backend.workflow import selection
    from backend.works.models import Batch

    ministry = session.exec(select(User).where(User.username == "ministry")).one()
    batch = next(
        b
        for b in session.exec(select(Batch)).all()
        if selection.standings(session, ministry, b.id or 0)
    )
    standings = selection.standings(session, ministry, batch.id or 0)
    login(client, "ministry")
    r = client.get(f"/reviews/ministry/{batch.id}/results.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [row[1] for row in rows] == [s.work.title for s in standings]
    login(client, "prod-hz")
    assert client.get(f"/reviews/ministry/{batch.id}/results.xlsx").status_code == 403


def test_expert_desk_groups_tasks_by_batch_pending_first(client: Any, session: Session) -> None:
    from backend.auth.models import User
    from backend.workflow import experts

    expert = session.exec(select(User).where(User.username == "expert1")).one()
    tasks = experts.expert_tasks(session, expert)
    pending = [t for t in tasks if t.open and t.score is None]
    done = [t for t in tasks if not (t.open and t.score is None)]
    assert tasks
    login(client, "expert1")
    html = client.get("/reviews/expert").text
    counts = re.findall(r"待评 (\d+) 部，已评或已结束 (\d+) 部", html)
    assert sum(int(p) for p, _ in counts) == len(pending)
    assert sum(int(d) for _, d in counts) == len(done)
    # Within each batch, the pending tasks come before the folded 已评 block.
    for chunk in html.split('<h2 class="batch-group">')[1:]:
        fold = chunk.find('class="done-tasks"')
        for t in pending:
            at = chunk.find(f'id="t{t.work.id}-{t.round.value}"')
            if at != -1:
                assert fold == -1 or at < fold
    for t in done:
        chunk = html.split(f'id="t{t.work.id}-{t.round.value}"', 1)[0]
        assert chunk.rfind('class="done-tasks"') > chunk.rfind('<h2 class="batch-group">')


def test_assignment_form_names_the_experts_already_assigned(client: Any, session: Session) -> None:
    from backend.auth.models import User
    from backend.workflow import selection

    ministry = session.exec(select(User).where(User.username == "ministry")).one()
    for batch_id in range(1, 20):
        try:
            standings = selection.standings(session, ministry, batch_id)
        except Exception:
            continue
        open_round = [
            s for s in standings if s.work.status.value == "second_review" and s.second.expert_ids
        ]
        if open_round:
            break
    else:
        raise AssertionError("the demo has a work in 复评 with experts assigned")
    s = open_round[0]
    names = [
        u.display_name
        for u in session.exec(select(User).where(User.role == "expert")).all()
        if u.id in s.second.expert_ids
    ]
    login(client, "ministry")
    html = client.get("/reviews/ministry", params={"batch_id": batch_id}).text
    line = re.search(r'class="muted assigned-experts">已分配：([^<]+)</p>', html)
    assert line and sorted(line.group(1).split("、")) == sorted(names)
    # An assigned expert is not offered again for the same work and round.
    for expert_id in s.second.expert_ids:
        assert f'id="e{s.work.id}-{expert_id}"' not in html
