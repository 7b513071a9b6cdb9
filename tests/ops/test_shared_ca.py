"""The CA shared through the database: two hosts with their own data dirs issue, revoke and
see each other's certificates; neither reads the other's disk."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from backend.pki import shared


@pytest.fixture
def hosts(env: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Host A: the test's data dir (its CA pushed to the database by `init`); host B: an empty
    dir with the same KEK, as a second machine would have from its secret store."""
    from backend.core.config import get_settings
    from backend.pki.service import init_ca

    secrets = env["data_dir"] / "secrets"
    monkeypatch.setenv("JINGPIN_KEK", (secrets / "kek").read_text().strip())
    monkeypatch.setenv(
        "JINGPIN_CA_ROOT_PASSPHRASE", (secrets / "ca_root_passphrase").read_text().strip()
    )
    monkeypatch.setenv("JINGPIN_CA_SHARED", "true")
    get_settings.cache_clear()
    init_ca()  # host A's init: its existing CA goes into the database
    kek = get_settings().secret("kek").encode()
    a = shared.open_shared(env["data_dir"] / "ca", kek)
    b_dir = tmp_path / "host-b" / "ca"
    monkeypatch.setenv("JINGPIN_DATA_DIR", str(tmp_path / "host-b"))
    get_settings.cache_clear()
    init_ca()  # host B's init finds the CA in the database and creates none
    b = shared.open_shared(b_dir, kek)
    return a, b


def test_a_second_host_gets_the_same_ca_from_the_database_not_a_new_one(hosts):
    a, b = hosts
    assert a.directory != b.directory
    assert b.root_certificate == a.root_certificate
    assert b.issuing_certificate == a.issuing_certificate


def test_a_certificate_issued_on_one_host_is_known_and_usable_on_the_other(hosts):
    a, b = hosts
    issued = b.issue(organisation="杭州某影视公司", common_name="杭州某影视公司 电子印章")
    on_a = a.get(issued.serial)
    assert on_a.certificate_pem == issued.certificate_pem
    key = a.private_key(issued.serial)  # unwrapped with the KEK on the other host
    assert key.public_key().public_numbers() == (
        x509.load_pem_x509_certificate(issued.certificate_pem).public_key().public_numbers()
    )


def test_a_revocation_on_one_host_is_in_the_other_hosts_crl(hosts):
    a, b = hosts
    issued = a.issue(organisation="某推荐单位", common_name="某推荐单位 电子印章")
    assert issued.serial not in {r.serial_number for r in x509.load_der_x509_crl(b.crl_der())}
    a.revoke(issued.serial)
    crl = x509.load_der_x509_crl(b.crl_der())
    assert issued.serial in {r.serial_number for r in crl}


def test_hosts_issuing_at_the_same_time_lose_no_certificate(hosts):
    a, b = hosts
    serials: list[int] = []
    lock = threading.Lock()

    def issue_on(ca: Any, n: int) -> None:
        for i in range(n):
            c = ca.issue(organisation=f"机构{i}", common_name=f"机构{i} 电子印章")
            with lock:
                serials.append(c.serial)

    threads = [threading.Thread(target=issue_on, args=(ca, 4)) for ca in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(serials) == 8
    known_a = {c.serial for c in a.list()}
    known_b = {c.serial for c in b.list()}
    assert set(serials) <= known_a and set(serials) <= known_b


def test_the_kek_is_never_among_the_shared_files(hosts, env):
    from sqlalchemy import select

    from backend.core.db import get_engine

    kek = (env["data_dir"] / "secrets" / "kek").read_text().strip().encode()
    with get_engine().connect() as conn:
        rows = conn.execute(select(shared.ca_files.c.path, shared.ca_files.c.content)).all()
    assert rows and not any(kek in content for _, content in rows)
    assert not any(path.startswith("secrets") for path, _ in rows)
