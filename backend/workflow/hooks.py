"""What the workflow adds to lower domains (installed by backend.wiring): 评审专家 see the works
assigned to them, in any review round."""

from __future__ import annotations

from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from backend.auth.models import Role, User
from backend.workflow.models import ExpertAssignment
from backend.works.models import Work
from backend.works.service import ROLE_SCOPES


def _assigned_works(session: Session, user: User) -> ColumnElement[bool]:
    assigned = select(ExpertAssignment.work_id).where(ExpertAssignment.expert_id == user.id)
    return col(Work.id).in_(assigned)


def install() -> None:
    ROLE_SCOPES[Role.expert] = _assigned_works
