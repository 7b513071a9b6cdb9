"""crypto profile: SM2 seal serials and per-organisation profile (国密)

Revision ID: a7c3e9f1b2d4
Revises: e60ede26522f
Create Date: 2026-12-02 05:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a7c3e9f1b2d4"
down_revision = "e60ede26522f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sm2_seal_cert_serial", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("crypto_profile", sa.String(length=8), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_organisations_crypto_profile_known"),
            "crypto_profile is null or crypto_profile in ('intl','gm','dual')",
        )
    with op.batch_alter_table("agreement_signatures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sm2_cert_serial", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("crypto_profile", sa.String(length=8), nullable=False, server_default="intl")
        )
        batch_op.create_check_constraint(
            op.f("ck_agreement_signatures_crypto_profile_known"),
            "crypto_profile in ('intl','gm','dual')",
        )


def downgrade() -> None:
    with op.batch_alter_table("agreement_signatures", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_agreement_signatures_crypto_profile_known"), type_="check"
        )
        batch_op.drop_column("crypto_profile")
        batch_op.drop_column("sm2_cert_serial")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_organisations_crypto_profile_known"), type_="check")
        batch_op.drop_column("crypto_profile")
        batch_op.drop_column("sm2_seal_cert_serial")
