"""File responses: one way to name a download (a Chinese file name with an ASCII fallback)."""

from __future__ import annotations

from pathlib import PurePath
from urllib.parse import quote

from fastapi.responses import Response


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """``attachment`` (or ``inline``) with an ASCII ``filename`` for old clients and the real name
    as RFC 5987 ``filename*``."""
    suffix = PurePath(filename).suffix
    ascii_name = filename if filename.isascii() else f"document{suffix}"
    ascii_name = ascii_name.replace('"', "_").replace("\\", "_")
    disposition = "inline" if inline else "attachment"
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(
    data: bytes,
    filename: str,
    media_type: str,
    *,
    inline: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    """The bytes as a file the browser saves (or shows, ``inline``); never cached by proxies."""
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(filename, inline=inline),
            "Cache-Control": "private, no-store",
            **(headers or {}),
        },
    )
