"""Registry (文件登记簿): did jingpin issue or sign this exact file, and if not, does it build on one?

Every document version jingpin stores is a row in ``documents`` (sha256, SM3, size). For a
three-party agreement the PDF revisions form a chain: the prepared PDF (revision 0, three empty
signature fields), then one incremental revision per signature (乙方 → 丙方 → 甲方), recorded in
``agreement_signatures.revision_sha256``. A look-up says which document, agreement, version,
revision and party a hash belongs to, whether later revisions exist, and — when the file's bytes
are at hand — whether a known revision is a byte-prefix of it (a later incremental update that
jingpin did not make). Revision ends are found at each ``%%EOF`` marker, so the prefix check costs
one sha256 per revision of the file, not a scan of the table.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlmodel import Session, col, select

from backend.agreements.models import (
    SIGNING_ORDER,
    Agreement,
    AgreementSignature,
    AgreementStatus,
    Party,
)
from backend.documents.models import Document, DocumentFormat, DocumentKind, SubjectType
from backend.orgs.models import Organisation
from backend.works.models import Work

KIND_LABELS = {
    DocumentKind.application: "扶持项目申请书",
    DocumentKind.copyright_pledge: "版权承诺书",
    DocumentKind.agreement: "三方协议",
    DocumentKind.progress_table: "重点项目推进表",
    DocumentKind.verification_report: "验证报告",
    DocumentKind.upload: "上传文件",
}
_EOF = re.compile(rb"%%EOF[ \t]*(\r\n|\r|\n)?")
MAX_REVISION_ENDS = 200


def _revisions(session: Session, ag: Agreement) -> list[dict[str, Any]]:
    """The agreement's PDF revisions in order: 0 prepared, then one per signature."""
    out: list[dict[str, Any]] = []
    if ag.prepared_pdf_sha256:
        out.append(
            {
                "index": 0,
                "sha256": ag.prepared_pdf_sha256,
                "party": None,
                "label": "待签署版本（含三方签名域，尚无签名）",
                "signed_at": None,
                "organisation": None,
                "cert_serial": None,
            }
        )
    sigs = {
        s.party: s
        for s in session.exec(
            select(AgreementSignature).where(AgreementSignature.agreement_id == ag.id)
        ).all()
    }
    for party in SIGNING_ORDER:
        s = sigs.get(party.value)
        if s is None:
            continue
        org = session.get(Organisation, s.organisation_id)
        out.append(
            {
                "index": len(out),
                "sha256": s.revision_sha256,
                "party": party.value,
                "label": f"{Party(party).label}签署后的版本",
                "signed_at": s.signed_at.isoformat(),
                "organisation": org.name if org else None,
                "cert_serial": s.cert_serial,
            }
        )
    return out


def _agreement_info(session: Session, doc: Document) -> dict[str, Any] | None:
    if doc.subject_type != SubjectType.agreement or not doc.subject_id.isdigit():
        return None
    ag = session.get(Agreement, int(doc.subject_id))
    if ag is None:
        return None
    work = session.get(Work, ag.work_id)
    info: dict[str, Any] = {
        "id": ag.id,
        "number": ag.number,
        "version": ag.version,
        "work_id": ag.work_id,
        "work_title": work.title if work else None,
        "status": ag.status,
        "status_label": AgreementStatus(ag.status).label,
        "current_sha256": ag.current_pdf_sha256,
    }
    revisions = _revisions(session, ag)
    mine = next((r for r in revisions if r["sha256"] == doc.sha256), None)
    if mine is not None:
        later = [
            {"index": r["index"], "label": r["label"], "sha256": r["sha256"]}
            for r in revisions
            if r["index"] > mine["index"]
        ]
        info["revision"] = {
            **mine,
            "of": len(revisions) - 1,
            "current": doc.sha256 == ag.current_pdf_sha256,
            "later_revisions": later,
        }
    return info


