"""Review attachments (中期检查 / 审核验收, up to 64 MiB in one request) are read only after the
caller is known to be the ministry: anyone else streaming a large upload is refused before the
body is read (404 outside their scope, 403 for a role that may see the agreement)."""

from __future__ import annotations

from tests.security.test_limits import SLACK, Body, _bearer, _post


def test_a_non_ministry_review_upload_is_refused_before_its_body_is_read(
    live_server: str,
) -> None:
    for username in ("finance-a", "prod-cd"):
        body = Body(total=48 * 1024 * 1024)  # under the 64 MiB review limit: only the role stops it
        r = _post(
            live_server + "/api/v1/agreements/1/reviews", body, _bearer(live_server, username)
        )
        assert r.status_code in (403, 404), (username, r.text)
        assert r.json()["code"] in ("forbidden", "not_found", "agreement_not_found"), r.text
        assert body.sent <= SLACK, (username, body.sent)
