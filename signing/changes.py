"""What changed after a signature (签名后的修改), in domain terms and in Chinese, computed from
the PDF's revisions — the signed revision against the current one — not from pyHanko's messages.

Expected later changes are not reported: a later signature filling its own (pre-existing)
signature field and widget, validation data (DSS) and document timestamps. Everything else is:
pages added or removed, page content replaced or appended, annotations added or changed
(type and position), form fields changed, fonts or resources changed, and objects overwritten
that none of these explain.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

__all__ = ["ChangeKind", "Change", "changes_after", "describe_changes"]

MAX_PAGES = 2000  # a page tree walk is bounded like the rest of the verifier


class ChangeKind(enum.StrEnum):
    PAGE_ADDED = "page_added"
    PAGE_REMOVED = "page_removed"
    CONTENT_REPLACED = "content_replaced"
    CONTENT_ADDED = "content_added"
    ANNOTATION_ADDED = "annotation_added"
    ANNOTATION_CHANGED = "annotation_changed"
    ANNOTATION_REMOVED = "annotation_removed"
    FIELD_CHANGED = "field_changed"
    RESOURCES_CHANGED = "resources_changed"
    OBJECTS_REPLACED = "objects_replaced"


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    text: str  # one line in Chinese for people
    page: int | None = None  # 1-based
    x: float | None = None  # lower-left corner in PDF points, for annotations
    y: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "text": self.text,
            "page": self.page,
            "x": self.x,
            "y": self.y,
        }


ANNOT_ZH = {
    "/Text": "便签",
    "/FreeText": "文字框",
    "/Square": "方框",
    "/Circle": "圆框",
    "/Line": "直线",
    "/Ink": "手绘",
    "/Stamp": "图章",
    "/Highlight": "高亮",
    "/Link": "链接",
    "/Widget": "表单控件",
    "/FileAttachment": "附件",
    "/Popup": "弹出说明",
}


def _obj(value: Any) -> Any:
    return value.get_object() if isinstance(value, generic.IndirectObject) else value


def _pages(root: Any) -> list[Any]:
    """(page dictionaries in order), walking /Kids with a visited set and a bound."""
    out: list[Any] = []
    seen: set[int] = set()

    def walk(node: Any) -> None:
        node = _obj(node)
        if not isinstance(node, generic.DictionaryObject) or id(node) in seen:
            return
        seen.add(id(node))
        if len(out) >= MAX_PAGES:
            return
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            for kid in _obj(node.get("/Kids", generic.ArrayObject())):
                walk(kid)
        else:
            out.append(node)

    walk(root.get("/Pages"))
    return out


def _content_bytes(page: Any) -> bytes:
    contents = _obj(page.get("/Contents"))
    streams = contents if isinstance(contents, generic.ArrayObject) else [contents]
    data = b""
    for s in streams:
        s = _obj(s)
        if isinstance(s, generic.StreamObject):
            data += s.data + b"\n"
    return data


def _digest(value: Any, depth: int = 0) -> str:
    """A structural fingerprint of a PDF value (references followed a few levels deep)."""
    value = _obj(value)
    if depth > 6:
        return "…"
    if isinstance(value, generic.StreamObject):
        return (
            "stream:"
            + hashlib.sha256(value.data).hexdigest()[:16]
            + _digest(
                generic.DictionaryObject({k: v for k, v in value.items() if k not in ("/Length",)}),
                depth + 1,
            )
        )
    if isinstance(value, generic.DictionaryObject):
        return (
            "{" + ",".join(f"{k}:{_digest(v, depth + 1)}" for k, v in sorted(value.items())) + "}"
        )
    if isinstance(value, generic.ArrayObject):
        return "[" + ",".join(_digest(v, depth + 1) for v in value) + "]"
    return repr(value)


def _annot_key(annot_ref: Any) -> Any:
    if isinstance(annot_ref, generic.IndirectObject):
        return ("ref", annot_ref.idnum)
    return ("direct", _digest(annot_ref))


def _annots(page: Any) -> dict[Any, Any]:
    annots = _obj(page.get("/Annots", generic.ArrayObject()))
    if not isinstance(annots, generic.ArrayObject):
        return {}
    return {_annot_key(a): _obj(a) for a in annots}


def _is_signature_widget(annot: Any) -> bool:
    return (
        annot.get("/FT") == "/Sig"
        or _obj(annot.get("/Parent", generic.NullObject())) is not None
        and (
            isinstance(_obj(annot.get("/Parent")), generic.DictionaryObject)
            and _obj(annot.get("/Parent")).get("/FT") == "/Sig"
        )
    )


def _rect(annot: Any) -> tuple[float | None, float | None]:
    try:
        rect = [float(v) for v in _obj(annot.get("/Rect"))]
        return min(rect[0], rect[2]), min(rect[1], rect[3])
    except Exception:
        return None, None


def _fields(root: Any) -> dict[str, tuple[str, str]]:
    """Terminal form fields by full name: (field type, fingerprint of its value)."""
    out: dict[str, tuple[str, str]] = {}
    form = _obj(root.get("/AcroForm"))
    if not isinstance(form, generic.DictionaryObject):
        return out
    seen: set[int] = set()

    def walk(node: Any, prefix: str, inherited_type: str) -> None:
        node = _obj(node)
        if not isinstance(node, generic.DictionaryObject) or id(node) in seen or len(seen) > 5000:
            return
        seen.add(id(node))
        name = str(node.get("/T", ""))
        full = f"{prefix}.{name}" if prefix and name else (name or prefix)
        ftype = str(node.get("/FT", inherited_type))
        kids = [k for k in _obj(node.get("/Kids", generic.ArrayObject())) if "/T" in _obj(k)]
        if kids:
            for kid in kids:
                walk(kid, full, ftype)
        else:
            out[full] = (ftype, _digest(node.get("/V", generic.NullObject())))

    for f in _obj(form.get("/Fields", generic.ArrayObject())):
        walk(f, "", "")
    return out


def changes_after(reader: PdfFileReader, revision: int) -> list[Change]:
    """Changes between ``revision`` (0-based, as signed) and the file's last revision."""
    last = reader.xrefs.total_revisions - 1
    if revision >= last:
        return []
    old = reader.get_historical_resolver(revision)
    new = reader.get_historical_resolver(last)
    old_root, new_root = old.root, new.root
    out: list[Change] = []
    old_pages, new_pages = _pages(old_root), _pages(new_root)
    for n in range(len(new_pages), len(old_pages)):
        out.append(Change(ChangeKind.PAGE_REMOVED, f"第 {n + 1} 页被删除", page=n + 1))
    for n in range(len(old_pages), len(new_pages)):
        out.append(Change(ChangeKind.PAGE_ADDED, f"增加了第 {n + 1} 页", page=n + 1))
    for n, (before, after) in enumerate(zip(old_pages, new_pages, strict=False), start=1):
        old_content, new_content = _content_bytes(before), _content_bytes(after)
        if old_content != new_content:
            if old_content and new_content.startswith(old_content.rstrip(b"\n")):
                out.append(Change(ChangeKind.CONTENT_ADDED, f"第 {n} 页增加了内容", page=n))
            else:
                out.append(Change(ChangeKind.CONTENT_REPLACED, f"第 {n} 页的内容被替换", page=n))
        if _digest(before.get("/Resources")) != _digest(after.get("/Resources")):
            out.append(Change(ChangeKind.RESOURCES_CHANGED, f"第 {n} 页的字体或资源被修改", page=n))
        out.extend(_annotation_changes(n, _annots(before), _annots(after)))
    old_fields, new_fields = _fields(old_root), _fields(new_root)
    for name in sorted(set(old_fields) | set(new_fields)):
        a, b = old_fields.get(name), new_fields.get(name)
        if a == b or (b is not None and b[0] == "/Sig" and (a is None or a[0] == "/Sig")):
            continue  # a later signature filling its own field is expected
        out.append(Change(ChangeKind.FIELD_CHANGED, f"表单域“{name}”被修改", page=None))
    if not out:
        out.extend(_unexplained(reader, revision, last))
    return out


