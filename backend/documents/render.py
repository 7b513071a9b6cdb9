"""Render the Word templates in templates/ with docxtpl (DOCX in, DOCX bytes out).

- Jinja runs with StrictUndefined: a missing or misspelled variable raises
  :class:`TemplateVariableError` naming it, never renders as an empty string.
- Autoescape is on, so user text with ``& < > "`` becomes well-formed XML.
- Output is deterministic: identical template + context give identical bytes (fixed core
  properties, fixed ZIP timestamps, stable entry order), so a document's sha256 is meaningful.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from datetime import datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate
from jinja2 import Environment, StrictUndefined, UndefinedError

from backend.core.errors import JingpinError, NotFound

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
FIXED_CORE_TIME = datetime(2026, 1, 1, 0, 0, 0)
RENDERED_BY = "jingpin"

# Documents the system issues about itself (the sealed verification report).
SYSTEM_TEMPLATE_NAMES = ("verification_report.docx",)
TEMPLATE_NAMES = (
    "application_form.docx",
    "copyright_pledge.docx",
    "agreement.docx",
    "progress_table.docx",
)


class TemplateVariableError(JingpinError):
    """A template uses a variable the context does not provide (模板变量缺失)."""

    status_code = 500
    code = "template_variable_missing"
    message = "文书模板变量缺失"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"文书模板变量缺失：{name}", extra={"variable": name})


def template_path(name: str) -> Path:
    if name not in TEMPLATE_NAMES and name not in SYSTEM_TEMPLATE_NAMES:
        raise NotFound(f"没有名为 {name} 的文书模板", code="template_not_found")
    return TEMPLATES_DIR / name


def template_sha256(name: str) -> str:
    """sha256 of the template file as committed (recorded with every rendered document)."""
    return hashlib.sha256(template_path(name).read_bytes()).hexdigest()


def _environment() -> Environment:
    return Environment(undefined=StrictUndefined, autoescape=True)  # noqa: S701 (XML autoescape)


@lru_cache(maxsize=16)
def _variables(name: str, sha: str) -> frozenset[str]:
    tpl = DocxTemplate(template_path(name))
    return frozenset(tpl.get_undeclared_template_variables(_environment()))


def template_variables(name: str) -> set[str]:
    """Top-level variables the template reads (docxtpl ``get_undeclared_template_variables``)."""
    return set(_variables(name, template_sha256(name)))


_UNDEFINED_PATTERNS = (
    re.compile(r"'([^']+)' is undefined"),
    re.compile(r"has no attribute '([^']+)'"),
    re.compile(r"has no element '?([^']+?)'?$"),
)


def _undefined_name(exc: UndefinedError) -> str:
    text = str(exc.message or exc)
    for pattern in _UNDEFINED_PATTERNS:
        m = pattern.search(text)
        if m:
            return m.group(1)
    return text


def render_docx(template_name: str, context: dict[str, Any]) -> bytes:
    """Render ``templates/<template_name>`` with ``context``; returns deterministic DOCX bytes."""
    tpl = DocxTemplate(template_path(template_name))
    try:
        tpl.render(context, jinja_env=_environment(), autoescape=True)
    except UndefinedError as exc:
        raise TemplateVariableError(_undefined_name(exc)) from exc
    core = tpl.docx.core_properties
    core.created = FIXED_CORE_TIME
    core.modified = FIXED_CORE_TIME
    core.last_printed = FIXED_CORE_TIME
    core.last_modified_by = RENDERED_BY
    core.revision = 1
    buf = BytesIO()
    tpl.save(buf)
    return normalise_package(buf.getvalue())


def _entry_order(name: str) -> tuple[int, str]:
    first = {"[Content_Types].xml": 0, "_rels/.rels": 1}
    return (first.get(name, 2), name)


def normalise_package(data: bytes, *, drop: tuple[str, ...] = ()) -> bytes:
    """Re-zip an OOXML package with fixed timestamps/attributes and a stable entry order."""
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        names = sorted((n for n in src.namelist() if n not in drop), key=_entry_order)
        for name in names:
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            dst.writestr(info, src.read(name), compresslevel=6)
    return out.getvalue()
