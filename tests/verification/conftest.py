"""Auditing tests: one warm verification worker pool and one LibreOffice pool for the run,
made the app's pools per test; the demo's fully signed agreement and its revisions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from backend.documents.converter import ConverterPool
from backend.verification import worker
from backend.verification.worker import VerificationPool


@pytest.fixture(scope="session")
def shared_verification_pool() -> Iterator[VerificationPool]:
    pool = VerificationPool(2, timeout=20, memory_bytes=1536 * 1024 * 1024)
    pool.start()
    yield pool
    pool.stop()


@pytest.fixture
def verification_pool(shared_verification_pool: VerificationPool) -> Iterator[VerificationPool]:
    previous = worker.set_verification_pool(shared_verification_pool)
    yield shared_verification_pool
    worker.set_verification_pool(previous)


@pytest.fixture
def office(app_pool: ConverterPool) -> ConverterPool:
    """The run's shared converter pool (tests/conftest.py)."""
    return app_pool


def signed_agreement(session: Session) -> Any:
    """The demo's fully signed agreement (西湖边的修伞人)."""
    from backend.agreements.models import Agreement, AgreementStatus

    ag = session.exec(
        select(Agreement).where(Agreement.status == AgreementStatus.fully_signed)
    ).first()
    assert ag is not None, "the demo has a fully signed agreement"
    return ag


def revisions(session: Session, ag: Any) -> list[bytes]:
    """Prepared PDF, then the PDF after 乙方, 丙方, 甲方 signed."""
    from backend.agreements.models import SIGNING_ORDER, AgreementSignature
    from backend.documents.store import get_store

    sigs = {
        s.party: s
        for s in session.exec(
            select(AgreementSignature).where(AgreementSignature.agreement_id == ag.id)
        ).all()
    }
    store = get_store()
    return [store.get(ag.prepared_pdf_sha256)] + [
        store.get(sigs[p.value].revision_sha256) for p in SIGNING_ORDER
    ]
