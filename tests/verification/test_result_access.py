"""Verification results belong to whoever uploaded the file: another signed-in user who knows
the hash gets 404, auditors and the ministry may read it, and verifying the same bytes again
as someone else leaves the first user's result and sealed report alone."""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfWriter


def _pdf() -> bytes:
    w = PdfWriter()
    w.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def _verify(client: Any, headers: dict[str, str], data: bytes, name: str) -> Any:
    r = client.post(
        "/api/v1/verify", files={"file": (name, data, "application/pdf")}, headers=headers
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_a_result_is_not_readable_by_another_user_who_knows_the_hash(
    client: Any, token_for: Any, verification_pool: Any
) -> None:
    sha = _verify(client, token_for("prod-hz"), _pdf(), "林晓的合同.pdf")["file_sha256"]
    for suffix in ("report.json", "report.pdf"):
        r = client.get(f"/api/v1/verify/{sha}/{suffix}", headers=token_for("prod-cd"))
        assert r.status_code == 404, (suffix, r.text)
        assert r.json()["code"] == "verification_result_not_found"
    own = client.get(f"/api/v1/verify/{sha}/report.json", headers=token_for("prod-hz"))
    assert own.status_code == 200 and own.json()["file_name"] == "林晓的合同.pdf"
    for reader in ("auditor", "ministry"):
        r = client.get(f"/api/v1/verify/{sha}/report.json", headers=token_for(reader))
        assert r.status_code == 200 and r.json()["file_name"] == "林晓的合同.pdf", reader


def test_verifying_the_same_bytes_as_someone_else_keeps_the_first_result(
    client: Any, token_for: Any, verification_pool: Any
) -> None:
    data = _pdf()
    first = token_for("prod-hz")
    sha = _verify(client, first, data, "original.pdf")["file_sha256"]
    sealed = client.get(f"/api/v1/verify/{sha}/report.pdf", headers=first)
    assert sealed.status_code == 200
    _verify(client, token_for("prod-cd"), data, "overwritten.pdf")
    mine = client.get(f"/api/v1/verify/{sha}/report.json", headers=first).json()
    assert mine["file_name"] == "original.pdf"
    again = client.get(f"/api/v1/verify/{sha}/report.pdf", headers=first)
    assert again.content == sealed.content
    theirs = client.get(f"/api/v1/verify/{sha}/report.json", headers=token_for("prod-cd"))
    assert theirs.json()["file_name"] == "overwritten.pdf"


def test_orphan_cleanup_keeps_the_blobs_a_verification_result_points_at(
    client: Any, token_for: Any, verification_pool: Any, session: Any
) -> None:
    """Sealed reports live in the object store with no documents row: cleanup must see them."""
    from sqlmodel import select

    from backend.documents.service import remove_orphan_blobs
    from backend.documents.store import get_store
    from backend.verification.models import VerificationResultRow

    headers = token_for("prod-hz")
    sha = _verify(client, headers, _pdf(), "留存.pdf")["file_sha256"]
    sealed = client.get(f"/api/v1/verify/{sha}/report.pdf", headers=headers)
    assert sealed.status_code == 200
    session.commit()
    row = session.exec(
        select(VerificationResultRow).where(VerificationResultRow.file_sha256 == sha)
    ).one()
    assert row.report_sha256 and get_store().exists(row.report_sha256)
    remove_orphan_blobs(session, older_than_hours=0)
    assert get_store().exists(row.report_sha256)  # deleted before: only documents rows counted
    again = client.get(f"/api/v1/verify/{sha}/report.pdf", headers=headers)
    assert again.content == sealed.content
