"""Every table, imported in one place for Alembic and tests."""

from sqlmodel import SQLModel

from backend.agreements.models import Agreement, AgreementMilestone, AgreementSignature
from backend.audit_log.models import AuditEvent
from backend.auth.models import AuthToken, FailedLogin, PasswordResetRequest, User
from backend.auth.totp import RecoveryCode, TotpAuthenticator, TotpRequiredRole
from backend.documents.models import Document
from backend.funding.filing_models import ProgressFiling, ProgressFilingCorrection
from backend.funding.models import (
    Disbursement,
    DisbursementEntry,
    FundingReview,
    IdempotencyKey,
    MilestoneGateOpening,
    ReviewAttachment,
    ReviewRequest,
)
from backend.orgs.models import Organisation, RecommendingUnit
from backend.pki.models import ElectronicSeal
from backend.verification.models import VerificationResultRow
from backend.workflow.models import (
    ApplicationDocument,
    ExpertAssignment,
    ExpertScore,
    Notification,
    Objection,
    OutboxMessage,
    PublicNotice,
    QuotaException,
    Recommendation,
    SelectionDecision,
    UnitQuota,
    UnitReview,
    WorkVersion,
)
from backend.works.models import Batch, Work

metadata = SQLModel.metadata

__all__ = [
    "Agreement",
    "AgreementMilestone",
    "AgreementSignature",
    "AuditEvent",
    "AuthToken",
    "Batch",
    "Disbursement",
    "DisbursementEntry",
    "Document",
    "ElectronicSeal",
    "FundingReview",
    "IdempotencyKey",
    "MilestoneGateOpening",
    "ProgressFiling",
    "ProgressFilingCorrection",
    "ReviewAttachment",
    "ReviewRequest",
    "FailedLogin",
    "PasswordResetRequest",
    "Organisation",
    "RecommendingUnit",
    "User",
    "VerificationResultRow",
    "Work",
    "metadata",
    "ApplicationDocument",
    "ExpertAssignment",
    "ExpertScore",
    "Notification",
    "Objection",
    "OutboxMessage",
    "PublicNotice",
    "QuotaException",
    "Recommendation",
    "SelectionDecision",
    "UnitQuota",
    "UnitReview",
    "WorkVersion",
    "RecoveryCode",
    "TotpAuthenticator",
    "TotpRequiredRole",
]
