"""推进表报送 from the page (issue 15.8): the first post shows the table that will be filed
(a preview of its rows) and files nothing; the confirmed post files it once."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, select

from tests.web.helpers import csrf, login


def _filings(session: Session) -> int:
    from backend.funding.filing_models import ProgressFiling

    session.commit()
    return len(session.exec(select(ProgressFiling)).all())


def test_filing_shows_a_preview_first_and_files_only_when_confirmed(
    app_pool: Any, client: Any, session: Session
) -> None:
    login(client, "unit-zj")
    page = client.get("/progress-filings").text
    unfiled = re.findall(
        r'name="period" value="([^"]+)">\s*<button type="submit" class="primary">', page
    )
    assert unfiled, "the demo leaves periods to file"
    period = unfiled[-1]
    before = _filings(session)
    token = csrf(client, "/progress-filings")
    shown = client.post("/progress-filings", data={"csrf_token": token, "period": period})
    assert shown.status_code == 200 and 'id="confirm-preview"' in shown.text
    assert 'id="progress-preview"' in shown.text and "西湖边的修伞人" in shown.text
    assert _filings(session) == before
    done = client.post(
        "/progress-filings",
        data={"csrf_token": token, "period": period, "confirmed": "1"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and "error=" not in done.headers["location"]
    assert _filings(session) == before + 1
    again = client.post("/progress-filings", data={"csrf_token": token, "period": period})
    assert 'id="blocked"' in again.text and "已报送" in again.text
