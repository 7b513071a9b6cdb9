"""Schema upgrades through Alembic (the app and `jingpin init` upgrade to head)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def autogenerate(url: str, message: str) -> None:
    """Developer helper: `python -m backend.migrate "message"` against a scratch database."""
    command.revision(alembic_config(url), message=message, autogenerate=True)


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        scratch = f"sqlite:///{tmp}/scratch.sqlite3"
        upgrade(scratch)
        autogenerate(scratch, sys.argv[1])
