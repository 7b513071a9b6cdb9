"""The workflow on each role's home page and in the menu: notifications, applications, reviews,
batches."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.auth.models import Role, User
from backend.core.pages import Link, Section, Todo
from backend.workflow import notifications as notes
from backend.workflow.experts import expert_tasks
from backend.workflow.unit_review import count_unit_pending
from backend.works.models import Work, WorkStatus


def menu(user: User) -> list[Link]:
    links = {
        Role.producer: [Link("申报", "/applications")],
        Role.unit_reviewer: [Link("初评与推荐", "/reviews/unit")],
        Role.ministry_officer: [Link("评审与入选", "/reviews/ministry")],
        Role.admin: [Link("批次", "/batches")],
    }.get(user.role, [])
    return links


def notifications_menu(user: User) -> list[Link]:
    return [Link("通知", "/notifications")]


def todos(session: Session, user: User) -> list[Todo]:
    out = [Todo("未读通知", notes.unread_count(session, user), "/notifications")]
    if user.role is Role.producer:
        returned = session.exec(
            select(func.count())
            .select_from(Work)
            .where(Work.organisation_id == user.organisation_id, Work.status == WorkStatus.returned)
        ).one()
        out.append(Todo("退回修改的申报", returned, "/applications?status=returned"))
    elif user.role is Role.unit_reviewer:
        out.append(Todo("待初评的申报", count_unit_pending(session, user), "/reviews/unit"))
    elif user.role is Role.ministry_officer:
        out.append(Todo("评审中的作品", _in_review(session), "/reviews/ministry"))
    elif user.role is Role.expert:
        out.append(Todo("待评分的作品", _open_expert_tasks(session, user), "/reviews/expert"))
    return out


def _in_review(session: Session) -> int:
    return session.exec(
        select(func.count())
        .select_from(Work)
        .where(
            col(Work.status).in_(
                [WorkStatus.recommended, WorkStatus.second_review, WorkStatus.final_review]
            )
        )
    ).one()


def _open_expert_tasks(session: Session, user: User) -> int:
    return sum(1 for t in expert_tasks(session, user) if t.open)


def home_sections(session: Session, user: User) -> list[Section]:
    out = [
        Section(
            "站内通知",
            [Link("查看通知", "/notifications", "需要您处理的事项")],
            notes.unread_count(session, user),
        )
    ]
    if user.role is Role.producer:
        out.append(
            Section(
                "申报与提交",
                [
                    Link(
                        "我的申报",
                        "/applications",
                        "上传签字盖章的申请书、承诺书，资格审查后提交推荐单位",
                    ),
                ],
            )
        )
    elif user.role is Role.unit_reviewer:
        out.append(
            Section(
                "初评队列",
                [
                    Link(
                        "待初评与待推荐",
                        "/reviews/unit",
                        "初评：通过 / 不通过 / 退回修改；在名额内推荐至总局",
                    ),
                ],
                count_unit_pending(session, user),
            )
        )
    elif user.role is Role.ministry_officer:
        reviewing = _in_review(session)
        out.append(
            Section(
                "复评、终评与公示",
                [
                    Link(
                        "评审汇总与排名",
                        "/reviews/ministry",
                        "分配专家、查看总分与排名、决定入选、公示与确认",
                    ),
                    Link("公开公示页面", "/public/notices", "无需登录即可访问"),
                ],
                reviewing,
            )
        )
    elif user.role is Role.expert:
        out.append(
            Section(
                "待评作品",
                [Link("评审任务", "/reviews/expert", "按公布的评分标准打分")],
                _open_expert_tasks(session, user),
            )
        )
    elif user.role is Role.admin:
        out.append(
            Section(
                "批次与名额",
                [
                    Link("评审批次", "/batches", "新建、修改批次；截止时间；批准推荐名额例外"),
                ],
            )
        )
    return out
