"""Small input checks shared by the domains' services (the field errors are in Chinese)."""

from __future__ import annotations

from backend.core.errors import ValidationFailed


def required_text(value: str | None, field: str, label: str) -> str:
    """The stripped text, or a 422 naming the field: “请填写{label}”."""
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(f"请填写{label}", fields={field: f"请填写{label}"})
    return value