def _annotation_changes(page: int, before: dict[Any, Any], after: dict[Any, Any]) -> list[Change]:
    out = []
    for key, annot in after.items():
        subtype = str(annot.get("/Subtype", "/Annot"))
        label = ANNOT_ZH.get(subtype, subtype.lstrip("/"))
        x, y = _rect(annot)
        where = f"，位置 ({x:.0f}, {y:.0f})" if x is not None and y is not None else ""
        if key not in before:
            out.append(
                Change(
                    ChangeKind.ANNOTATION_ADDED,
                    f"第 {page} 页增加了“{label}”注释{where}",
                    page=page,
                    x=x,
                    y=y,
                )
            )
        elif _is_signature_widget(annot):
            continue  # its appearance changes when the field is signed
        elif _digest(before[key]) != _digest(annot):
            out.append(
                Change(
                    ChangeKind.ANNOTATION_CHANGED,
                    f"第 {page} 页的“{label}”注释被修改{where}",
                    page=page,
                    x=x,
                    y=y,
                )
            )
    for key, annot in before.items():
        if key not in after:
            subtype = str(annot.get("/Subtype", "/Annot"))
            label = ANNOT_ZH.get(subtype, subtype.lstrip("/"))
            out.append(
                Change(ChangeKind.ANNOTATION_REMOVED, f"第 {page} 页删除了“{label}”注释", page=page)
            )
    return out


