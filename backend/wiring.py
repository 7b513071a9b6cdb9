"""Start-up wiring: subscribes each domain's hooks (backend.core.events, scope rules). Called
by every entry point (the app, the CLI, the demo loader, tests) before any work; idempotent."""

from __future__ import annotations

from backend.agreements import archive as agreement_archive
from backend.agreements import jobs as agreement_jobs
from backend.audit_log import checkpoints
from backend.core import events
from backend.documents import jobs as document_jobs
from backend.documents.service import add_blob_referrer
from backend.funding import hooks as funding_hooks
from backend.funding import reminders
from backend.pki.service import checkpoint_signer
from backend.verification import jobs as verification_jobs
from backend.verification.service import stored_blobs
from backend.workflow import hooks as workflow_hooks
from backend.workflow import mail as workflow_mail

# Modules that declare job tasks (backend.core.jobs.task); importing them registers the tasks.
TASK_MODULES = (
    document_jobs,
    workflow_mail,
    reminders,
    agreement_archive,
    agreement_jobs,
    verification_jobs,
)


def install() -> None:
    checkpoints.install_signer(checkpoint_signer)  # the system seal signs audit checkpoints
    funding_hooks.install()
    workflow_hooks.install()
    add_blob_referrer(stored_blobs)  # verification keeps uploads and reports as blobs
    events.mark_installed()
