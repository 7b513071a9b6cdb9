"""The account links every signed-in user has in the menu: 修改密码, 动态口令, and for the
admin 用户管理, 机构管理 and 忘记密码申请 with the number waiting (backend.web.admin_pages,
backend.pki.pages)."""

from __future__ import annotations

from sqlmodel import Session

from backend.auth.models import Role, User
from backend.auth.resets import open_count
from backend.core.pages import Link, Section, Todo


def _reset_link(count: int) -> Link:
    label = f"忘记密码申请（{count}）" if count else "忘记密码申请"
    return Link(label, "/admin/reset-requests", "用户忘记密码后提交的申请，核实身份后设置临时密码")


def menu(user: User) -> list[Link]:
    admin: list[Link] = []
    if user.role is Role.admin:  # the waiting count is a 待办 (todos) shown as the link's badge
        admin = [
            Link("用户管理", "/admin/users"),
            Link("机构管理", "/admin/organisations"),
            Link("忘记密码申请", "/admin/reset-requests"),
        ]
    return [*admin, Link("修改密码", "/account/password"), Link("动态口令", "/account/totp")]


def todos(session: Session, user: User) -> list[Todo]:
    if user.role is not Role.admin:
        return []
    return [Todo("待处理的忘记密码申请", open_count(session), "/admin/reset-requests")]


def home_sections(session: Session, user: User) -> list[Section]:
    if user.role is not Role.admin:
        return []
    waiting = open_count(session)
    links = [
        Link("用户管理", "/admin/users", "新建用户，调整角色和所属机构，停用账号，重置密码"),
        Link("机构管理", "/admin/organisations", "各机构的印章证书：签发、续期、吊销，印章图片"),
        _reset_link(waiting),
    ]
    return [Section("系统管理", links, waiting or None)]
