"""Online signing (在线签章) of the 申请书 and 版权承诺书: instead of uploading a sealed scan, the
producer signs the prefilled PDF with its organisation's seal (PAdES B-T, in-process TSA,
visible Chinese appearance over the signature block).

Three steps, so that no transaction is open while LibreOffice and pyHanko work:

1. :func:`begin_online_signing` (the request session): the work (404 before 403), the role, the
   state, a fresh password (``confirm_password``: wrong → 403, throttled → 429), the seal, and the
   rendered DOCX (with the PDF issued before from the same bytes, if any). Writes nothing.
2. The caller ends that read transaction, converts when needed (``pool.convert_async``), adds one
   signature field over the seal block of the last page and signs with pyHanko's async API.
3. :func:`finish_online_signing` (the request session again): DOCX, PDF and signed PDF recorded as
   documents (so the registry knows them), an audit event, then
   :func:`backend.workflow.service.mark_documents_signed`. The request commits once.

:func:`sign_online` runs the three steps for the API and the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from anyio import to_thread
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.service import confirm_password, require_role
from backend.core.errors import Conflict, ServiceBusy
from backend.documents import downloads
from backend.documents.converter import ConversionTimeout, ConverterPool
from backend.documents.downloads import Prepared
from backend.documents.models import DocumentFormat
from backend.documents.pdf_layout import last_page
from backend.orgs.models import Organisation
from backend.pki.service import (
    font_cache_dir,
    seal_picture,
    seal_signing,
    single_signature_algorithm,
    verify_bytes,
)
from backend.workflow import applications
from backend.workflow.models import ApplicationDocument, DocumentSlot
from backend.works.service import EDITABLE, get_work
from signing.appearance import SignatureAppearance
from signing.pades import FieldSpec, PadesLevel, SigningRequest, prepare, sign_pdf
from signing.verify import TOTAL_PASSED, describe_zh

FIELD_NAME = "producer_seal"
SEAL_LABEL = "（盖章）"  # 申报单位（盖章）/ 承诺单位（盖章）
MARGIN = 71.0  # the templates' left/right page margin, pt
GAP = 8.0  # pt between the block's text and the signature box
MIN_WIDTH = 150.0  # narrower than this, the appearance goes under the block instead of beside it
BELOW_HEIGHT = 80.0


# ------------------------------------------------------------------ where the seal goes


def seal_field(pdf: bytes) -> FieldSpec:
    """The signature field over the seal block of the last page: beside the block
    (申报单位（盖章）/ 法定代表人（签字）/ 日期) when there is room, else under it."""
    page = last_page(pdf)
    width = page.width
    label = page.find_label(SEAL_LABEL)
    if label is None:  # no label: the lower right of the last page, above the footer
        return FieldSpec(FIELD_NAME, page.index, (width - MARGIN - 220, 120, width - MARGIN, 200))
    after = page.lines[page.lines.index(label) :]
    block = [ln for ln in after if ln.top < label.top + 80 and ln.top >= label.top]
    top = label.top - GAP
    bottom = max(ln.bottom for ln in block) + GAP
    right_edge = width - MARGIN
    left = max(ln.x2 for ln in block) + GAP
    if right_edge - left >= MIN_WIDTH:
        x1, x2, y_top, y_bottom = left, right_edge, top, bottom
    else:
        x1, x2, y_top, y_bottom = (
            label.x1,
            min(label.x1 + 300, right_edge),
            bottom,
            bottom + BELOW_HEIGHT,
        )
    return FieldSpec(FIELD_NAME, page.index, page.pdf_box((x1, y_top, x2, y_bottom)))


# ------------------------------------------------------------------ the three steps


@dataclass
class OnlineSigningPlan:
    work_id: int
    slot: DocumentSlot
    prepared: Prepared
    request: SigningRequest
    organisation_id: int
    cert_serial: str


def begin_online_signing(
    session: Session, user: User, work_id: int, slot: DocumentSlot, password: str, address: str
) -> OnlineSigningPlan:
    work = get_work(session, user, work_id)  # 404 before 403
    require_role(user, Role.producer, message="只有作品所属的节目制作机构可以签署申报材料")
    if work.status not in EDITABLE:
        raise Conflict(f"作品当前状态为“{work.status.label}”，申报材料已冻结", code="work_frozen")
    confirm_password(session, user, password, address)  # 403 wrong_password, 429 throttled
    org = session.get(Organisation, work.organisation_id)
    assert org is not None
    seal = seal_signing(org, single_signature_algorithm(org))  # SM2 in the gm profile
    issued = seal.certificate
    prepared = downloads.prepare_work_document(
        session, work=work, doc_type=slot.url_name, fmt=DocumentFormat.pdf
    )
    request = SigningRequest(
        field=FIELD_NAME,
        signer=seal.signer,
        digest_algorithm=seal.digest_algorithm,
        level=PadesLevel.B_T,
        timestamper=seal.timestamper,
        certify=True,
        appearance=SignatureAppearance(
            organisation=org.name, signer_name=user.display_name, seal_png=seal_picture(org)
        ),
        font_cache_dir=font_cache_dir(),
        reason=f"{org.name}签署{slot.label}《{work.title}》",
        location="中国",
    )
    return OnlineSigningPlan(work.id or 0, slot, prepared, request, org.id or 0, issued.serial_hex)


def finish_online_signing(
    session: Session, user: User, plan: OnlineSigningPlan, pdf: bytes, signed: bytes
) -> ApplicationDocument:
    report = verify_bytes(signed)
    if report.indication != TOTAL_PASSED:
        raise Conflict(
            "签章后的文件未通过验证：" + "；".join(describe_zh(report)), code="verification_failed"
        )
    p = plan.prepared

    source = p.store(session, created_by=user.id)
    unsigned = p.store(
        session, created_by=user.id, fmt=DocumentFormat.pdf, data=pdf, source_sha256=source.sha256
    )
    doc = p.store(
        session,
        created_by=user.id,
        fmt=DocumentFormat.pdf,
        data=signed,
        source_sha256=unsigned.sha256,
    )
    record(
        session,
        actor=user,
        action="work.document.sign",
        object_type="work",
        object_id=plan.work_id,
        payload={
            "slot": plan.slot.value,
            "document_id": doc.id,
            "sha256": doc.sha256,
            "sm3": doc.sm3,
            "unsigned_sha256": unsigned.sha256,
            "organisation_id": plan.organisation_id,
            "cert_serial": plan.cert_serial,
            "level": str(plan.request.level),
        },
    )
    return applications.mark_documents_signed(
        session, user, plan.work_id, plan.slot, sha256=doc.sha256, document_id=doc.id
    )


async def sign_online(
    session: Session,
    user: User,
    work_id: int,
    slot: DocumentSlot,
    password: str,
    address: str,
    pool: ConverterPool,
) -> ApplicationDocument:
    """Steps 1–3 from an async endpoint: database work in the threadpool, the conversion in the
    pool's executor, the signature on the event loop (pyHanko's async API)."""
    plan = await to_thread.run_sync(
        begin_online_signing, session, user, work_id, slot, password, address
    )
    # Step 1 wrote nothing: end its transaction so that no lock is held while converting/signing.
    await to_thread.run_sync(session.rollback)
    pdf = plan.prepared.cached_pdf_bytes
    if pdf is None:
        try:
            pdf = await pool.convert_async(plan.prepared.source, source_format="docx")
        except (ServiceBusy, ConversionTimeout) as exc:
            raise downloads.conversion_unavailable(exc) from exc
    unsigned = pdf
    with_field = await to_thread.run_sync(lambda: prepare(unsigned, [seal_field(unsigned)]))
    signed = await run_in_threadpool(sign_pdf, with_field, plan.request)
    return await to_thread.run_sync(finish_online_signing, session, user, plan, pdf, signed)
