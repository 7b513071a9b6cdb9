"""The account links every signed-in user has in the menu: 修改密码, 动态口令, and for the
admin 用户管理 (backend.web.admin_pages)."""

from __future__ import annotations

from backend.auth.models import Role, User
from backend.core.pages import Link


def menu(user: User) -> list[Link]:
    admin = [Link("用户管理", "/admin/users")] if user.role is Role.admin else []
    return [*admin, Link("修改密码", "/account/password"), Link("动态口令", "/account/totp")]
