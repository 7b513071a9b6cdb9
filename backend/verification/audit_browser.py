"""Audit-log browser (审计日志查阅): filtered, paged, read-only queries over the hash chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.audit_log.checkpoints import AnchoredStatus, verify_anchored
from backend.audit_log.models import AuditEvent
from backend.auth.models import Role, User
from backend.core.errors import PermissionDenied
from backend.pki.service import system_signature_checker

READERS = (Role.auditor, Role.admin)
PAGE_SIZE = 50


def chain_status(session: Session) -> AnchoredStatus:
    """The chain checked against its signed checkpoints (what `jingpin audit verify` says)."""
    return verify_anchored(session, check=system_signature_checker())


def require_reader(user: User) -> None:
    if user.role not in READERS:
        raise PermissionDenied("仅审计人员和系统管理员可以查阅审计日志")


@dataclass
class AuditFilter:
    object_type: str | None = None
    object_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    page: int = 1
    page_size: int = PAGE_SIZE

    def conditions(self) -> list[Any]:
        out: list[Any] = []
        if self.object_type:
            out.append(AuditEvent.object_type == self.object_type)
        if self.object_id:
            out.append(AuditEvent.object_id == self.object_id)
        if self.actor:
            out.append(AuditEvent.actor == self.actor)
        if self.action:
            out.append(col(AuditEvent.action).startswith(self.action))
        if self.since:
            out.append(col(AuditEvent.at) >= self.since)
        if self.until:
            out.append(col(AuditEvent.at) < self.until)
        return out


@dataclass
class AuditPage:
    events: list[AuditEvent]
    total: int
    page: int
    page_size: int
    filters: AuditFilter = field(default_factory=AuditFilter)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def search(session: Session, f: AuditFilter) -> AuditPage:
    conds = f.conditions()
    total = session.exec(select(func.count()).select_from(AuditEvent).where(*conds)).one()
    page = max(1, f.page)
    rows = session.exec(
        select(AuditEvent)
        .where(*conds)
        .order_by(col(AuditEvent.seq).desc())
        .offset((page - 1) * f.page_size)
        .limit(f.page_size)
    ).all()
    return AuditPage(list(rows), int(total), page, f.page_size, f)


def object_types(session: Session) -> list[str]:
    return list(
        session.exec(
            select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)
        ).all()
    )
