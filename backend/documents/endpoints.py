"""Document routes under /api/v1 (tags: documents).

The work, progress-table and agreement download routes (`/works/{id}/documents/...`,
`/units/{code}/progress-tables/...`) are wired by the auth/works side with its access
dependencies; they serve bytes through `backend.documents.service` (DOCX recorded by
`store_rendered`, PDF through `pdf_for_docx`, cached per DOCX sha256). This module holds the
router they attach to, so the app mounts one documents router.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["documents"])
