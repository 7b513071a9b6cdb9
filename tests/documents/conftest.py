"""Shared fixtures for the documents tests: ONE warm LibreOffice pool for the whole run.

`converter_pool` starts two unoserver instances once per session (~6 s); `app_pool` makes it the
pool the app and the CLI use (`backend.documents.converter.get_pool()`) for one test. Tests that
kill or stall an instance leave it restarting; the pool brings it back before the next checkout.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.documents import converter
from backend.documents.converter import ConverterPool


@pytest.fixture(scope="session")
def converter_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConverterPool]:
    pool = ConverterPool(data_dir=tmp_path_factory.mktemp("shared-converter"), instances=2)
    pool.start()
    yield pool
    pool.stop()


@pytest.fixture
def app_pool(converter_pool: ConverterPool, monkeypatch: pytest.MonkeyPatch) -> ConverterPool:
    """The shared pool as the app's pool; the app's lifespan sees it running and leaves it be."""
    converter_pool.ensure_started()
    monkeypatch.setattr(converter, "_pool", converter_pool)
    return converter_pool
