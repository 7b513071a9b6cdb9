"""Test fixtures: every test that takes `db_url` runs on SQLite and, when PostgreSQL answers
(JINGPIN_TEST_POSTGRES_URL or 127.0.0.1:5432), on PostgreSQL too.

A template data dir (migrated schema, reference data, demo data) is built once per backend per
run through the real `init`/`demo` code paths; each test gets a fresh copy (SQLite: the file;
PostgreSQL: CREATE DATABASE … TEMPLATE)."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEMO_PASSWORD = "jingpin-demo"


def postgres_admin_url() -> str | None:
    url = os.environ.get("JINGPIN_TEST_POSTGRES_URL")
    if url:
        return url
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return DEFAULT_PG
    except OSError:
        return None


PG_ADMIN = postgres_admin_url()
if os.environ.get("JINGPIN_REQUIRE_POSTGRES") == "1" and PG_ADMIN is None:
    raise RuntimeError("JINGPIN_REQUIRE_POSTGRES=1 but PostgreSQL does not answer")

BACKENDS = ["sqlite"] + (["postgres"] if PG_ADMIN else [])


@pytest.fixture(scope="session", autouse=True)
def wiring() -> None:
    """Every test process wires the domains' event subscribers, as the app and the CLI do."""
    from backend import wiring as app_wiring

    app_wiring.install()


def _pg_exec(sql: str) -> None:
    assert PG_ADMIN
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def _pg_url(dbname: str) -> str:
    assert PG_ADMIN
    return make_url(PG_ADMIN).set(database=dbname).render_as_string(hide_password=False)


def configure(monkeypatch: pytest.MonkeyPatch, data_dir: Path, db_url: str) -> None:
    """Point the app's settings and engine at this test's data dir and database."""
    from backend.core.config import get_settings
    from backend.core.db import get_engine

    monkeypatch.setenv("JINGPIN_DATA_DIR", str(data_dir))
    monkeypatch.setenv("JINGPIN_DATABASE_URL", db_url)
    monkeypatch.setenv("JINGPIN_ENV", "dev")
    # Apps under test start no LibreOffice; documents tests share one pool (tests/documents).
    monkeypatch.setenv("JINGPIN_CONVERTER_WARM_START", "false")
    get_settings.cache_clear()
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


class Template:
    def __init__(self, backend: str, data_dir: Path, db_url: str) -> None:
        self.backend, self.data_dir, self.db_url = backend, data_dir, db_url


@pytest.fixture(scope="session", params=BACKENDS)
def template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Template]:
    backend = request.param
    data_dir = tmp_path_factory.mktemp(f"template-{backend}")
    if backend == "sqlite":
        db_url = f"sqlite:///{data_dir / 'jingpin.sqlite3'}"
        dbname = None
    else:
        dbname = f"jingpin_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        _pg_exec(f'CREATE DATABASE "{dbname}"')
        db_url = _pg_url(dbname)
    mp = pytest.MonkeyPatch()
    configure(mp, data_dir, db_url)
    from typer.testing import CliRunner

    from backend.cli import app as cli
    from backend.core.db import get_engine

    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    get_engine().dispose()
    mp.undo()
    yield Template(backend, data_dir, db_url)
    if dbname:
        _pg_exec(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture
def env(
    template: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """A fresh copy of the demo data dir and database for one test."""
    data_dir = tmp_path / "var"
    # The font cache is read-only and large: share it; LibreOffice profiles are per pool.
    shutil.copytree(
        template.data_dir, data_dir, ignore=shutil.ignore_patterns("fonts", "converter")
    )
    (data_dir / "fonts").symlink_to(template.data_dir / "fonts")
    dbname = None
    if template.backend == "sqlite":
        db_url = f"sqlite:///{data_dir / 'jingpin.sqlite3'}"
    else:
        dbname = f"jingpin_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        _pg_exec(f'CREATE DATABASE "{dbname}" TEMPLATE "{make_url(template.db_url).database}"')
        db_url = _pg_url(dbname)
    configure(monkeypatch, data_dir, db_url)
    yield {"backend": template.backend, "data_dir": data_dir, "db_url": db_url}
    from backend.core.db import get_engine

    get_engine().dispose()
    get_engine.cache_clear()
    if dbname:
        _pg_exec(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture
def session(env: dict[str, Any]) -> Iterator[Session]:
    from backend.core.db import get_engine

    with Session(get_engine(), expire_on_commit=False) as s:
        yield s


@pytest.fixture
def client(env: dict[str, Any]) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from backend.app import create_app

    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def token_for(client: Any) -> Any:
    """token_for("prod-hz") → Authorization headers for that demo user."""
    cache: dict[str, dict[str, str]] = {}

    def get(username: str) -> dict[str, str]:
        if username not in cache:
            r = client.post(
                "/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD}
            )
            assert r.status_code == 200, r.text
            cache[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return cache[username]

    return get


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests marked `postgres` run only on the PostgreSQL leg.
    for item in items:
        if item.get_closest_marker("postgres") and "[sqlite" in item.nodeid:
            item.add_marker(pytest.mark.skip(reason="PostgreSQL-only behaviour"))


@pytest.fixture
def live_server(env: dict[str, Any]) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, against this test's database."""
    import threading
    import time

    import uvicorn

    from backend.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (never a downloaded browser). Module scope: the
    sync API keeps an event loop running in the main thread while it lives, and tests after the
    browser modules call asyncio.run."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: run scripts/bootstrap.sh")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


def login_page(page: Any, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/home")


# --- one warm LibreOffice pool for the whole run ---------------------------------------------
# `converter_pool` starts two unoserver instances once per session (~6 s); `app_pool` makes it the
# pool the app and the CLI use (`backend.documents.converter.get_pool()`) for one test. Tests that
# kill or stall an instance leave it restarting; the pool brings it back before the next checkout.


@pytest.fixture(scope="session")
def converter_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from backend.documents.converter import ConverterPool

    pool = ConverterPool(data_dir=tmp_path_factory.mktemp("shared-converter"), instances=2)
    pool.start()
    yield pool
    pool.stop()


@pytest.fixture
def app_pool(converter_pool: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The shared pool as the app's pool; the app's lifespan sees it running and leaves it be."""
    from backend.documents import converter

    converter_pool.ensure_started()
    monkeypatch.setattr(converter, "_pool", converter_pool)
    return converter_pool


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real S3 server (SeaweedFS `weed mini`) for the whole run, on free loopback ports."""
    from tests import seaweed as weed

    server = weed.start(tmp_path_factory.mktemp("seaweed"))
    yield server
    server.stop()


@pytest.fixture
def s3_env(seaweed: Any, env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """`env` with the app's blob store in the SeaweedFS bucket instead of the data dir."""
    from backend.core.config import get_settings
    from backend.documents.store import FileBlobStore, get_store

    bucket = f"t-{uuid.uuid4().hex[:12]}"
    for name, value in {**seaweed.env(), "JINGPIN_S3_BUCKET": bucket}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    store = get_store()
    store.client.create_bucket(Bucket=bucket)
    # The demo's blobs move into the bucket, and the local folder goes: whatever the app reads
    # from now on must come from S3.
    local = FileBlobStore(env["data_dir"] / "blobs")
    for sha256, _written in local.iter_blobs():
        store.put(local.get(sha256))
    shutil.rmtree(local.root)
    return {**env, "store": "s3", "bucket": bucket}
