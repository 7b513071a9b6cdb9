"""A PDF's pages as PNG images, for browsers that cannot show a PDF inline (phones, issue 15.18).

poppler's ``pdftoppm`` renders each document once; the images are cached under
``<data_dir>/page-images/<sha256>/`` (content-addressed: a document never changes under its hash,
so the cache never goes stale). Rendering runs in a temporary folder renamed into place, so a
concurrent request never sees half a set."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from backend.core.config import get_settings
from backend.core.errors import JingpinError, NotFound

DPI = 80  # a 390 px wide phone shows an A4 page (595 pt) at about this resolution
TIMEOUT_S = 60


class RenderFailed(JingpinError):
    status_code = 500
    code = "page_render_failed"
    message = "无法把协议转换为图片，请下载 PDF 查看"


def _folder(sha256: str) -> Path:
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise NotFound("未找到该文件", code="document_not_found")
    return get_settings().data_dir / "page-images" / sha256


def page_images(sha256: str, pdf: bytes) -> list[Path]:
    """The rendered pages in order (rendered now if this document has not been rendered yet)."""
    folder = _folder(sha256)
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".render-", dir=folder.parent))
        try:
            source = work / "document.pdf"
            source.write_bytes(pdf)
            result = subprocess.run(
                ["pdftoppm", "-png", "-r", str(DPI), str(source), str(work / "page")],
                capture_output=True,
                timeout=TIMEOUT_S,
                check=False,
            )
            source.unlink()
            if result.returncode != 0 or not any(work.glob("page-*.png")):
                raise RenderFailed()
            with contextlib.suppress(OSError):  # another request finished first: keep theirs
                os.rename(work, folder)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    # pdftoppm pads the page number to the width of the page count: sort numerically.
    return sorted(folder.glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def page_image(sha256: str, pdf: bytes, number: int) -> bytes:
    pages = page_images(sha256, pdf)
    if not 1 <= number <= len(pages):
        raise NotFound("没有这一页", code="page_not_found")
    return pages[number - 1].read_bytes()


def page_count(pdf: bytes) -> int:
    """How many pages the page (one <img> each) should ask for, without rendering them."""
    try:
        return len(PdfReader(io.BytesIO(pdf)).pages)
    except (PdfReadError, ValueError):
        return 0
