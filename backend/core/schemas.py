"""API shapes every domain shares: the error body and the ``responses=`` that document it, and
the time type of the read schemas (ISO 8601 text exactly as ``datetime.isoformat()`` writes it:
``2026-06-01T08:00:00.123456+00:00``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

IsoDateTime = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def omitted_when_none() -> Any:
    """A field that is left out of the JSON (not ``null``) when it has no value."""
    return Field(default=None, exclude_if=lambda value: value is None)


class ErrorBody(BaseModel):
    """The body of every error: a stable `code` for programs, a Chinese `message` for people and
    the failing `fields` (empty unless the input was at fault). Some errors add context, e.g.
    `difference_fen` or `limit_bytes`."""

    # What backend.core.errors.JingpinError.to_json writes, through the app's one handler.
    model_config = ConfigDict(extra="allow")

    code: str = Field(examples=["agreement_not_found"])
    message: str = Field(examples=["未找到该协议"])
    fields: dict[str, str] = Field(description="字段 → 错误说明", examples=[{}])


ERROR_DESCRIPTIONS = {
    401: "未登录或令牌无效（not_authenticated）",
    403: "角色无权执行此操作",
    404: "记录不存在或不在您的可见范围内",
    409: "当前状态不允许此操作",
    413: "文件过大",
    422: "提交的内容或参数未通过校验（fields 列出各项）",
    429: "失败次数过多，请稍后再试（Retry-After）",
    503: "服务繁忙，请稍后重试（Retry-After）",
}


def error_responses(
    *statuses: int, notes: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route's error statuses, all with the one error body; ``notes``
    replace the generic description where the route can say more."""
    notes = notes or {}
    return {
        status: {"model": ErrorBody, "description": notes.get(status, ERROR_DESCRIPTIONS[status])}
        for status in statuses
    }
