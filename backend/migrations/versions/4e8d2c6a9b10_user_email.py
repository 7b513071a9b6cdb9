"""users: e-mail address and opt-out of non-mandatory mail

Revision ID: 4e8d2c6a9b10
Revises: 7c1e0a9b2f31
Create Date: 2026-12-02 05:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = "4e8d2c6a9b10"
down_revision = "7c1e0a9b2f31"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(
            sa.Column("mail_opt_out", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("mail_opt_out")
        batch_op.drop_column("email")
