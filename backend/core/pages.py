"""The page kit every domain's pages use: Jinja rendering, flash messages after a redirect, the
error page, and the home page's building blocks (Link, Section).

It lives in core, not in ``backend.web``, because every domain renders pages and ``web`` is the
top layer (login, home, navigation) that imports the domains. The Jinja files themselves are in
``backend/web/jinja/``, one folder per domain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from backend.core import display
from backend.core.errors import JingpinError, NotAuthenticated, PasswordChangeRequired

CHANGE_PASSWORD_URL = "/account/password"  # noqa: S105 - a page address, not a secret

JINJA_DIR = Path(__file__).resolve().parents[1] / "web" / "jinja"

templates = Jinja2Templates(directory=JINJA_DIR)
templates.env.filters.update(yuan=display.yuan, local_time=display.local_time)

# Extra variables for every page (e.g. the navigation with its 待办 counts), added by the web
# layer at start-up: a provider gets the request and returns names → values.
ContextProvider = Callable[[Request], dict[str, Any]]
_context_providers: list[ContextProvider] = []


def add_context_provider(provider: ContextProvider) -> None:
    if provider not in _context_providers:
        _context_providers.append(provider)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("user", getattr(request.state, "user", None))
    context.setdefault("csrf_token", getattr(request.state, "csrf_token", ""))
    for provider in _context_providers:
        for key, value in provider(request).items():
            context.setdefault(key, value)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def redirect(url: str, message: str = "", *, error: bool = False) -> Response:
    """303 to ``url``, with a flash message the next page shows (``?msg=`` or ``?error=``)."""
    if not message:
        return RedirectResponse(url, status_code=303)
    sep = "&" if "?" in url else "?"
    return RedirectResponse(
        f"{url}{sep}{'error' if error else 'msg'}={quote(message)}", status_code=303
    )


def error_page(request: Request, exc: JingpinError) -> Response:
    if isinstance(exc, NotAuthenticated) and request.method == "GET":
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    if isinstance(exc, PasswordChangeRequired) and request.method == "GET":
        return RedirectResponse(CHANGE_PASSWORD_URL, status_code=303)
    return render(request, "error.html", status_code=exc.status_code, error=exc)


@dataclass
class Link:
    label: str
    href: str
    note: str = ""
    count: int = 0  # 待办 waiting behind this menu link (badge in the navigation)


@dataclass
class Todo:
    """One kind of 待办 (work waiting for this user), counted for the navigation bar."""

    label: str
    count: int
    href: str


@dataclass
class Section:
    """A card on a role's home page; ``count`` is shown as a badge (e.g. items waiting)."""

    title: str
    links: list[Link] = field(default_factory=list)
    count: int | None = None


# --------------------------------------------------------------------------- confirmations
# Every irreversible page action takes two posts to the same URL: the first (no ``confirmed``)
# shows what will happen; the confirmation page re-posts the same fields with confirmed=1.
CONFIRMED = "confirmed"


def is_confirmed(form: Mapping[str, Any]) -> bool:
    return str(form.get(CONFIRMED, "")) == "1"


def confirmation(
    request: Request,
    *,
    title: str,
    action: str,
    facts: list[tuple[str, str]],
    back: str,
    warning: str = "此操作提交后不能撤回或修改，请核对以下内容。",
    button: str = "",
    fields: Mapping[str, Any] | None = None,
    blocker: str | None = None,
    preview: str | None = None,
    busy: str = "正在办理…",
    **context: Any,
) -> HTMLResponse:
    """The confirmation page (the finance pages' pattern, for every domain): the facts, the
    warning, a preview (a Jinja include) when there is one, and one button that re-posts
    ``fields`` with confirmed=1. ``blocker`` replaces the button with the reason it is blocked."""
    hidden = {k: v for k, v in (fields or {}).items() if k not in ("csrf_token", CONFIRMED)}
    return render(
        request,
        "confirm.html",
        title=title,
        action=action,
        facts=facts,
        back=back,
        warning=warning,
        button=button or f"确认{title}",
        fields=hidden,
        blocker=blocker,
        preview=preview,
        busy=busy,
        **context,
    )
