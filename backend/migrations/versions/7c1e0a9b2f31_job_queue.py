"""job queue: procrastinate's schema (PostgreSQL only)

The tables, functions and triggers of procrastinate's own schema.sql, applied once. SQLite (the
embedded default) runs jobs in-process and gets nothing. A procrastinate upgrade that changes
its schema ships migration files (procrastinate/sql/migrations): apply them in a new revision.

Revision ID: 7c1e0a9b2f31
Revises: f22163eaf1ae
Create Date: 2026-12-02 05:30:00
"""
from alembic import op
from procrastinate.schema import SchemaManager


revision = "7c1e0a9b2f31"
down_revision = "f22163eaf1ae"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # Through the driver, not text(): the schema's `:` and `%` are not bind parameters.
    bind.connection.driver_connection.execute(SchemaManager.get_schema())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.connection.driver_connection.execute(
        """
        DROP TABLE IF EXISTS procrastinate_periodic_defers, procrastinate_events,
            procrastinate_jobs, procrastinate_workers CASCADE;
        DROP TYPE IF EXISTS procrastinate_job_event_type, procrastinate_job_status,
            procrastinate_job_to_defer_v1 CASCADE;
        DO $$ DECLARE f record; BEGIN
          FOR f IN SELECT oid::regprocedure AS sig FROM pg_proc
                   WHERE proname LIKE 'procrastinate\\_%' LOOP
            EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE';
          END LOOP;
        END $$;
        """
    )
