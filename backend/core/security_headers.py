"""Security headers on every response, error pages and 500s included (the middleware wraps the
whole app, outside Starlette's error middleware).

The pages carry no inline script or style (htmx and the API docs load theirs from /static), so
the policy allows scripts and styles from this origin only. A header a route set itself wins.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.core.config import get_settings

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-src 'self'; frame-ancestors {ancestors}"
)
HSTS = "max-age=31536000; includeSubDomains"


def _wants_hsts(scope: Scope) -> bool:
    settings = get_settings()
    return (
        settings.is_production
        or settings.base_url.startswith("https://")
        or scope.get("scheme") == "https"
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hsts = _wants_hsts(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # Our own PDFs are shown in an <iframe> of our own pages (协议全文); nothing
                # else may be framed, by anyone.
                pdf = headers.get("content-type", "").startswith("application/pdf")
                ancestors = "'self'" if pdf else "'none'"
                wanted = {
                    "Content-Security-Policy": CSP.format(ancestors=ancestors),
                    "X-Frame-Options": "SAMEORIGIN" if pdf else "DENY",
                    "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin",
                    "Cross-Origin-Opener-Policy": "same-origin",
                    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
                }
                if hsts:
                    wanted["Strict-Transport-Security"] = HSTS
                for name, value in wanted.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
