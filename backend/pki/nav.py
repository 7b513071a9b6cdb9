"""印章管理 in the menu: for the admin, auditors and the ministry (seals.SEAL_READERS)."""

from __future__ import annotations

from sqlmodel import Session

from backend.auth.models import User
from backend.core.pages import Link, Section
from backend.pki.seals import SEAL_READERS


def menu(user: User) -> list[Link]:
    return [Link("印章管理", "/seals")] if user.role in SEAL_READERS else []


def home_sections(session: Session, user: User) -> list[Section]:
    if user.role not in SEAL_READERS:
        return []
    link = Link("印章管理", "/seals", "各机构的印章证书（国际 ECDSA / 国密 SM2）与电子印章")
    return [Section("印章", [link])]
