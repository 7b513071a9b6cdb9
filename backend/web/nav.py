"""The registry of what each domain shows on a role's home page and in the menu.

Each domain has a ``nav`` module with ``home_sections(session, user)`` and ``menu(user)``; this
list is the only place that knows them all, so the web layer depends on the domains and never
the other way round. The order here is the order on the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from sqlmodel import Session

from backend.agreements import nav as agreements
from backend.auth import nav as account
from backend.auth.models import User
from backend.core.db import get_engine
from backend.core.pages import Link, Section, Todo
from backend.documents import nav as documents
from backend.funding import nav as funding
from backend.pki import nav as pki
from backend.verification import nav as verification
from backend.workflow import nav as workflow
from backend.works import nav as works

HOME_SECTIONS: tuple[Callable[[Session, User], list[Section]], ...] = (
    funding.filing_sections,
    works.home_sections,
    documents.home_sections,
    workflow.home_sections,
    agreements.home_sections,
    funding.home_sections,
    verification.home_sections,
    pki.home_sections,
    account.home_sections,
)
MENU: tuple[Callable[[User], list[Link]], ...] = (
    works.menu,
    workflow.menu,
    documents.menu,
    agreements.menu,
    funding.menu,
    verification.menu,
    pki.menu,
    workflow.notifications_menu,
    account.menu,
)


# 待办: what waits for the user, counted on every page (issue 15.14).
TODOS: tuple[Callable[[Session, User], list[Todo]], ...] = (
    agreements.todos,
    workflow.todos,
    funding.todos,
    account.todos,
)


def todos(session: Session, user: User) -> list[Todo]:
    """The user's 待办 with something waiting (count > 0)."""
    return [t for provider in TODOS for t in provider(session, user) if t.count > 0]


def home_sections(session: Session, user: User) -> list[Section]:
    return [section for provider in HOME_SECTIONS for section in provider(session, user)]


def menu(user: User) -> list[Link]:
    return [Link("首页", "/home")] + [link for provider in MENU for link in provider(user)]


def menu_context(request: Request) -> dict[str, Any]:
    """For every page (backend.core.pages): the signed-in user's menu, each link with the 待办
    waiting behind it, and the 待办 list itself. Counted in a read-only session of its own (a
    page may render after its request's session is gone)."""
    user = getattr(request.state, "user", None)
    if user is None:
        return {"menu": [], "todos": []}
    with Session(get_engine()) as session:
        waiting = todos(session, user)
    links = menu(user)
    for link in links:  # a 待办 counts on the menu link whose page (or sub-page) it opens
        link.count = sum(t.count for t in waiting if _under(t.href.split("?")[0], link.href))
    return {"menu": links, "todos": waiting}


def _under(path: str, href: str) -> bool:
    return path == href or path.startswith(href.rstrip("/") + "/")
