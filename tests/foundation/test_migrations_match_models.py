"""The Alembic history builds exactly the schema the SQLModel models declare.

A model column without a migration (or the reverse) would pass on the developer's fresh
database and fail on every upgraded one; autogenerate's diff against a migrated database
catches it on both backends.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import backend.models  # noqa: F401  (registers every domain's tables)


def test_migrated_database_has_no_difference_from_the_models(template) -> None:
    engine = create_engine(template.db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, SQLModel.metadata)
    finally:
        engine.dispose()
    # procrastinate's own tables live in the same database and are not our models.
    ours = [d for d in diff if "procrastinate" not in repr(d)]
    assert ours == [], "\n".join(map(repr, ours))
