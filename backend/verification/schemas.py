"""Read schemas of the verification API: the report of `jingpin verify --json` (the field names
are signing/README.md's report contract), the registry look-up and the audit log."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.agreements.models import AgreementStatus, Party
from backend.core.schemas import IsoDateTime, omitted_when_none
from backend.documents.models import DocumentFormat, DocumentKind, SubjectType

Indication = Literal["TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"]


# --------------------------------------------------------------------------- registry
class LaterRevision(BaseModel):
    index: int
    label: str
    sha256: str


class RegistryRevision(BaseModel):
    """Which PDF revision of an agreement a file is: 0 prepared, then one per signature."""

    index: int
    sha256: str
    party: Party | None = Field(description="签署后形成该版本的一方；待签署版本为 null")
    label: str
    signed_at: IsoDateTime | None
    organisation: str | None
    cert_serial: str | None
    of: int = Field(description="协议目前共有几个签署版本")
    current: bool = Field(description="是否为协议的当前版本")
    later_revisions: list[LaterRevision]


class RegistryAgreement(BaseModel):
    id: int
    number: str
    version: int
    work_id: int
    work_title: str | None
    status: AgreementStatus
    status_label: str
    current_sha256: str | None
    revision: RegistryRevision | None = omitted_when_none()


class RegistryDocument(BaseModel):
    """A document version jingpin stored with exactly these bytes."""

    id: int
    kind: DocumentKind
    kind_label: str
    subject_type: SubjectType
    subject_id: str
    format: DocumentFormat
    size: int
    sha256: str
    sm3: str | None
    created_at: IsoDateTime
    agreement: RegistryAgreement | None = omitted_when_none()


class RegistryExtension(RegistryDocument):
    """A known revision that is a byte-prefix of the file: someone appended an update to it."""

    appended_bytes: int


class RegistryEntry(BaseModel):
    """文件登记簿: did jingpin issue or sign this exact file, or does it build on one?"""

    known: bool
    sha256: str
    status: Literal["issued", "earlier_revision", "extends_known", "unknown"]
    message: str
    documents: list[RegistryDocument]
    extends: list[RegistryExtension] = Field(description="以本系统签发的版本为前缀的增量更新")


# --------------------------------------------------------------------------- verification report
class SignerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    organisation: str | None
    common_name: str | None
    serial: str | None
    issuer: str | None


class ChangeRead(BaseModel):
    """One change after a signature: what, on which page, where (PDF points)."""

    kind: str
    text: str
    page: int | None
    x: float | None
    y: float | None


class SignatureCheck(BaseModel):
    """One signature (or document timestamp) of the file, with an ETSI EN 319 102-1 verdict."""

    model_config = ConfigDict(from_attributes=True)

    field: str
    signer: SignerRead | None
    signed_at: str | None = Field(description="签署方声明的签署时间（ISO 8601，北京时间）")
    timestamp: str | None = Field(description="时间戳时间（ISO 8601，北京时间）")
    indication: Indication
    sub_indication: str | None
    intact: bool
    trusted: bool
    coverage: str | None
    modified_after: str | None = Field(description="签名之后的改动（如有）")
    revocation: str
    docmdp_ok: bool | None
    revision: int | None
    kind: Literal["signature", "document_timestamp"]
    modification_level: str | None
    certifying: bool
    messages: list[str]
    timestamp_authority: SignerRead | None = Field(
        description="时间戳机构（文档时间戳只有它，不是签署方）"
    )
    algorithm: str | None = Field(description="签名算法：国密 SM2 / 国际 ECDSA")
    algorithm_name: str | None = Field(description="算法全称，如 SM2/SM3、ECDSA P-256/SHA-256")
    timestamp_algorithm: str | None = Field(description="签名时间戳的算法（如有）")
    changes: list[ChangeRead] = Field(description="该签名之后的修改，逐条（按版本比较得出）")


class VerificationReportRead(BaseModel):
    """The verification report of `jingpin verify --json` (without the registry)."""

    # Read by attribute from signing.verify.VerificationReport; its to_dict() has the same keys.
    model_config = ConfigDict(from_attributes=True)

    indication: Indication
    sub_indication: str | None
    file_sha256: str
    file_sm3: str
    readable: bool
    message: str | None
    signatures: list[SignatureCheck] = Field(description="按签署顺序")
    timestamps_only: bool = Field(description="文件没有签名、只有文档时间戳（未签名，退出码 3）")
    validation_time: str | None = Field(description="验证所依据的时间（ISO 8601），默认为验证时刻")


class VerificationResult(VerificationReportRead):
    """A verification as the API keeps it: the report, the registry, a Chinese summary and the
    file's name, size and time of verification."""

    registry: RegistryEntry
    summary_zh: list[str]
    file_name: str | None
    file_size: int
    verified_at: IsoDateTime


class VerifyResponse(VerificationResult):
    report_pdf: str = Field(description="系统签章的验证报告 PDF")
    report_json: str = Field(description="本结果（JSON）")


class VerificationQueued(BaseModel):
    """202 from POST /verify with a job queue and a large file: a `verify` worker verifies it."""

    code: Literal["verification_queued"] = "verification_queued"
    message: str = "文件已排队验证，完成后可读取验证结果"
    job_id: int
    status_url: str = Field(description="GET：任务进度（/api/v1/jobs/{id}）")
    file_sha256: str
    report_json: str = Field(description="完成后的验证结果（JSON）；排队中为 409")
    report_pdf: str = Field(description="完成后的系统签章验证报告 PDF")


# --------------------------------------------------------------------------- audit log
class ChainStatusRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ok: bool
    events: int
    first_bad_seq: int | None
    reason: str
    message: str
    checkpoint_seq: int | None = Field(
        default=None, description="最新的系统签名检查点覆盖到的事件序号（无检查点时为空）"
    )


class AuditEventRead(BaseModel):
    """An event of the hash-chained audit log."""

    # Validated from backend.audit_log.service.event_dict, the signed export's form of an event.

    seq: int
    at: IsoDateTime
    actor_id: int | None
    actor: str
    action: str
    object_type: str
    object_id: str
    payload: dict[str, Any]
    payload_sha256: str
    prev_hash: str
    hash: str
    hash_algorithm: str = Field(description="链哈希算法：sha256，或国密配置下的 sm3")


class AuditEventPage(BaseModel):
    total: int
    page: int
    pages: int
    page_size: int
    events: list[AuditEventRead]
