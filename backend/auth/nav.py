"""The account links every signed-in user has in the menu."""

from __future__ import annotations

from backend.auth.models import User
from backend.core.pages import Link


def menu(user: User) -> list[Link]:
    return [Link("动态口令", "/account/totp")]
