"""Registry: is this exact file one that jingpin issued or signed? (documents table)"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from backend.documents.models import Document


def lookup(session: Session, sha256: str) -> dict[str, Any]:
    rows = session.exec(select(Document).where(Document.sha256 == sha256).order_by(col(Document.id))).all()
    if not rows:
        return {"known": False, "sha256": sha256, "documents": []}
    return {
        "known": True,
        "sha256": sha256,
        "documents": [
            {
                "id": d.id,
                "kind": d.kind,
                "subject_type": d.subject_type,
                "subject_id": d.subject_id,
                "format": d.format,
                "created_at": d.created_at.isoformat(),
            }
            for d in rows
        ],
    }
