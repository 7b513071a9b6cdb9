"""administration: 忘记密码 requests, must-change-password flag, uploaded seal pictures

Revision ID: 5e2d7a1c9b84
Revises: d7e1a4c9b3f2
Create Date: 2026-12-02 15:00:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import backend.core.db


revision = "5e2d7a1c9b84"
down_revision = "d7e1a4c9b3f2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "password_reset_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_at", backend.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", backend.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "rejection_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_password_reset_requests_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"],
            ["users.id"],
            name=op.f("fk_password_reset_requests_resolved_by_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset_requests")),
    )
    with op.batch_alter_table("password_reset_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_password_reset_requests_user_id"), ["user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_password_reset_requests_status"), ["status"], unique=False
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "seal_picture_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("seal_picture_sha256")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
    with op.batch_alter_table("password_reset_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_reset_requests_status"))
        batch_op.drop_index(batch_op.f("ix_password_reset_requests_user_id"))
    op.drop_table("password_reset_requests")
