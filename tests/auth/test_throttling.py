"""Failed passwords: logins and signing confirmations count apart, and parallel guesses are
counted one after another (PostgreSQL: an advisory lock per account), so 50 at once give no
more guesses than the limit."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from backend.auth.models import AttemptPurpose, FailedLogin, User
from backend.auth.service import confirm_password
from backend.core.config import get_settings
from backend.core.errors import PermissionDenied, TooManyAttempts
from tests.conftest import DEMO_PASSWORD


def _fail_logins(client: Any, username: str, times: int) -> None:
    for _ in range(times):
        r = client.post("/api/v1/auth/token", data={"username": username, "password": "wrong"})
        assert r.status_code == 401


def test_failed_logins_do_not_lock_the_account_out_of_signing(
    client: Any, session: Session
) -> None:
    limit = get_settings().login_max_failures
    _fail_logins(client, "ministry", limit)
    r = client.post("/api/v1/auth/token", data={"username": "ministry", "password": DEMO_PASSWORD})
    assert r.status_code == 429  # logins are throttled ...
    user = session.exec(select(User).where(User.username == "ministry")).one()
    confirm_password(session, user, DEMO_PASSWORD, "testclient")  # ... signing is not


def test_failed_signing_confirmations_do_not_lock_the_login(client: Any, session: Session) -> None:
    limit = get_settings().login_max_failures
    user = session.exec(select(User).where(User.username == "ministry")).one()
    for _ in range(limit):
        with pytest.raises(PermissionDenied):
            confirm_password(session, user, "wrong", "testclient")
    with pytest.raises(TooManyAttempts):
        confirm_password(session, user, DEMO_PASSWORD, "testclient")
    r = client.post("/api/v1/auth/token", data={"username": "ministry", "password": DEMO_PASSWORD})
    assert r.status_code == 200


def test_fifty_parallel_wrong_passwords_get_no_more_guesses_than_the_limit(
    live_server: str, session: Session
) -> None:
    limit = get_settings().login_max_failures
    start = threading.Barrier(50)

    def guess(i: int) -> int:
        with httpx.Client(timeout=60) as c:
            start.wait()
            r = c.post(
                live_server + "/api/v1/auth/token",
                data={"username": "finance-b", "password": f"guess-{i}"},
            )
            return r.status_code

    with ThreadPoolExecutor(50) as pool:
        codes = list(pool.map(guess, range(50)))
    checked = session.exec(
        select(func.count()).where(
            FailedLogin.username == "finance-b", FailedLogin.purpose == AttemptPurpose.login
        )
    ).one()
    # Every attempt that got a "wrong password" answer was a real guess and was recorded.
    assert codes.count(401) == checked
    assert checked <= limit, codes
    assert codes.count(429) == 50 - checked
