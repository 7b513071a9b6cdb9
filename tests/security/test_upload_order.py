"""An uploaded scan is read only after the access checks: a caller who may not upload to the
work is refused without a byte of the file being read into memory."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlmodel import Session, select

from backend.auth.models import User
from backend.core.errors import JingpinError
from backend.workflow import applications
from backend.workflow.models import DocumentSlot
from backend.works.models import Work


class CountingFile(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def _user(session: Session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def test_a_stranger_is_refused_before_the_file_is_read(session: Session) -> None:
    owner = _user(session, "prod-hz")
    work = session.exec(select(Work).where(Work.organisation_id == owner.organisation_id)).first()
    assert work is not None
    for stranger in ("prod-cd", "expert1", "finance-a"):
        upload = CountingFile(b"%PDF-1.7\n" + b"x" * 100_000)
        with pytest.raises(JingpinError) as refused:
            applications.upload_document(
                session, _user(session, stranger), work.id or 0, DocumentSlot.application, upload
            )
        assert refused.value.status_code in (403, 404), stranger
        assert upload.bytes_read == 0, stranger


def test_the_api_refuses_a_strangers_upload_with_404(client: Any, token_for: Any) -> None:
    works = client.get("/api/v1/works", headers=token_for("prod-hz")).json()
    r = client.post(
        f"/api/v1/works/{works[0]['id']}/documents/application/upload",
        files={"file": ("a.pdf", b"%PDF-1.7\n", "application/pdf")},
        headers=token_for("prod-cd"),
    )
    assert r.status_code == 404, r.text
