"""三方协议 on the home page and in the menu: 待我签署 for the parties."""

from __future__ import annotations

from sqlmodel import Session

from backend.agreements import service as agreements
from backend.auth.models import Role, User
from backend.core.pages import Link, Section, Todo

READERS = (
    Role.producer,
    Role.unit_reviewer,
    Role.ministry_officer,
    Role.finance,
    Role.auditor,
    Role.admin,
)


def menu(user: User) -> list[Link]:
    return [Link("三方协议", "/agreements")] if user.role in READERS else []


def home_sections(session: Session, user: User) -> list[Section]:
    if user.role not in READERS:
        return []
    out = []
    if user.role is Role.ministry_officer:
        link = Link("协议签署", "/agreements", "与制作机构、推荐单位签订三方协议")
        out.append(Section("三方协议", [link]))
    pending = agreements.awaiting(session, user)
    links = [
        Link(
            f"待我签署（{len(pending)}）", "/agreements", "按乙方 → 丙方 → 甲方顺序在线签署三方协议"
        )
    ]
    links += [Link(f"签署：{a.number}", f"/agreements/{a.id}") for a in pending[:5]]
    return [*out, Section("三方协议", links, len(pending))]


def todos(session: Session, user: User) -> list[Todo]:
    if user.role not in READERS:
        return []
    out = [Todo("待我签署的协议", len(agreements.awaiting(session, user)), "/agreements")]
    if user.role is Role.ministry_officer:
        waiting = len(agreements.works_awaiting_agreement(session))
        out.append(Todo("待生成三方协议", waiting, "/agreements"))
    return out