_INFO_KEYS = {
    "/Title",
    "/Author",
    "/Subject",
    "/Keywords",
    "/Creator",
    "/Producer",
    "/CreationDate",
    "/ModDate",
    "/Trapped",
}
_EXPECTED_TYPES = {"/Sig", "/DocTimeStamp", "/XRef", "/ObjStm", "/Catalog", "/AcroForm"}


def _unexplained(reader: PdfFileReader, revision: int, last: int) -> list[Change]:
    """Objects that existed at signing and were overwritten later, not of a kind later
    signatures and validation data write (signature values, fields, DSS, the catalog)."""
    old = reader.get_historical_resolver(revision)
    replaced = []
    for rev in range(revision + 1, last + 1):
        for ref in reader.xrefs.explicit_refs_in_revision(rev):
            try:
                before = old.get_object(ref)
            except Exception:  # noqa: S112 - did not exist when signed
                continue
            if isinstance(before, generic.NullObject):
                continue  # new in a later revision: not a replacement
            if isinstance(before, generic.StreamObject):
                if before.get("/Type") != "/Metadata":  # signing tools update the XMP
                    replaced.append(ref.idnum)
                continue
            if not isinstance(before, generic.DictionaryObject):
                continue
            if set(before) <= _INFO_KEYS:
                continue  # the document information dictionary (/ModDate, /Producer)
            if before.get("/Type") in _EXPECTED_TYPES or before.get("/FT") == "/Sig":
                continue
            if "/DSS" in before or before.get("/Subtype") == "/Widget" or "/Fields" in before:
                continue
            if before.get("/Type") in ("/Page", "/Pages", "/Annot"):
                continue  # compared above
            replaced.append(ref.idnum)
    if not replaced:
        return []
    ids = "、".join(str(i) for i in sorted(set(replaced))[:10])
    more = "等" if len(set(replaced)) > 10 else ""
    return [
        Change(
            ChangeKind.OBJECTS_REPLACED,
            f"签名后有 {len(set(replaced))} 个对象被替换且无法解释（对象号 {ids}{more}）",
        )
    ]


def describe_changes(changes: list[Change]) -> str | None:
    """One Chinese sentence for a report's ``modified_after``."""
    if not changes:
        return None
    return "；".join(c.text for c in changes)
