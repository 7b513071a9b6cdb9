"""Documents on the home page and in the menu: the unit's 推进表 downloads."""

from __future__ import annotations

from sqlmodel import Session

from backend.auth.models import Role, User
from backend.core.pages import Link, Section


def menu(user: User) -> list[Link]:
    return [Link("推进表", "/progress-tables")] if user.role is Role.unit_reviewer else []


def home_sections(session: Session, user: User) -> list[Section]:
    if user.role is not Role.unit_reviewer:
        return []
    link = Link("重点项目推进表", "/progress-tables", "自6月起按月中、月末报送附件3")
    return [Section("双周报送", [link])]
