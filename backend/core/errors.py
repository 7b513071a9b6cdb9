"""One exception tree for the whole app. Each error carries its HTTP status and a stable code;
one handler (backend.app) turns it into JSON `{"code", "message", "fields"}` or a page."""

from __future__ import annotations

from typing import Any


class JingpinError(Exception):
    status_code = 400
    code = "bad_request"
    message = "请求有误"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.fields = fields or {}
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(self.message)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "fields": self.fields}
        body.update(self.extra)
        return body


class ValidationFailed(JingpinError):
    status_code = 422
    code = "validation_failed"
    message = "提交的内容未通过校验"


class NotAuthenticated(JingpinError):
    status_code = 401
    code = "not_authenticated"
    message = "请先登录"


class PermissionDenied(JingpinError):
    status_code = 403
    code = "forbidden"
    message = "您的角色无权执行此操作"


class PasswordChangeRequired(PermissionDenied):
    """The user signed in with a temporary password and must replace it first (pages redirect
    to 修改密码)."""

    code = "password_change_required"
    message = "您正在使用临时密码，请先修改密码后再继续"


class NotFound(JingpinError):
    status_code = 404
    code = "not_found"
    message = "未找到该记录"


class Conflict(JingpinError):
    status_code = 409
    code = "conflict"
    message = "当前状态不允许此操作"


class TooManyAttempts(JingpinError):
    status_code = 429
    code = "too_many_attempts"
    message = "失败次数过多，请稍后再试"


class ServiceBusy(JingpinError):
    status_code = 503
    code = "service_busy"
    message = "服务繁忙，请稍后重试"
