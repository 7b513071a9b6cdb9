"""Keys outside the data dir in production (issue 14.11): `jingpin` and the app refuse to start
when the KEK or the root passphrase would be read from the data dir; the environment, a 0400
file outside it, or a PKCS#11 token (test_keys_pkcs11.py) are accepted. Blobs, the database and
the data dir are the app user's only."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from backend.cli import app as cli


@pytest.fixture
def production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from backend.core.config import get_settings

    data = tmp_path / "var"
    (data / "secrets").mkdir(parents=True)
    for name in ("JINGPIN_KEK", "JINGPIN_CA_ROOT_PASSPHRASE", "JINGPIN_KEK_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JINGPIN_DATA_DIR", str(data))
    monkeypatch.setenv("JINGPIN_ENV", "production")
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


def _start() -> Any:
    return CliRunner().invoke(cli, ["audit", "verify"])


def test_production_refuses_a_kek_in_the_data_dir(production: Path) -> None:
    from backend.app import create_app

    (production / "secrets" / "kek").write_text("k" * 48)
    result = _start()
    assert result.exit_code == 2, result.output
    assert (
        "生产环境拒绝启动" in result.output
        and "密钥加密密钥（KEK）保存在数据目录中" in result.output
    )
    with pytest.raises(RuntimeError, match="KEK"):
        create_app()


def test_production_refuses_a_root_passphrase_in_the_data_dir(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JINGPIN_KEK", "k" * 48)
    (production / "secrets" / "ca_root_passphrase").write_text("p" * 48)
    result = _start()
    assert result.exit_code == 2 and "根证书口令保存在数据目录中" in result.output, result.output


def test_production_needs_a_kek_from_somewhere(production: Path) -> None:
    result = _start()
    assert result.exit_code == 2 and "缺少密钥加密密钥" in result.output, result.output


@pytest.mark.parametrize(
    ("where", "mode", "accepted", "says"),
    [
        ("outside", 0o400, True, ""),
        ("outside", 0o644, False, "权限过宽"),
        ("inside", 0o400, False, "指向数据目录内"),
    ],
)
def test_a_kek_file_must_be_outside_the_data_dir_and_owner_only(
    production: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    mode: int,
    accepted: bool,
    says: str,
) -> None:
    from backend.core.config import get_settings

    folder = tmp_path / "keys" if where == "outside" else production / "conf"
    folder.mkdir()
    kek = folder / "kek"
    kek.write_text("k" * 48)
    kek.chmod(mode)
    monkeypatch.setenv("JINGPIN_KEK_FILE", str(kek))
    get_settings.cache_clear()
    problems = get_settings().production_key_problems()
    assert (problems == []) is accepted, problems
    assert says in "".join(problems)
    if accepted:
        assert get_settings().secret("kek") == "k" * 48


def test_production_never_generates_the_kek_into_the_data_dir(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backend.core.config import get_settings

    get_settings().ensure_secrets()
    assert sorted(p.name for p in (production / "secrets").iterdir()) == ["secret_key"]
    with pytest.raises(RuntimeError, match="kek missing"):
        get_settings().secret("kek")


def test_dev_still_generates_its_secrets(tmp_path: Path) -> None:
    from backend.core.config import Settings

    s = Settings(data_dir=tmp_path / "var", env="dev")
    s.ensure_secrets()
    assert stat.S_IMODE((tmp_path / "var" / "secrets" / "kek").stat().st_mode) == 0o600
    assert s.production_key_problems() == []


def test_blobs_are_readable_by_the_app_user_only(tmp_path: Path) -> None:
    from backend.documents.store import FileBlobStore

    store = FileBlobStore(tmp_path / "blobs")
    path = store.path_for(store.put(b"%PDF-1.7 secret agreement"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_init_leaves_data_dir_0700_and_database_0600(env: dict[str, Any]) -> None:
    data = env["data_dir"]
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    if env["backend"] == "sqlite":
        assert stat.S_IMODE((data / "jingpin.sqlite3").stat().st_mode) == 0o600
