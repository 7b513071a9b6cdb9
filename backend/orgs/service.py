"""Organisations and recommending units."""

from __future__ import annotations

from sqlmodel import Session, col, select
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as StdnumError

from backend.core.errors import NotFound, ValidationFailed
from backend.orgs.models import Organisation, OrgKind, RecommendingUnit


def normalise_uscc(value: str) -> str:
    """统一社会信用代码: 18 characters with a valid check digit (GB 32100-2015)."""
    try:
        return str(stdnum_uscc.validate(value))
    except StdnumError as exc:
        raise ValidationFailed(
            "统一社会信用代码无效", fields={"uscc": "统一社会信用代码无效（18 位，校验位须正确）"}
        ) from exc


def unit_by_code(session: Session, code: str) -> RecommendingUnit:
    unit = session.exec(select(RecommendingUnit).where(RecommendingUnit.code == code)).first()
    if unit is None:
        raise NotFound("未找到该推荐单位", code="unit_not_found")
    return unit


def list_units(session: Session) -> list[RecommendingUnit]:
    """Every recommending unit in reference order (provinces, 兵团, central units)."""
    return list(session.exec(select(RecommendingUnit).order_by(col(RecommendingUnit.id))))


def list_organisations(session: Session) -> list[Organisation]:
    """Every organisation, the ministry and units first (the admin's pickers and list)."""
    order = {OrgKind.ministry: 0, OrgKind.unit: 1, OrgKind.producer: 2}
    rows = list(session.exec(select(Organisation).order_by(col(Organisation.id))).all())
    return sorted(rows, key=lambda o: (order.get(OrgKind(o.kind), 3), o.id or 0))


def get_organisation(session: Session, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound("未找到该机构", code="organisation_not_found")
    return org


def unit_names(session: Session) -> dict[int, str]:
    """推荐单位 names by id (the organisation list's 所属推荐单位 column)."""
    return {u.id: u.name for u in list_units(session) if u.id is not None}
