"""What each role can do, for its home page. Later domains add their own entries here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session

from backend.auth.models import Role, User
from backend.works import service as works


@dataclass
class Link:
    label: str
    href: str
    note: str = ""


@dataclass
class Section:
    title: str
    links: list[Link] = field(default_factory=list)
    count: int | None = None


def home_sections(session: Session, user: User) -> list[Section]:
    visible = len(works.list_works(session, user))
    by_role: dict[Role, list[Section]] = {
        Role.producer: [
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
        ],
        Role.unit_reviewer: [
            Section(
                "初评与推荐",
                [
                    Link(
                        "本单位收到的申报",
                        "/works",
                        "对辖区机构提交的作品进行初评，择优推荐（每批原则上不超过5部）",
                    ),
                ],
                visible,
            ),
            Section(
                "双周报送",
                [Link("重点项目推进表", "/progress-tables", "自6月起按月中、月末报送附件3")],
            ),
        ],
        Role.ministry_officer: [
            Section(
                "评审与入选",
                [
                    Link("各单位推荐作品", "/works", "组织复评、终评，确定入选作品并公示"),
                ],
                visible,
            ),
            Section(
                "三方协议", [Link("协议签署", "/agreements", "与制作机构、推荐单位签订三方协议")]
            ),
        ],
        Role.expert: [
            Section("评审任务", [Link("分配给我的作品", "/works", "仅显示分配给您的作品")])
        ],
        Role.finance: [
            Section(
                "资金拨付",
                [
                    Link(
                        "资金汇总与拨付台账",
                        "/finance",
                        "按推荐单位、批次汇总；按协议节点申请、复核、拨付扶持资金",
                    ),
                    Link("导出 Excel", "/finance/export.xlsx", "拨付台账与汇总表（金额：元）"),
                ],
                visible,
            )
        ],
        Role.auditor: [
            Section(
                "审计",
                [
                    Link("作品与材料", "/works", "只读查阅全部作品与材料"),
                    Link(
                        "签名验证", "/verify", "上传任意PDF，核验电子签名，下载系统签章的验证报告"
                    ),
                    Link(
                        "审计日志",
                        "/audit",
                        "按对象、操作人、操作、时间筛选；校验哈希链；导出签名的审计轨迹",
                    ),
                ],
                visible,
            )
        ],
        Role.admin: [
            Section(
                "系统管理",
                [
                    Link("作品总览", "/works", "查看全部作品"),
                    Link("接口文档", "/api/docs", "OpenAPI 接口说明"),
                    Link("审计日志", "/audit", "只读查阅审计日志与哈希链状态"),
                    Link("签名验证", "/verify", "上传任意PDF，核验电子签名"),
                ],
                visible,
            )
        ],
    }
    from backend.workflow.home import workflow_sections

    return (
        filing_sections(session, user)
        + by_role.get(user.role, [])
        + workflow_sections(session, user)
        + agreement_sections(session, user)
        + finance_sections(user)
    )


def filing_sections(session: Session, user: User, today: date | None = None) -> list[Section]:
    """推进表报送: a unit's reminder when a half-month's table is due or late."""
    from backend.core.dates import today_shanghai
    from backend.funding import filings

    if user.role == Role.ministry_officer:
        return [
            Section(
                "推进表报送",
                [
                    Link(
                        "各单位报送情况",
                        "/progress-filings",
                        "按半月查看各推荐单位是否已报送推进表",
                    )
                ],
            )
        ]
    unit = filings.own_unit(session, user)
    if unit is None:
        return []
    due = filings.reminders(session, unit, today or today_shanghai())
    links = [Link(r.text, "/progress-filings", "逾期" if r.late else "待报送") for r in due[:5]]
    links.append(Link("推进表报送", "/progress-filings", "自6月起每半月（月中、月末）报送附件3"))
    return [Section("推进表报送提醒" if due else "推进表报送", links, len(due))]


def finance_sections(user: User) -> list[Section]:
    if user.role not in (Role.ministry_officer, Role.auditor, Role.admin):
        return []
    return [
        Section(
            "资金拨付",
            [Link("资金汇总", "/finance", "各推荐单位、各批次扶持资金拨付情况与资金轨迹")],
        )
    ]


def agreement_sections(session: Session, user: User) -> list[Section]:
    """三方协议: 待我签署 for the parties, the list for everyone who may see agreements."""
    from backend.agreements import service as agreements

    if user.role not in (
        Role.producer,
        Role.unit_reviewer,
        Role.ministry_officer,
        Role.finance,
        Role.auditor,
        Role.admin,
    ):
        return []
    pending = agreements.awaiting(session, user)
    links = [
        Link(
            f"待我签署（{len(pending)}）", "/agreements", "按乙方 → 丙方 → 甲方顺序在线签署三方协议"
        )
    ]
    links += [Link(f"签署：{a.number}", f"/agreements/{a.id}") for a in pending[:5]]
    return [Section("三方协议", links, len(pending))]
