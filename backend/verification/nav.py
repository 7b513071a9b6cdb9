"""The auditor's workspace on the home page: works, signature verification, the audit log."""

from __future__ import annotations

from sqlmodel import Session

from backend.auth.models import Role, User
from backend.core.pages import Link, Section
from backend.works import service as works

VERIFY = Link("签名验证", "/verify", "上传任意PDF，核验电子签名，下载系统签章的验证报告")


def menu(user: User) -> list[Link]:
    return []


def home_sections(session: Session, user: User) -> list[Section]:
    if user.role is Role.auditor:
        links = [
            Link("作品与材料", "/works", "只读查阅全部作品与材料"),
            VERIFY,
            Link(
                "审计日志",
                "/audit",
                "按对象、操作人、操作、时间筛选；校验哈希链；导出签名的审计轨迹",
            ),
        ]
        return [Section("审计", links, works.count_works(session, user))]
    if user.role is Role.admin:
        links = [
            Link("作品总览", "/works", "查看全部作品"),
            Link("接口文档", "/api/docs", "OpenAPI 接口说明"),
            Link("审计日志", "/audit", "只读查阅审计日志与哈希链状态"),
            Link("签名验证", "/verify", "上传任意PDF，核验电子签名"),
        ]
        return [Section("系统管理", links, works.count_works(session, user))]
    return []
