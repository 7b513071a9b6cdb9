"""Context builders (文书数据): read the database, check completeness, format for the templates.

Each builder returns a flat ``dict`` whose keys are exactly the variables its template reads
(see templates/README.md). Before returning, it checks that everything the document needs is
present and raises :class:`backend.core.errors.ValidationFailed` listing EVERY missing field at once,
``fields={"filing_number": "规划立项备案号未填写", ...}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlmodel import Session

from backend.core.dates import HalfMonth, date_zh, today_shanghai
from backend.core.errors import ValidationFailed
from backend.core.money import capitals, format_fen, format_fen_plain
from backend.orgs.models import Organisation, RecommendingUnit
from backend.works.models import Batch, Direction, Work

APPLICATION_TEMPLATE = "application_form.docx"
PLEDGE_TEMPLATE = "copyright_pledge.docx"
AGREEMENT_TEMPLATE = "agreement.docx"
PROGRESS_TEMPLATE = "progress_table.docx"

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # keeps \t and \n

ORG_FIELDS = {
    "name": "申报单位名称未填写",
    "uscc": "统一社会信用代码未填写",
    "address": "单位地址未填写",
    "legal_representative": "法定代表人未填写",
    "contact_name": "联系人未填写",
    "contact_phone": "联系电话未填写",
    "contact_email": "电子邮箱未填写",
}
WORK_FIELDS = {
    "title": "作品名称未填写",
    "genre": "题材类型未填写",
    "synopsis": "内容简介未填写",
    "filing_number": "规划立项备案号未填写",
    "director": "导演未填写",
    "screenwriter": "编剧未填写",
    "producer_name": "制片人未填写",
    "schedule": "创作计划及进度安排未填写",
    "planned_start": "计划开机时间未填写",
    "planned_completion": "计划完成时间未填写",
    "batch_id": "申报批次未选择",
}
PLEDGE_WORK_FIELDS = ("title", "filing_number", "batch_id")
PLEDGE_ORG_FIELDS = ("name", "uscc")
AGREEMENT_WORK_FIELDS = ("title", "genre", "filing_number", "planned_completion", "batch_id")
AGREEMENT_ORG_FIELDS = (
    "name",
    "uscc",
    "address",
    "legal_representative",
    "contact_name",
    "contact_phone",
)


def text(value: Any) -> str:
    """User text made safe for WordprocessingML: strip XML-illegal control characters and
    surrounding whitespace (autoescaping of ``& < > "`` happens in the renderer)."""
    if value is None:
        return ""
    return _CONTROL_CHARS.sub("", str(value)).replace("\r\n", "\n").replace("\r", "\n").strip()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _missing(
    obj: Any, checks: Mapping[str, str], names: Iterable[str] | None, prefix: str
) -> dict[str, str]:
    wanted = names if names is not None else checks.keys()
    return {f"{prefix}{name}": checks[name] for name in wanted if _blank(getattr(obj, name, None))}


def _raise_if(missing: dict[str, str], what: str) -> None:
    if missing:
        raise ValidationFailed(f"{what}所需信息不完整，请补充后再生成", fields=missing)


def _minutes(value: float) -> str:
    return f"{value:g}"


def _optional_date(d: date | None) -> str:
    return date_zh(d) if d else ""


def direction_short(direction: Direction) -> str:
    """Short label for narrow table cells: 培根铸魂 / 反映时代新气象 / …"""
    return direction.label.split("、")[0]


def _load(session: Session, model: type, id_: int | None) -> Any:
    return session.get(model, id_) if id_ is not None else None


def _work_parties(
    session: Session, work: Work
) -> tuple[Organisation | None, RecommendingUnit | None, Batch | None]:
    return (
        _load(session, Organisation, work.organisation_id),
        _load(session, RecommendingUnit, work.unit_id),
        _load(session, Batch, work.batch_id),
    )


def _work_common(work: Work, unit: RecommendingUnit | None, batch: Batch | None) -> dict[str, Any]:
    return {
        "work_title": text(work.title),
        "direction_label": work.direction.label,
        "genre": text(work.genre),
        "episodes": work.episodes,
        "minutes_per_episode": _minutes(work.minutes_per_episode),
        "filing_number": text(work.filing_number),
        "planned_completion": _optional_date(work.planned_completion),
        "unit_name": text(unit.name) if unit else "",
        "batch_label": batch.label if batch else "",
    }


def application_context(*, session: Session, work: Work) -> dict[str, Any]:
    """附件1 申请书 for ``work`` (its producer organisation, recommending unit and batch)."""
    org, unit, batch = _work_parties(session, work)
    missing = _missing(work, WORK_FIELDS, None, "")
    if org is None:
        missing["organisation_id"] = "申报单位不存在"
    else:
        missing |= _missing(org, ORG_FIELDS, None, "organisation.")
    if unit is None:
        missing["unit_id"] = "推荐单位未选择"
    if work.budget_fen <= 0:
        missing["budget_fen"] = "项目总预算未填写"
    if work.requested_fen <= 0:
        missing["requested_fen"] = "申请扶持资金未填写"
    elif work.requested_fen > work.budget_fen > 0:
        missing["requested_fen"] = "申请扶持资金不能超过项目总预算"
    if work.central_support_received and _blank(work.central_support_details):
        missing["central_support_details"] = "已获得中央财政资金扶持的，须说明扶持项目及金额"
    _raise_if(missing, "申请书")
    assert org is not None
    return _work_common(work, unit, batch) | {
        "org_name": text(org.name),
        "org_uscc": text(org.uscc),
        "org_address": text(org.address),
        "org_legal_rep": text(org.legal_representative),
        "contact_name": text(org.contact_name),
        "contact_phone": text(org.contact_phone),
        "contact_email": text(org.contact_email),
        "synopsis": text(work.synopsis),
        "originality_label": "原创" if work.is_original else "非原创",
        "online_status_label": "已上线播出" if work.is_online else "未上线播出",
        "schedule": text(work.schedule),
        "planned_start": _optional_date(work.planned_start),
        "director": text(work.director),
        "screenwriter": text(work.screenwriter),
        "producer_name": text(work.producer_name),
        "partner_platform": text(work.partner_platform) or "暂未确定",
        "budget_figures": format_fen(work.budget_fen),
        "budget_capitals": capitals(work.budget_fen),
        "requested_figures": format_fen(work.requested_fen),
        "requested_capitals": capitals(work.requested_fen),
        "central_support_label": "是" if work.central_support_received else "否",
        "central_support_details": text(work.central_support_details) or "无",
    }


def pledge_context(*, session: Session, work: Work) -> dict[str, Any]:
    """附件2 版权承诺书 for ``work``."""
    org, unit, batch = _work_parties(session, work)
    missing = _missing(work, WORK_FIELDS, PLEDGE_WORK_FIELDS, "")
    if org is None:
        missing["organisation_id"] = "申报单位不存在"
    else:
        missing |= _missing(org, ORG_FIELDS, PLEDGE_ORG_FIELDS, "organisation.")
    if unit is None:
        missing["unit_id"] = "推荐单位未选择"
    _raise_if(missing, "版权承诺书")
    assert org is not None
    common = _work_common(work, unit, batch)
    keys = ("work_title", "filing_number", "episodes", "unit_name", "batch_label")
    return {k: common[k] for k in keys} | {"org_name": text(org.name), "org_uscc": text(org.uscc)}


def _get(item: Any, key: str) -> Any:
    if isinstance(item, Mapping):
        return item.get(key)
    return getattr(item, key, None)


def _contact(name: str, phone: str) -> str:
    return "　".join(part for part in (text(name), text(phone)) if part)


def agreement_context(
    *,
    session: Session,
    work: Work,
    producer: Organisation,
    unit: RecommendingUnit,
    grant_fen: int,
    milestones: Sequence[Any],
    agreement_number: str,
    version: int,
    issued_on: date,
    unit_org: Organisation | None = None,
) -> dict[str, Any]:
    """三方协议: 甲方 总局, 乙方 ``producer``, 丙方 ``unit`` (with its own organisation record
    ``unit_org`` for address and contact, when there is one).

    ``milestones`` are objects or dicts with ``name``, ``amount_fen``, ``condition`` (label such as
    三方签署完成 / 中期检查通过 / 审核验收通过) and ``planned_date`` (date or None). A zero grant
    (central-finance support received elsewhere) renders the 不再发放扶持资金 clause instead.
    """
    batch = _load(session, Batch, work.batch_id)
    missing = _missing(work, WORK_FIELDS, AGREEMENT_WORK_FIELDS, "")
    missing |= _missing(producer, ORG_FIELDS, AGREEMENT_ORG_FIELDS, "producer.")
    if _blank(agreement_number):
        missing["agreement_number"] = "协议编号未生成"
    if not isinstance(version, int) or version < 1:
        missing["version"] = "协议版本号无效"
    if issued_on is None:
        missing["issued_on"] = "协议生成日期未填写"
    if not isinstance(grant_fen, int) or isinstance(grant_fen, bool) or grant_fen < 0:
        missing["grant_fen"] = "扶持资金金额无效"
        grant_fen = 0
    rows: list[dict[str, Any]] = []
    total = 0
    for i, m in enumerate(milestones, start=1):
        name, amount, condition = _get(m, "name"), _get(m, "amount_fen"), _get(m, "condition")
        planned = _get(m, "planned_date")
        if _blank(name):
            missing[f"milestones[{i - 1}].name"] = f"第{i}个付款节点名称未填写"
        if _blank(condition):
            missing[f"milestones[{i - 1}].condition"] = f"第{i}个付款节点拨付条件未填写"
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            missing[f"milestones[{i - 1}].amount_fen"] = f"第{i}个付款节点金额无效"
            amount = 0
        total += amount
        rows.append(
            {
                "index": i,
                "name": text(name),
                "amount_fen": amount,
                "amount_figures": format_fen_plain(amount),
                "amount_capitals": capitals(amount),
                "condition": text(condition),
                "planned_date": _optional_date(planned) if planned else "—",
            }
        )
    if grant_fen > 0 and not rows:
        missing["milestones"] = "扶持资金须至少设置一个付款节点"
    elif total != grant_fen:
        missing["milestones"] = (
            f"付款节点金额合计{format_fen(total)}与扶持资金{format_fen(grant_fen)}不一致"
        )
    if grant_fen == 0 and not work.central_support_received:
        missing["grant_fen"] = "仅已获得中央财政资金扶持的作品可不发放扶持资金"
    if grant_fen == 0 and _blank(work.central_support_details):
        missing["central_support_details"] = "已获得中央财政资金扶持的，须说明扶持项目及金额"
    _raise_if(missing, "三方协议")
    common = _work_common(work, unit, batch)
    common.pop("unit_name")
    return common | {
        "agreement_number": text(agreement_number),
        "version": version,
        "issue_date": date_zh(issued_on),
        "producer_org_name": text(producer.name),
        "producer_uscc": text(producer.uscc),
        "producer_address": text(producer.address),
        "producer_legal_rep": text(producer.legal_representative),
        "producer_contact": _contact(producer.contact_name, producer.contact_phone),
        "unit_name": text(unit.name),
        "unit_address": text(unit_org.address) if unit_org and unit_org.address else "—",
        "unit_contact": (
            _contact(unit_org.contact_name, unit_org.contact_phone) if unit_org else ""
        )
        or "—",
        "has_grant": grant_fen > 0,
        "grant_figures": format_fen(grant_fen),
        "grant_capitals": capitals(grant_fen),
        "central_support_details": text(work.central_support_details) or "无",
        "milestones": rows,
    }


def progress_context(
    *,
    session: Session,
    unit: RecommendingUnit,
    year: int,
    month: int,
    half: int,
    rows: Sequence[Mapping[str, Any]],
    filed_on: date | None = None,
) -> dict[str, Any]:
    """附件3 推进表 for one unit and one half-month.

    ``rows`` are plain dicts: ``title, producer, batch, direction, stage, progress, grant_fen,
    paid_fen, platform, broadcast_date (date|None), remarks`` (the funding tracker makes them:
    backend.funding.progress.progress_rows).
    """
    try:
        period = HalfMonth(year, month, half)
    except ValueError:
        raise ValidationFailed("填报期间无效", fields={"period": "填报期间无效"}) from None
    missing: dict[str, str] = {}
    if _blank(unit.name):
        missing["unit.name"] = "填报单位名称未填写"
    out_rows: list[dict[str, Any]] = []
    total_grant = total_paid = 0
    for i, row in enumerate(rows):
        n = i + 1
        for key, label in (("title", "作品名称"), ("producer", "制作机构"), ("stage", "当前阶段")):
            if _blank(row.get(key)):
                missing[f"rows[{i}].{key}"] = f"第{n}行{label}未填写"
        grant, paid = row.get("grant_fen", 0) or 0, row.get("paid_fen", 0) or 0
        for key, amount in (("grant_fen", grant), ("paid_fen", paid)):
            if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
                missing[f"rows[{i}].{key}"] = f"第{n}行金额无效"
        if not missing.get(f"rows[{i}].paid_fen") and isinstance(grant, int) and paid > grant:
            missing[f"rows[{i}].paid_fen"] = f"第{n}行已拨付金额超过扶持资金"
        if any(k.startswith(f"rows[{i}].") and k.endswith("_fen") for k in missing):
            grant = paid = 0
        total_grant += grant
        total_paid += paid
        platform = text(row.get("platform"))
        when = row.get("broadcast_date")
        broadcast = "，".join(p for p in (platform, date_zh(when) if when else "") if p)
        out_rows.append(
            {
                "index": n,
                "title": text(row.get("title")),
                "producer": text(row.get("producer")),
                "batch": text(row.get("batch")),
                "direction": text(row.get("direction")),
                "stage": text(row.get("stage")),
                "progress": text(row.get("progress")) or "—",
                "grant_fen": grant,
                "paid_fen": paid,
                "grant_figures": format_fen_plain(grant),
                "paid_figures": format_fen_plain(paid),
                "platform": platform,
                "broadcast_date": when,
                "broadcast": broadcast or "未上线",
                "remarks": text(row.get("remarks")),
            }
        )
    _raise_if(missing, "推进表")
    filed = filed_on or today_shanghai()
    return {
        "unit_name": text(unit.name),
        "period_label": period.label,
        "period_start": date_zh(period.start),
        "period_end": date_zh(period.end),
        "filing_date": date_zh(filed),
        "rows": out_rows,
        "row_count": len(out_rows),
        "total_grant_figures": format_fen_plain(total_grant),
        "total_paid_figures": format_fen_plain(total_paid),
    }