def _describe(session: Session, doc: Document) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": doc.id,
        "kind": doc.kind,
        "kind_label": KIND_LABELS.get(DocumentKind(doc.kind), doc.kind),
        "subject_type": doc.subject_type,
        "subject_id": doc.subject_id,
        "format": doc.format,
        "size": doc.size,
        "sha256": doc.sha256,
        "sm3": doc.sm3,
        "created_at": doc.created_at.isoformat(),
    }
    agreement = _agreement_info(session, doc)
    if agreement is not None:
        entry["agreement"] = agreement
    return entry


def _docs(session: Session, sha256: str) -> list[Document]:
    return list(
        session.exec(
            select(Document).where(Document.sha256 == sha256).order_by(col(Document.id))
        ).all()
    )


def _message(status: str, documents: list[dict[str, Any]], extends: list[dict[str, Any]]) -> str:
    def name(entry: dict[str, Any]) -> str:
        ag = entry.get("agreement")
        if ag:
            rev = ag.get("revision")
            return f"三方协议 {ag['number']}（第{ag['version']}版）" + (
                f"的{rev['label']}" if rev else ""
            )
        return f"{entry['kind_label']}（文档 {entry['id']}）"

    if status == "issued":
        return "本系统签发或签署的文件：" + name(documents[0])
    if status == "earlier_revision":
        ag = documents[0]["agreement"]
        return (
            f"本系统签发的文件，但不是最新版本：{name(documents[0])}；"
            f"其后还有 {len(ag['revision']['later_revisions'])} 个签署版本"
        )
    if status == "extends_known":
        e = extends[0]
        return (
            f"该文件以本系统签发的{name(e)}为前缀，其后追加了 {e['appended_bytes']} 字节的增量更新，"
            "追加部分并非本系统签发"
        )
    return "本系统未登记此文件"


def _status(documents: list[dict[str, Any]], extends: list[dict[str, Any]]) -> str:
    if documents:
        rev = documents[0].get("agreement", {}).get("revision")
        return (
            "earlier_revision"
            if rev and not rev["current"] and rev["later_revisions"]
            else "issued"
        )
    return "extends_known" if extends else "unknown"


def lookup(session: Session, sha256: str) -> dict[str, Any]:
    """Look up one hash: ``known``, ``status`` (issued / earlier_revision / unknown), the documents."""
    documents = [_describe(session, d) for d in _docs(session, sha256)]
    status = _status(documents, [])
    return {
        "known": bool(documents),
        "sha256": sha256,
        "status": status,
        "message": _message(status, documents, []),
        "documents": documents,
        "extends": [],
    }


def revision_ends(data: bytes) -> list[int]:
    """Offsets just after each ``%%EOF`` (and its end-of-line), i.e. candidate revision ends."""
    ends: list[int] = []
    for m in _EOF.finditer(data):
        ends.append(m.end())
        if len(ends) >= MAX_REVISION_ENDS:
            break
    return ends


def lookup_file(session: Session, data: bytes, sha256: str | None = None) -> dict[str, Any]:
    """Look up a file: the exact hash, and else the known revisions that are a prefix of it."""
    sha256 = sha256 or hashlib.sha256(data).hexdigest()
    result = lookup(session, sha256)
    if result["known"]:
        return result
    extends: list[dict[str, Any]] = []
    seen: set[str] = set()
    for end in reversed(revision_ends(data)):
        if end >= len(data):
            continue
        prefix = hashlib.sha256(data[:end]).hexdigest()
        if prefix in seen:
            continue
        seen.add(prefix)
        for doc in _docs(session, prefix):
            if doc.format != DocumentFormat.pdf or doc.size != end:
                continue
            extends.append(_describe(session, doc) | {"appended_bytes": len(data) - end})
        if extends:
            break  # the longest known prefix is the informative one
    status = _status([], extends)
    return result | {"status": status, "message": _message(status, [], extends), "extends": extends}
