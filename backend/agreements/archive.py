"""Archive renewal of fully signed agreements (长期保存续期), `jingpin archive renew`.

Every fully signed agreement is stored in its archive form (PAdES B-LTA, made when the last party
signs). Its proof lasts as long as the chain of its newest document timestamp; before that chain
expires, :func:`renew_agreement` appends fresh validation data and a new document timestamp from a
TSA certificate that lives longer (:func:`prepare_timestamp_authority` rolls the built-in TSA to a
new key and certificate when its own expires within the window). An agreement fully signed before
archive forms existed (no document timestamp yet) gets its archive form here.

Idempotent: an agreement whose newest chain outlives the window is left alone, so running it
daily (cron, a systemd timer, a worker job) renews each file once per TSA generation.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from cryptography import x509
from pyhanko.sign.timestamps import TimeStamper
from sqlmodel import Session, col, select

from backend.agreements.models import Agreement, AgreementStatus
from backend.agreements.service import signature_field_names
from backend.audit_log.service import record
from backend.core import jobs
from backend.core.db import session_scope, utcnow
from backend.core.errors import Conflict, JingpinError, NotFound
from backend.documents.models import DocumentFormat, DocumentKind, SubjectType
from backend.documents.service import store_rendered
from backend.documents.store import get_store
from backend.pki.service import (
    archive_bytes,
    archive_timestamper,
    archive_trust,
    get_ca,
    require_gm_ca,
    roll_tsa,
    root_passphrase,
)
from signing.archive import ArchiveTrust, archive_expiry, chain_expiry, renew_archive
from signing.errors import PdfSigningError, SigningError
from signing.pades import to_asn1_cert

DEFAULT_WITHIN_DAYS = 365
log = logging.getLogger(__name__)


class ArchiveSetupError(Conflict):
    """The CA cannot give a timestamp chain that outlives the window (a root rollover is due)."""

    code = "archive_setup"


@dataclass
class RenewalRun:
    """What one `archive renew` did: agreement numbers renewed, (number, reason) that failed."""

    checked: int = 0
    renewed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    tsa_rolled: bool = False


def _horizon(within_days: int) -> dt.datetime:
    return utcnow() + dt.timedelta(days=within_days)


def prepare_timestamp_authority(session: Session, *, within_days: int, actor: object) -> bool:
    """Roll the built-in TSA when its certificate expires within the window (True: rolled), and
    refresh the root's ARL when it is a week old. Raises when the root itself expires within the
    window: then `jingpin ca roll-root` first."""
    ca = get_ca()
    horizon = _horizon(within_days)
    if ca.root_certificate.not_valid_after_utc <= horizon:
        raise ArchiveSetupError(
            f"根证书将于 {ca.root_certificate.not_valid_after_utc:%Y-%m-%d} 到期（在续期窗口内），"
            "请先执行 jingpin ca roll-root 引入新的根证书"
        )
    if ca.tsa_certificate.not_valid_after_utc > horizon:
        if ca.authority_crl_stale():
            ca.refresh_authority_crl(root_passphrase())
        return False
    new = roll_tsa(session, actor=actor)
    if new.not_after <= horizon:
        raise ArchiveSetupError(
            f"新的时间戳证书只到 {new.not_after:%Y-%m-%d}，短于续期窗口；"
            "请缩短 --within 或先执行 jingpin ca roll-root"
        )
    return True


def fully_signed_ids(session: Session) -> list[int]:
    query = select(Agreement.id).where(Agreement.status == AgreementStatus.fully_signed.value)
    return [i for i in session.exec(query.order_by(col(Agreement.id))) if i is not None]


@dataclass(frozen=True)
class ArchiveTools:
    """The trust material and TSA for one run and one profile (built once: reading the CA costs
    ~25 ms). ``gm``: for agreements with SM2 signatures, whose archive timestamps are SM2."""

    trust: ArchiveTrust
    timestamper: TimeStamper
    roots: list[x509.Certificate]
    new_expiry: dt.datetime

    @classmethod
    def current(cls, *, gm: bool = False) -> ArchiveTools:
        trust = archive_trust(gm=gm)
        roots = list(trust.trust_roots)
        tsa = require_gm_ca().tsa_certificate if gm else get_ca().tsa_certificate
        return cls(
            trust,
            archive_timestamper(gm=gm),
            roots,
            chain_expiry(to_asn1_cert(tsa), roots),
        )


def _has_sm2_signature(pdf: bytes) -> bool:
    return any(name.endswith("_sm2") for name in signature_field_names(pdf))


def renew_agreement(
    session: Session,
    agreement_id: int,
    *,
    within_days: int,
    actor: object,
    tools: dict[bool, ArchiveTools] | None = None,
) -> bool:
    """Renew one agreement's archive form if its newest timestamp chain expires within the window
    (True: renewed), with the TSA of its profile (``tools``: per profile, reused across a run;
    key True for agreements with SM2 signatures). Services flush; the caller commits."""
    ag = session.exec(
        select(Agreement).where(Agreement.id == agreement_id).with_for_update()
    ).first()
    if ag is None or not ag.current_pdf_sha256:
        raise NotFound("未找到该协议的文件", code="no_document")
    pdf = get_store().get(ag.current_pdf_sha256)
    gm = _has_sm2_signature(pdf)
    if tools is None:
        tools = {}
    if gm not in tools:
        tools[gm] = ArchiveTools.current(gm=gm)
    kit = tools[gm]
    expiry = archive_expiry(pdf, kit.roots)
    if expiry is not None and expiry > _horizon(within_days):
        return False
    if kit.new_expiry <= _horizon(within_days):  # renewing would not outlive the window
        raise ArchiveSetupError(
            f"{'国密' if gm else ''}时间戳证书将于 {kit.new_expiry:%Y-%m-%d} 到期，"
            "短于续期窗口，续期无效；请先更换时间戳证书"
        )
    if expiry is None:  # fully signed before archive forms existed
        archived = archive_bytes(pdf, gm=gm)
    else:
        archived = renew_archive(pdf, kit.timestamper, kit.trust)
    if not archived.startswith(pdf):  # an archive only ever appends revisions
        raise PdfSigningError("renewal changed bytes of the signed file")
    doc = store_rendered(
        session,
        kind=DocumentKind.agreement,
        subject_type=SubjectType.agreement,
        subject_id=ag.id or 0,
        template_name=None,
        template_sha256=None,
        context_digest=None,
        fmt=DocumentFormat.pdf,
        data=archived,
        source_sha256=ag.current_pdf_sha256,
    )
    previous = ag.current_pdf_sha256
    ag.current_pdf_sha256, ag.current_pdf_sm3 = doc.sha256, doc.sm3
    session.add(ag)
    session.flush()
    new_expiry = kit.new_expiry
    record(
        session,
        actor=actor,
        action="agreement.archive_renewed" if expiry else "agreement.archived",
        object_type="agreement",
        object_id=ag.id,
        payload={
            "level": "PAdES B-LTA",
            "previous_sha256": previous,
            "sha256": doc.sha256,
            "sm3": doc.sm3,
            "previous_expiry": expiry.isoformat() if expiry else None,
            "expiry": new_expiry.isoformat(),
        },
    )
    return True


def renew_all(*, within_days: int = DEFAULT_WITHIN_DAYS, actor: str) -> RenewalRun:
    """Renew every due agreement, one transaction each (a failure leaves the others renewed);
    rolls the TSA first when its own certificate expires within the window. Raises
    ArchiveSetupError when the root itself expires within it. Used by `jingpin archive renew`
    and the daily `archive` job."""
    run = RenewalRun()
    with session_scope() as session:
        run.tsa_rolled = prepare_timestamp_authority(session, within_days=within_days, actor=actor)
        ids = fully_signed_ids(session)
    run.checked = len(ids)
    tools: dict[bool, ArchiveTools] = {}  # per profile, built after a TSA roll: the new TSA
    for agreement_id in ids:
        try:
            with session_scope() as session:
                ag = session.get(Agreement, agreement_id)
                number = ag.number if ag else str(agreement_id)
                if renew_agreement(
                    session, agreement_id, within_days=within_days, actor=actor, tools=tools
                ):
                    run.renewed.append(number)
        except (JingpinError, SigningError) as exc:
            run.failed.append((number, str(exc)))
    return run


@jobs.task("archive.renew", queue="archive", cron="0 18 * * *")  # 18:00 UTC = 02:00 北京
def daily_renewal() -> None:
    """The daily renewal when a worker runs the `archive` queue (else cron runs the CLI)."""
    run = renew_all(actor="archive-job")
    for number, reason in run.failed:
        log.error("协议 %s 续期失败：%s", number, reason)
