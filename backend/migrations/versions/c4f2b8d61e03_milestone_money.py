"""milestone_money: running totals per milestone for the finance summary, backfilled from the ledger

Revision ID: c4f2b8d61e03
Revises: a7c3e91d5f20
Create Date: 2026-12-02 10:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = "c4f2b8d61e03"
down_revision = "a7c3e91d5f20"
branch_labels = None
depends_on = None

# Same buckets as backend.funding.totals: 待审批 = no approval and not closed, 已审批待拨付 =
# approved and not closed (closed: rejected, paid or reversed); paid = sum of paid deltas.
BACKFILL = """
INSERT INTO milestone_money (milestone_id, agreement_id, requested_fen, approved_fen, paid_fen)
SELECT d.milestone_id, min(d.agreement_id),
       sum(CASE WHEN coalesce(e.approved, 0) = 0 AND coalesce(e.closed, 0) = 0 THEN d.amount_fen ELSE 0 END),
       sum(CASE WHEN coalesce(e.approved, 0) = 1 AND coalesce(e.closed, 0) = 0 THEN d.amount_fen ELSE 0 END),
       sum(coalesce(e.paid_fen, 0))
FROM disbursements d LEFT JOIN (
    SELECT disbursement_id,
           max(CASE WHEN kind = 'approved' THEN 1 ELSE 0 END) AS approved,
           max(CASE WHEN kind IN ('rejected', 'paid', 'reversed') THEN 1 ELSE 0 END) AS closed,
           sum(paid_delta_fen) AS paid_fen
    FROM disbursement_entries GROUP BY disbursement_id
) e ON e.disbursement_id = d.id
GROUP BY d.milestone_id
"""


def upgrade() -> None:
    op.create_table(
        "milestone_money",
        sa.Column("milestone_id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("requested_fen", sa.BigInteger(), nullable=False),
        sa.Column("approved_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_milestone_money_agreement_id_agreements"),
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["agreement_milestones.id"],
            name=op.f("fk_milestone_money_milestone_id_agreement_milestones"),
        ),
        sa.PrimaryKeyConstraint("milestone_id", name=op.f("pk_milestone_money")),
    )
    with op.batch_alter_table("milestone_money", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_milestone_money_agreement_id"), ["agreement_id"], unique=False
        )
    op.execute(BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("milestone_money", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_money_agreement_id"))
    op.drop_table("milestone_money")
