"""Agreements tests: helpers, and `pool` = the run's shared converter pool (tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from backend.documents.converter import ConverterPool


@pytest.fixture
def pool(app_pool: ConverterPool) -> ConverterPool:
    return app_pool


def work_id(session: Session, title: str) -> int:
    from backend.works.models import Work

    work = session.exec(select(Work).where(Work.title == title)).one()
    assert work.id is not None
    return work.id


def fresh_work(session: Session, title: str = "西湖边的修伞人") -> int:
    """A confirmed demo work with no live agreement (the demo's own agreements are voided)."""
    from backend.agreements.models import Agreement, AgreementStatus

    wid = work_id(session, title)
    for ag in session.exec(select(Agreement).where(Agreement.work_id == wid)).all():
        if ag.status not in (AgreementStatus.voided, AgreementStatus.declined):
            ag.status = AgreementStatus.voided.value
            ag.next_party = None
            session.add(ag)
    session.commit()
    return wid


def sign(
    client: Any, headers: dict[str, str], agreement_id: int, password: str = "jingpin-demo"
) -> Any:
    return client.post(
        f"/api/v1/agreements/{agreement_id}/sign", json={"password": password}, headers=headers
    )
