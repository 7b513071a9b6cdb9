"""Works (作品): scoped reads, creation and edits by the producer that owns them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.core.db import utcnow
from backend.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from backend.core.listing import ListParams, Paged, contains, list_params, paginate
from backend.orgs.models import Organisation, RecommendingUnit
from backend.orgs.service import list_units, unit_by_code
from backend.works.models import Batch, Work, WorkStatus
from backend.works.schemas import WorkCreate, WorkFields, WorkRead, WorkUpdate

EDITABLE = {WorkStatus.draft, WorkStatus.returned}
# Roles that see every work once it has left the producer's drafts.
OVERSEERS = {Role.ministry_officer, Role.finance, Role.auditor}

# Scopes that a higher domain defines for a role works itself knows nothing about (评审专家 see
# the works assigned to them: backend.workflow.hooks registers it). Filled at start-up.
ScopeRule = Callable[[Session, User], ColumnElement[bool] | None]
ROLE_SCOPES: dict[Role, ScopeRule] = {}


def scope_clause(session: Session, user: User) -> ColumnElement[bool] | None:
    """The works a user may see; None = none at all."""
    if user.role is Role.admin:
        return col(Work.id).is_not(None)
    if user.role is Role.producer:
        return col(Work.organisation_id) == user.organisation_id
    if user.role is Role.unit_reviewer:
        org = session.get(Organisation, user.organisation_id)
        if org is None or org.unit_id is None:
            return None
        return (col(Work.unit_id) == org.unit_id) & (col(Work.status) != WorkStatus.draft)
    if user.role in OVERSEERS:
        return col(Work.status) != WorkStatus.draft
    rule = ROLE_SCOPES.get(user.role)
    return rule(session, user) if rule else None


def list_works(session: Session, user: User) -> list[Work]:
    clause = scope_clause(session, user)
    if clause is None:
        return []
    return list(session.exec(select(Work).where(clause).order_by(col(Work.id).desc())))


WORK_FILTERS = ("batch", "unit", "status")
WORK_SORTS = {
    "created": col(Work.id),
    "title": col(Work.title),
    "requested": col(Work.requested_fen),
    "status": col(Work.status),
}


def work_list_params(query: Any) -> ListParams:
    return list_params(query, filters=WORK_FILTERS, sorts=tuple(WORK_SORTS), default_sort="created")


def _works_query(session: Session, user: User, params: ListParams) -> Any:
    """The works a user may see, narrowed by batch, unit and status, searched in the title and
    the producing organisation's name (None: the user sees no works at all)."""
    clause = scope_clause(session, user)
    if clause is None:
        return None
    query = select(Work).where(clause)
    if (batch := params.filter_int("batch")) is not None:
        query = query.where(Work.batch_id == batch)
    if (unit := params.filter_int("unit")) is not None:
        query = query.where(Work.unit_id == unit)
    if params.filters.get("status") in STATUS_VALUES:
        query = query.where(col(Work.status) == params.filters["status"])
    if params.q:
        orgs = select(Organisation.id).where(contains(Organisation.name, params.q))
        query = query.where(contains(Work.title, params.q) | col(Work.organisation_id).in_(orgs))
    return query


def search_works(session: Session, user: User, params: ListParams) -> Paged[Work]:
    """One page of the list (作品列表, 我的申报)."""
    query = _works_query(session, user, params)
    if query is None:
        return Paged([], 0, params)
    return paginate(session, query, params, WORK_SORTS, col(Work.id))


def matching_works(session: Session, user: User, params: ListParams) -> list[Work]:
    """Every work the list would show across its pages, in its order (作品清单 export)."""
    query = _works_query(session, user, params)
    if query is None:
        return []
    column = WORK_SORTS.get(params.sort, col(Work.id))
    tie = col(Work.id).desc() if params.desc else col(Work.id).asc()
    order = [column.desc() if params.desc else column.asc(), tie]
    return list(session.exec(query.order_by(*order)).all())


STATUS_VALUES = {s.value for s in WorkStatus}


