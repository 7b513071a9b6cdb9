"""Uploaded files (scans of signed paperwork, review attachments): checked before they are
stored."""

from __future__ import annotations

import io
from typing import BinaryIO

from pypdf import PdfReader

from backend.core.config import get_settings
from backend.core.errors import ValidationFailed


def read_upload(upload: bytes | BinaryIO, *, field: str = "file") -> bytes:
    """The bytes of an upload, read from its (spooled temporary) file at most to the size limit
    plus one byte. Services call it after their access checks, so that nobody's file is read
    into memory before we know they may upload it."""
    if isinstance(upload, bytes):
        return upload
    limit = get_settings().upload_max_bytes
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationFailed(
            "文件过大", fields={field: f"文件不能超过 {limit // (1024 * 1024)} MB"}
        )
    if not data:
        raise ValidationFailed("请选择要上传的 PDF 文件", fields={field: "请选择要上传的 PDF 文件"})
    return data


def check_pdf(data: bytes, *, field: str = "file") -> int:
    """A real PDF: within the size limit, parses with pypdf, has at least one page → page count."""
    limit = get_settings().upload_max_bytes
    if len(data) > limit:
        raise ValidationFailed(
            "文件过大", fields={field: f"文件不能超过 {limit // (1024 * 1024)} MB"}
        )
    if not data.startswith(b"%PDF-"):
        raise ValidationFailed(
            "只能上传 PDF 文件", fields={field: "文件不是 PDF（须为签字盖章后的 PDF 扫描件）"}
        )
    try:
        pages = len(PdfReader(io.BytesIO(data), strict=False).pages)
    except Exception as exc:  # pypdf raises many kinds for broken files
        raise ValidationFailed(
            "PDF 文件已损坏，无法读取", fields={field: "PDF 文件已损坏，无法读取"}
        ) from exc
    if pages < 1:
        raise ValidationFailed("PDF 文件没有页面", fields={field: "PDF 文件没有页面"})
    return pages
