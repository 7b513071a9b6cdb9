"""Running money totals per milestone (``milestone_money``), kept in step with the ledger.

Each request and each ledger line adds its change with one atomic upsert
(``x = x + delta``), so two payments on one agreement committed at the same moment both count:
the row lock of the upsert serialises them, nothing is read-modify-written in Python.

The buckets follow the summary's definitions: a request is 待审批 while it has no approval and
is not closed (rejected, paid or reversed), 已审批待拨付 once approved and not closed.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from backend.funding.models import MilestoneMoney

T = MilestoneMoney.__table__  # type: ignore[attr-defined]
CLOSING = {"rejected", "paid", "reversed"}


def bucket(kinds: Iterable[str]) -> str | None:
    """``requested``, ``approved`` or None (closed) for a request with these ledger kinds."""
    seen = set(kinds)
    if seen & CLOSING:
        return None
    return "approved" if "approved" in seen else "requested"


def add(
    session: Session,
    *,
    milestone_id: int,
    agreement_id: int,
    requested_fen: int = 0,
    approved_fen: int = 0,
    paid_fen: int = 0,
) -> None:
    values = {
        "milestone_id": milestone_id,
        "agreement_id": agreement_id,
        "requested_fen": requested_fen,
        "approved_fen": approved_fen,
        "paid_fen": paid_fen,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(T).values(**values)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[T.c.milestone_id],
            set_={
                c: T.c[c] + stmt.excluded[c] for c in ("requested_fen", "approved_fen", "paid_fen")
            },
        )
    )


def entry_added(
    session: Session,
    *,
    milestone_id: int,
    agreement_id: int,
    amount_fen: int,
    kinds_before: Iterable[str],
    kind: str,
    paid_delta_fen: int,
) -> None:
    """Apply one new ledger line of a request (its earlier kinds given) to the totals."""
    before = list(kinds_before)
    old, new = bucket(before), bucket([*before, kind])
    delta = {"requested_fen": 0, "approved_fen": 0}
    if old:
        delta[f"{old}_fen"] -= amount_fen
    if new:
        delta[f"{new}_fen"] += amount_fen
    if old == new and not paid_delta_fen:
        return
    add(
        session,
        milestone_id=milestone_id,
        agreement_id=agreement_id,
        paid_fen=paid_delta_fen,
        **delta,
    )