def list_filters(session: Session, user: User) -> list[tuple[str, str, list[tuple[Any, str]]]]:
    """The list's pickers: batch, unit (not for a unit or a producer: theirs is fixed), status."""
    selects: list[tuple[str, str, list[tuple[Any, str]]]] = [
        ("batch", "批次", [(b.id, b.label) for b in list_batches(session)])
    ]
    if user.role not in (Role.producer, Role.unit_reviewer):
        selects.append(("unit", "推荐单位", [(u.id, u.name) for u in list_units(session)]))
    selects.append(("status", "状态", [(s.value, s.label) for s in WorkStatus]))
    return selects


def list_batches(session: Session) -> list[Batch]:
    """Every batch, the newest year first (within a year in order: 第1批, 第2批, …)."""
    return list(session.exec(select(Batch).order_by(col(Batch.year).desc(), col(Batch.number))))


def count_works(session: Session, user: User) -> int:
    clause = scope_clause(session, user)
    if clause is None:
        return 0
    return session.exec(select(func.count()).select_from(Work).where(clause)).one()


def get_work(session: Session, user: User, work_id: int, *, for_update: bool = False) -> Work:
    """404 for anything outside the user's scope, so strangers cannot learn it exists."""
    clause = scope_clause(session, user)
    if clause is None:
        raise NotFound("未找到该作品", code="work_not_found")
    query = select(Work).where(Work.id == work_id, clause)
    if for_update:
        query = query.with_for_update()
    work = session.exec(query).first()
    if work is None:
        raise NotFound("未找到该作品", code="work_not_found")
    return work


def _resolve_unit_and_batch(
    session: Session, org: Organisation, unit_code: str | None, batch_id: int | None
) -> tuple[int, int | None]:
    if unit_code:
        unit_id = unit_by_code(session, unit_code).id
    elif org.unit_id is not None:
        unit_id = org.unit_id
    else:
        raise ValidationFailed(fields={"unit_code": "请选择推荐单位"})
    if batch_id is not None and session.get(Batch, batch_id) is None:
        raise ValidationFailed(fields={"batch_id": "批次不存在"})
    assert unit_id is not None
    return unit_id, batch_id


def create_work(session: Session, user: User, data: WorkCreate) -> Work:
    if user.role is not Role.producer:
        raise PermissionDenied("只有节目制作机构可以填报作品")
    org = session.get(Organisation, user.organisation_id)
    assert org is not None and org.id is not None
    unit_id, batch_id = _resolve_unit_and_batch(session, org, data.unit_code, data.batch_id)
    fields = data.model_dump(exclude={"unit_code", "batch_id"})
    work = Work(
        **fields, organisation_id=org.id, unit_id=unit_id, batch_id=batch_id, created_by=user.id
    )
    session.add(work)
    session.flush()
    record(
        session,
        actor=user,
        action="work.create",
        object_type="work",
        object_id=work.id,
        payload={"title": work.title, **_jsonable(fields)},
    )
    return work


def update_work(session: Session, user: User, work_id: int, patch: WorkUpdate) -> Work:
    work = get_work(session, user, work_id, for_update=True)
    if user.role is not Role.producer:
        raise PermissionDenied("只有作品所属的节目制作机构可以修改作品")
    if work.status not in EDITABLE:
        raise Conflict(f"作品当前状态为“{work.status.label}”，不能修改", code="work_frozen")
    changes = patch.model_dump(exclude_unset=True)
    merged = {name: getattr(work, name) for name in WorkFields.model_fields if hasattr(work, name)}
    merged.update({k: v for k, v in changes.items() if k not in {"unit_code", "batch_id"}})
    try:
        checked = WorkFields.model_validate(merged)
    except ValidationError as exc:
        raise ValidationFailed(fields=fields_from_pydantic(exc.errors())) from exc
    org = session.get(Organisation, user.organisation_id)
    assert org is not None
    if "unit_code" in changes or "batch_id" in changes:
        work.unit_id, work.batch_id = _resolve_unit_and_batch(
            session, org, changes.get("unit_code"), changes.get("batch_id", work.batch_id)
        )
    for name, value in checked.model_dump(exclude={"unit_code", "batch_id"}).items():
        setattr(work, name, value)
    work.updated_at = utcnow()
    session.add(work)
    session.flush()
    record(
        session,
        actor=user,
        action="work.update",
        object_type="work",
        object_id=work.id,
        payload=_jsonable(changes),
    )
    return work


