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
from typing import Any, Literal

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
from backend.verification.schemas import (
    LaterRevision,
    RegistryAgreement,
    RegistryDocument,
    RegistryEntry,
    RegistryExtension,
    RegistryRevision,
)
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


def _revisions(session: Session, ag: Agreement) -> list[RegistryRevision]:
    """The agreement's PDF revisions in order: 0 prepared, then one per signature."""
    found: list[dict[str, Any]] = []
    if ag.prepared_pdf_sha256:
        found.append(
            dict(
                sha256=ag.prepared_pdf_sha256,
                party=None,
                label="待签署版本（含三方签名域，尚无签名）",
                signed_at=None,
                organisation=None,
                cert_serial=None,
            )
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
        found.append(
            dict(
                sha256=s.revision_sha256,
                party=party,
                label=f"{Party(party).label}签署后的版本",
                signed_at=s.signed_at,
                organisation=org.name if org else None,
                cert_serial=s.cert_serial,
            )
        )
    return [
        RegistryRevision(
            index=i,
            **r,
            of=len(found) - 1,
            current=r["sha256"] == ag.current_pdf_sha256,
            later_revisions=[
                LaterRevision(index=j, label=later["label"], sha256=later["sha256"])
                for j, later in enumerate(found)
                if j > i
            ],
        )
        for i, r in enumerate(found)
    ]


def _agreement_info(session: Session, doc: Document) -> RegistryAgreement | None:
    if doc.subject_type != SubjectType.agreement or not doc.subject_id.isdigit():
        return None
    ag = session.get(Agreement, int(doc.subject_id))
    if ag is None:
        return None
    work = session.get(Work, ag.work_id)
    return RegistryAgreement(
        id=ag.id or 0,
        number=ag.number,
        version=ag.version,
        work_id=ag.work_id,
        work_title=work.title if work else None,
        status=AgreementStatus(ag.status),
        status_label=AgreementStatus(ag.status).label,
        current_sha256=ag.current_pdf_sha256,
        revision=next((r for r in _revisions(session, ag) if r.sha256 == doc.sha256), None),
    )


def _describe(session: Session, doc: Document) -> RegistryDocument:
    return RegistryDocument(
        id=doc.id or 0,
        kind=DocumentKind(doc.kind),
        kind_label=KIND_LABELS.get(DocumentKind(doc.kind), doc.kind),
        subject_type=SubjectType(doc.subject_type),
        subject_id=doc.subject_id,
        format=DocumentFormat(doc.format),
        size=doc.size,
        sha256=doc.sha256,
        sm3=doc.sm3,
        created_at=doc.created_at,
        agreement=_agreement_info(session, doc),
    )


def _docs(session: Session, sha256: str) -> list[Document]:
    return list(
        session.exec(
            select(Document).where(Document.sha256 == sha256).order_by(col(Document.id))
        ).all()
    )


def _name(entry: RegistryDocument) -> str:
    ag = entry.agreement
    if ag:
        rev = ag.revision
        return f"三方协议 {ag.number}（第{ag.version}版）" + (f"的{rev.label}" if rev else "")
    return f"{entry.kind_label}（文档 {entry.id}）"


def _message(
    status: str, documents: list[RegistryDocument], extends: list[RegistryExtension]
) -> str:
    if status == "issued":
        return "本系统签发或签署的文件：" + _name(documents[0])
    if status == "earlier_revision":
        rev = documents[0].agreement.revision if documents[0].agreement else None
        later = len(rev.later_revisions) if rev else 0
        return (
            f"本系统签发的文件，但不是最新版本：{_name(documents[0])}；其后还有 {later} 个签署版本"
        )
    if status == "extends_known":
        e = extends[0]
        return (
            f"该文件以本系统签发的{_name(e)}为前缀，其后追加了 {e.appended_bytes} 字节的增量更新，"
            "追加部分并非本系统签发"
        )
    return "本系统未登记此文件"


RegistryStatus = Literal["issued", "earlier_revision", "extends_known", "unknown"]


def _status(documents: list[RegistryDocument], extends: list[RegistryExtension]) -> RegistryStatus:
    if documents:
        ag = documents[0].agreement
        rev = ag.revision if ag else None
        return "earlier_revision" if rev and not rev.current and rev.later_revisions else "issued"
    return "extends_known" if extends else "unknown"


def lookup(session: Session, sha256: str) -> RegistryEntry:
    """Look up one hash: ``known``, ``status`` (issued / earlier_revision / unknown), the documents."""
    documents = [_describe(session, d) for d in _docs(session, sha256)]
    status = _status(documents, [])
    return RegistryEntry(
        known=bool(documents),
        sha256=sha256,
        status=status,
        message=_message(status, documents, []),
        documents=documents,
        extends=[],
    )


def revision_ends(data: bytes) -> list[int]:
    """Offsets just after each ``%%EOF`` (and its end-of-line), i.e. candidate revision ends."""
    ends: list[int] = []
    for m in _EOF.finditer(data):
        ends.append(m.end())
        if len(ends) >= MAX_REVISION_ENDS:
            break
    return ends


def lookup_file(session: Session, data: bytes, sha256: str | None = None) -> RegistryEntry:
    """Look up a file: the exact hash, and else the known revisions that are a prefix of it."""
    sha256 = sha256 or hashlib.sha256(data).hexdigest()
    result = lookup(session, sha256)
    if result.known:
        return result
    extends: list[RegistryExtension] = []
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
            entry = dict(_describe(session, doc))
            extends.append(RegistryExtension(**entry, appended_bytes=len(data) - end))
        if extends:
            break  # the longest known prefix is the informative one
    status = _status([], extends)
    result.status, result.message = status, _message(status, [], extends)
    result.extends = extends
    return result
