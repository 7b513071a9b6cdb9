"""Generating an agreement from the page (issue 15.8): the ministry first sees the milestone
split (40/30/30 by default), may change it within the grant, and only the confirmed post
generates; a split that does not add up comes back with the difference next to the table."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, select

from tests.agreements.conftest import fresh_work
from tests.web.helpers import csrf, login


def _agreements(session: Session, wid: int) -> list[Any]:
    from backend.agreements.models import Agreement, AgreementStatus

    session.commit()
    rows = session.exec(select(Agreement).where(Agreement.work_id == wid)).all()
    return [a for a in rows if a.status == AgreementStatus.open]


def test_the_split_is_previewed_edited_and_generated_only_when_confirmed(
    pool: Any, client: Any, session: Session
) -> None:
    from backend.agreements.models import AgreementMilestone
    from backend.works.models import Work

    wid = fresh_work(session)
    work = session.get(Work, wid)
    assert work is not None and work.requested_fen > 0
    grant = work.requested_fen
    login(client, "ministry")
    token = csrf(client, "/agreements")
    preview = client.post("/agreements", data={"csrf_token": token, "work_id": str(wid)})
    assert preview.status_code == 200 and 'id="split"' in preview.text
    amounts = re.findall(r'name="m\d_amount" value="([^"]*)"', preview.text)
    first = grant * 40 // 100
    assert amounts[0] == f"{first // 100}.{first % 100:02d}"
    assert _agreements(session, wid) == []

    half = grant // 2
    form = {
        "csrf_token": token,
        "work_id": str(wid),
        "confirmed": "1",
        "m0_name": "首期款",
        "m0_amount": f"{half // 100}.{half % 100:02d}",
        "m0_gate": "agreement_signed",
        "m1_name": "中期款",
        "m1_amount": "",
        "m1_gate": "midterm_check_passed",
        "m2_name": "尾款",
        "m2_amount": "1.00",
        "m2_gate": "acceptance_passed",
    }
    wrong = client.post("/agreements", data=form)
    assert wrong.status_code == 422 and 'id="milestones-err"' in wrong.text and "少" in wrong.text
    assert _agreements(session, wid) == []
    rest = grant - half
    form["m2_amount"] = f"{rest // 100}.{rest % 100:02d}"
    done = client.post("/agreements", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    [ag] = _agreements(session, wid)
    ms = session.exec(
        select(AgreementMilestone).where(AgreementMilestone.agreement_id == ag.id)
    ).all()
    assert sorted((m.gate, m.amount_fen) for m in ms) == sorted(
        [("agreement_signed", half), ("acceptance_passed", rest)]
    )


def test_only_the_ministry_reaches_the_generation_page(
    pool: Any, client: Any, session: Session
) -> None:
    wid = fresh_work(session)
    login(client, "prod-hz")
    r = client.post("/agreements", data={"csrf_token": csrf(client), "work_id": str(wid)})
    assert r.status_code == 403
