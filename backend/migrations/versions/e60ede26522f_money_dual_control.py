"""money dual control: a reversal is requested, then approved or rejected by a second user

Revision ID: e60ede26522f
Revises: d48d3d5a454b
Create Date: 2026-12-02 05:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'e60ede26522f'
down_revision = 'd48d3d5a454b'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('approved', 'rejected', 'paid', 'reversed')"
NEW_KINDS = (
    "kind IN ('approved', 'rejected', 'paid', 'reversal_requested', 'reversed', "
    "'reversal_rejected')"
)
OLD_STEPS = "step IN ('decision', 'payment', 'reversal')"
NEW_STEPS = "step IN ('decision', 'payment', 'reversal_request', 'reversal')"


def _swap(kinds: str, steps: str, length: int) -> None:
    with op.batch_alter_table('disbursement_entries', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_disbursement_entries_kind_known'), type_='check')
        batch_op.drop_constraint(op.f('ck_disbursement_entries_step_known'), type_='check')
        for column in ('step', 'kind'):
            batch_op.alter_column(
                column, type_=sa.String(length=length), existing_nullable=False
            )
        batch_op.create_check_constraint('kind_known', kinds)
        batch_op.create_check_constraint('step_known', steps)


def upgrade() -> None:
    _swap(NEW_KINDS, NEW_STEPS, 20)


def downgrade() -> None:
    _swap(OLD_KINDS, OLD_STEPS, 10)
