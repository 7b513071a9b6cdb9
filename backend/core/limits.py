"""Request body limits, enforced before the body is read.

A request whose Content-Length is over its route's limit is answered 413 at once, before the
app sees it (so nothing is parsed or spooled to disk); a streamed (chunked) body is counted as
it arrives by Starlette's RequestBodyLimitMiddleware and stopped at the limit. Routes that take
uploads have their own, larger limit; everything else gets the small default for JSON and forms.
Limits are read from the settings per request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.core.config import Settings, get_settings


@dataclass(frozen=True)
class RouteLimit:
    """Bodies sent to paths matching ``path`` (a regular expression, matched whole) may be up
    to ``limit(settings)`` bytes."""

    path: str
    limit: Callable[[Settings], int]

    def matches(self, path: str) -> bool:
        return re.fullmatch(self.path, path) is not None


def too_large(limit: int) -> JSONResponse:
    mb = limit / (1024 * 1024)
    size = f"{mb:.0f} MB" if mb >= 1 else f"{max(1, limit // 1024)} KB"
    return JSONResponse(
        {
            "code": "request_too_large",
            "message": f"提交的内容过大（上限 {size}）",
            "fields": {},
            "limit_bytes": limit,
        },
        status_code=413,
        # The rest of the body is never read: the connection cannot be reused.
        headers={"Connection": "close"},
    )


class BodySizeLimit:
    def __init__(self, app: ASGIApp, routes: Sequence[RouteLimit]) -> None:
        self.app = app
        self.routes = tuple(routes)

    def limit_for(self, path: str) -> int:
        settings = get_settings()
        for route in self.routes:
            if route.matches(path):
                return route.limit(settings)
        return settings.request_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await too_large(limit)(scope, receive, send)
            return
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        body_done = not chunked and declared in (None, "0")

        async def tracking_receive() -> Message:
            nonlocal body_done
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                body_done = True
            return message

        async def closing_send(message: Message) -> None:
            # Answered before the body was read to its end (a 413, a 401 before an upload):
            # close the connection after the response instead of draining the rest of the body.
            if message["type"] == "http.response.start" and not body_done:
                MutableHeaders(scope=message)["Connection"] = "close"
            await send(message)

        limited = RequestBodyLimitMiddleware(self.app, max_body_size=limit)
        await limited(scope, tracking_receive, closing_send)