def to_read(session: Session, work: Work) -> WorkRead:
    org = session.get(Organisation, work.organisation_id)
    unit = session.get(RecommendingUnit, work.unit_id)
    assert org is not None and unit is not None
    return WorkRead(
        **work.model_dump(),
        organisation_name=org.name,
        unit_code=unit.code,
        unit_name=unit.name,
        status_label=work.status.label,
        direction_label=work.direction.label,
    )


FIELD_LABELS = {
    "title": "作品名称",
    "direction": "创作方向",
    "genre": "题材类型",
    "episodes": "集数",
    "minutes_per_episode": "单集时长（分钟）",
    "synopsis": "内容简介",
    "filing_number": "规划立项备案号",
    "budget_fen": "预算总额",
    "requested_fen": "申请扶持金额",
    "director": "导演",
    "screenwriter": "编剧",
    "producer_name": "制片人",
    "schedule": "制作计划",
    "planned_start": "计划开机日期",
    "planned_completion": "计划完成日期",
    "partner_platform": "合作播出平台",
    "unit_code": "推荐单位",
    "central_support_details": "其他中央财政资金扶持说明",
    "batch_id": "批次",
    "year": "年度",
    "number": "批次序号",
    "quota": "每单位推荐名额",
    "notice_days": "公示天数",
    "registration_deadline": "注册提交截止时间",
    "submission_deadline": "推荐报送截止时间",
    "reason": "理由",
}

_ERROR_ZH = {
    "missing": "必填",
    "string_too_long": "内容过长",
    "string_too_short": "不能为空",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "int_from_float": "须为整数（单位：分）",
    "float_parsing": "须为数字",
    "float_type": "须为数字",
    "greater_than": "须大于零",
    "greater_than_equal": "不能为负数",
    "less_than_equal": "超出允许范围",
    "enum": "不是可选的值",
    "bool_parsing": "须为是或否",
    "bool_type": "须为是或否",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "extra_forbidden": "不允许的字段",
    "string_type": "须为文本",
    "string_pattern_mismatch": "格式不正确",
}


def _bound_zh(kind: str, ctx: dict[str, Any]) -> str:
    """The limit a number broke, named (公示天数 0 → 须不小于 1, not a generic message)."""
    if kind == "greater_than" and "gt" in ctx:
        return f"须大于 {ctx['gt']}"
    if kind == "greater_than_equal" and "ge" in ctx:
        return "不能为负数" if ctx["ge"] == 0 else f"须不小于 {ctx['ge']}"
    if kind == "less_than_equal" and "le" in ctx:
        return f"须不大于 {ctx['le']}"
    if kind == "less_than" and "lt" in ctx:
        return f"须小于 {ctx['lt']}"
    if kind == "string_too_long" and "max_length" in ctx:
        return f"最多 {ctx['max_length']} 个字"
    return ""


def fields_from_pydantic(errors: list[Any]) -> dict[str, str]:
    """Pydantic errors → {field: 中文说明}; model-level errors go under "__all__"."""
    out: dict[str, str] = {}
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        name = loc[0] if loc else "__all__"
        label = FIELD_LABELS.get(name, "")
        bound = _bound_zh(err.get("type", ""), err.get("ctx") or {})
        if err.get("type") == "value_error":
            msg = str(err.get("msg", "")).removeprefix("Value error, ")
        elif bound:
            msg = bound
        else:
            msg = _ERROR_ZH.get(err.get("type", ""), "格式不正确")
        out.setdefault(name, f"{label}{msg}" if label and not msg.startswith(label) else msg)
    return out


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}
