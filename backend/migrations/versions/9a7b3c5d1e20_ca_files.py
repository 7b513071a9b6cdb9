"""ca_files: the CA directory's files, shared by every host (JINGPIN_CA_SHARED=true)

Revision ID: 9a7b3c5d1e20
Revises: 4e8d2c6a9b10
Create Date: 2026-12-02 05:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = "9a7b3c5d1e20"
down_revision = "4e8d2c6a9b10"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ca_files",
        sa.Column("path", sa.String(length=200), primary_key=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger().with_variant(sa.Integer(), "sqlite")),
    )


def downgrade() -> None:
    op.drop_table("ca_files")
