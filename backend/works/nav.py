"""Works (作品) on each role's home page and in the menu."""

from __future__ import annotations

from sqlmodel import Session

from backend.auth.models import Role, User
from backend.core.pages import Link, Section
from backend.works import service as works


def menu(user: User) -> list[Link]:
    if user.role is Role.expert:
        return [Link("评审任务", "/reviews/expert")]
    return [Link("作品", "/works")]


def home_sections(session: Session, user: User) -> list[Section]:
    if user.role not in (
        Role.producer,
        Role.unit_reviewer,
        Role.ministry_officer,
        Role.expert,
    ):
        return []
    visible = works.count_works(session, user)
    if user.role is Role.producer:
        return [
            Section(
                "我的作品",
                [
                    Link("作品列表", "/works", "查看本机构填报的全部作品及其状态"),
                    Link("填报新作品", "/works/new", "按《扶持项目申请书》（附件1）填写作品信息"),
                ],
                visible,
            ),
            Section(
                "申报材料",
                [Link("下载申请书与版权承诺书", "/works", "在作品详情页下载预填的附件1、附件2")],
            ),
        ]
    if user.role is Role.unit_reviewer:
        link = Link(
            "本单位收到的申报",
            "/works",
            "对辖区机构提交的作品进行初评，择优推荐（每批原则上不超过5部）",
        )
        return [Section("初评与推荐", [link], visible)]
    if user.role is Role.ministry_officer:
        link = Link("各单位推荐作品", "/works", "组织复评、终评，确定入选作品并公示")
        return [Section("评审与入选", [link], visible)]
    return [Section("评审任务", [Link("分配给我的作品", "/works", "仅显示分配给您的作品")])]
