"""auth hardening: failed-attempt purpose (login / signing confirmation), session last use

Revision ID: a7c3e91d5f20
Revises: 7c1e5a9d2f40
Create Date: 2026-12-02 05:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import backend.core.db


revision = 'a7c3e91d5f20'
down_revision = "7c1e5a9d2f40"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('failed_logins', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'purpose',
                sqlmodel.sql.sqltypes.AutoString(length=10),
                nullable=False,
                server_default='login',
            )
        )
        batch_op.create_index(batch_op.f('ix_failed_logins_purpose'), ['purpose'], unique=False)
    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('last_used_at', backend.core.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
    with op.batch_alter_table('failed_logins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_failed_logins_purpose'))
        batch_op.drop_column('purpose')
