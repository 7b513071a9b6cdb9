"""finalise and verification results: agreements 待归档 / 验证未通过 (the sign-finalise queue),
verification results in the database instead of one host's disk

Revision ID: d7e1a4c9b3f2
Revises: c4f2b8d61e03
Create Date: 2026-12-02 15:00:00
"""

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision = "d7e1a4c9b3f2"
down_revision = "c4f2b8d61e03"
branch_labels = None
depends_on = None

OLD = "status IN ('draft', 'open', 'signing', 'fully_signed', 'declined', 'voided')"
NEW = (
    "status IN ('draft', 'open', 'signing', 'finalising', 'finalise_failed', 'fully_signed', "
    "'declined', 'voided')"
)


def _statuses(check: str) -> None:
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_agreements_status_known"), type_="check")
        batch_op.create_check_constraint("status_known", check)


def upgrade() -> None:
    _statuses(NEW)
    op.create_table(
        "verification_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("verify_at", backend.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result_json", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.Column("report_sha256", sa.String(length=64), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", backend.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'done', 'failed')",
            name=op.f("ck_verification_results_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_verification_results_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_results")),
        sa.UniqueConstraint(
            "user_id", "file_sha256", name=op.f("uq_verification_results_user_id_file_sha256")
        ),
    )
    with op.batch_alter_table("verification_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_verification_results_file_sha256"), ["file_sha256"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("verification_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verification_results_file_sha256"))
    op.drop_table("verification_results")
    op.execute("UPDATE agreements SET status = 'signing' WHERE status = 'finalising'")
    op.execute("UPDATE agreements SET status = 'voided' WHERE status = 'finalise_failed'")
    _statuses(OLD)
