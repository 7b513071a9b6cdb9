"""Helpers for page tests through the TestClient: log in with the session cookie (as a browser
does) and read hidden form fields such as the CSRF token."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import client_login


def login(client: Any, username: str) -> None:
    client.cookies.clear()
    r = client_login(client, username)  # through the login page, its login-CSRF token included
    assert r.status_code == 303, r.text


def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, name
    return m.group(1)


def csrf(client: Any, url: str = "/home") -> str:
    return hidden(client.get(url).text, "csrf_token")
