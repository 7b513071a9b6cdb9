"""Administration on the pages (issue 15.6): the admin creates a user (one-time password shown
once), changes role and organisation, disables and re-enables, resets the password; everyone
changes their own password. Every change is audit-logged; nobody but the admin gets in."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, col, select

from tests.conftest import DEMO_PASSWORD, client_login
from tests.web.helpers import csrf, login


def _login_status(client: Any, username: str, password: str) -> int:
    client.cookies.clear()
    r = client_login(client, username, password)  # through the login page (login-CSRF)
    return int(r.status_code)


def _actions(session: Session, user_id: int) -> list[str]:
    from backend.audit_log.models import AuditEvent

    session.commit()
    rows = session.exec(
        select(AuditEvent)
        .where(AuditEvent.object_type == "user", AuditEvent.object_id == str(user_id))
        .order_by(col(AuditEvent.seq))
    ).all()
    return [e.action for e in rows if e.action.startswith("user.")]


def test_admin_creates_disables_enables_and_resets_a_user(client: Any, session: Session) -> None:
    from backend.auth.models import User
    from backend.orgs.models import Organisation, OrgKind

    org = session.exec(select(Organisation).where(Organisation.kind == OrgKind.ministry)).one()
    login(client, "admin")
    token = csrf(client, "/admin/users")
    bad = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "",
            "display_name": "王五",
            "role": "finance",
            "organisation_id": str(org.id),
        },
    )
    assert bad.status_code == 422 and 'id="u-username-err"' in bad.text
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "finance-new",
            "display_name": "王五",
            "role": "finance",
            "organisation_id": str(org.id),
        },
    )
    assert r.status_code == 200 and 'id="one-time-password"' in r.text
    password = re.search(r"<code>([^<]+)</code>", r.text).group(1)  # type: ignore[union-attr]
    session.commit()
    new = session.exec(select(User).where(User.username == "finance-new")).one()
    assert password not in str(_actions(session, new.id or 0))
    assert _login_status(client, "finance-new", password) == 303

    login(client, "admin")
    token = csrf(client, "/admin/users")
    off = client.post(
        f"/admin/users/{new.id}/active",
        data={"csrf_token": token, "active": "0", "reason": "调离岗位"},
        follow_redirects=False,
    )
    assert off.status_code == 303
    assert _login_status(client, "finance-new", password) != 303
    login(client, "admin")
    token = csrf(client, "/admin/users")
    client.post(
        f"/admin/users/{new.id}/active", data={"csrf_token": token, "active": "1", "reason": "返岗"}
    )
    first = client.post(f"/admin/users/{new.id}/reset-password", data={"csrf_token": token})
    assert "确认重置密码" in first.text
    reset = client.post(
        f"/admin/users/{new.id}/reset-password", data={"csrf_token": token, "confirmed": "1"}
    )
    fresh = re.search(r"<code>([^<]+)</code>", reset.text).group(1)  # type: ignore[union-attr]
    assert fresh != password
    assert _login_status(client, "finance-new", password) != 303
    assert _login_status(client, "finance-new", fresh) == 303
    assert _actions(session, new.id or 0) == [
        "user.create",
        "user.disable",
        "user.enable",
        "user.password_reset",
    ]


def test_only_the_admin_reaches_user_administration(client: Any) -> None:
    login(client, "ministry")
    assert client.get("/admin/users").status_code == 403
    assert (
        client.post(
            "/admin/users",
            data={
                "csrf_token": csrf(client),
                "username": "x",
                "display_name": "x",
                "role": "admin",
                "organisation_id": "1",
            },
        ).status_code
        == 403
    )


def test_everyone_changes_their_own_password(client: Any, session: Session) -> None:
    login(client, "prod-hz")
    assert "修改密码" in client.get("/home").text
    token = csrf(client, "/account/password")
    wrong = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "old_password": "nope",
            "new_password": "new-pass-123",
            "repeat_password": "new-pass-123",
        },
    )
    assert wrong.status_code == 422 and 'id="old_password-err"' in wrong.text
    mismatch = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "old_password": DEMO_PASSWORD,
            "new_password": "new-pass-123",
            "repeat_password": "new-pass-124",
        },
    )
    assert mismatch.status_code == 422 and 'id="repeat_password-err"' in mismatch.text
    ok = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "old_password": DEMO_PASSWORD,
            "new_password": "new-pass-123",
            "repeat_password": "new-pass-123",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert _login_status(client, "prod-hz", DEMO_PASSWORD) != 303
    assert _login_status(client, "prod-hz", "new-pass-123") == 303


# --------------------------------------------------------------------------- 机构与印章
def _new_org(session: Session, name: str = "测试印章影业有限公司") -> int:
    """A producer organisation with no seal certificate yet."""
    from backend.orgs.models import Organisation, OrgKind

    org = Organisation(kind=OrgKind.producer, name=name)  # no USCC: the seal shows its number
    session.add(org)
    session.commit()
    assert org.id is not None
    return org.id


def _org(session: Session, org_id: int) -> Any:
    from backend.orgs.models import Organisation

    session.commit()  # end the read snapshot, then read afresh
    session.expire_all()
    return session.get(Organisation, org_id)


def _org_events(session: Session, org_id: int) -> list[tuple[str, dict[str, Any]]]:
    import json

    from backend.audit_log.models import AuditEvent

    session.commit()
    rows = session.exec(
        select(AuditEvent)
        .where(AuditEvent.object_type == "organisation", AuditEvent.object_id == str(org_id))
        .order_by(col(AuditEvent.seq))
    ).all()
    return [(e.action, json.loads(e.payload)) for e in rows]


def test_admin_issues_renews_and_revokes_a_seal_certificate_through_the_pages(
    client: Any, session: Session
) -> None:
    from cryptography import x509

    from backend.core.errors import Conflict
    from backend.pki.org_seals import grouped
    from backend.pki.service import SealAlgorithm, usable_seal

    org_id = _new_org(session)
    login(client, "admin")
    listing = client.get("/admin/organisations")
    assert listing.status_code == 200
    assert "测试印章影业有限公司" in listing.text and "未签发" in listing.text
    token = csrf(client, f"/admin/organisations/{org_id}")
    url = f"/admin/organisations/{org_id}/certificates"

    forged = client.post(f"{url}/issue", data={"algorithm": "ecdsa", "confirmed": "1"})
    assert forged.status_code == 403 and _org(session, org_id).seal_cert_serial is None
    ask = client.post(f"{url}/issue", data={"csrf_token": token, "algorithm": "ecdsa"})
    assert ask.status_code == 200 and "确认签发" in ask.text
    assert _org(session, org_id).seal_cert_serial is None  # nothing before the confirmation
    done = client.post(
        f"{url}/issue",
        data={"csrf_token": token, "algorithm": "ecdsa", "confirmed": "1"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    first = _org(session, org_id).seal_cert_serial
    assert first and usable_seal(_org(session, org_id)).serial_hex == first
    # Issuing twice is blocked before the click, with the reason, and refused if forced.
    again = client.post(f"{url}/issue", data={"csrf_token": token, "algorithm": "ecdsa"})
    assert 'id="blocked"' in again.text and "请续期" in again.text

    client.post(f"{url}/renew", data={"csrf_token": token, "algorithm": "ecdsa", "confirmed": "1"})
    second = _org(session, org_id).seal_cert_serial
    assert second and second != first
    detail = client.get(f"/admin/organisations/{org_id}").text
    assert first in detail and second in detail  # the renewed one stays in the history

    missing = client.post(f"{url}/revoke", data={"csrf_token": token, "algorithm": "ecdsa"})
    assert missing.status_code == 422 and 'id="revoke-ecdsa-reason-err"' in missing.text
    confirm = client.post(
        f"{url}/revoke",
        data={"csrf_token": token, "algorithm": "ecdsa", "reason": "key_compromise"},
    )
    assert "吊销后该印章不能再签署；已签署的文件仍可验证" in confirm.text
    assert "密钥泄露或疑似泄露" in confirm.text and grouped(second) in confirm.text
    usable_seal(_org(session, org_id))  # still usable until confirmed
    revoked = client.post(
        f"{url}/revoke",
        data={
            "csrf_token": token,
            "algorithm": "ecdsa",
            "reason": "key_compromise",
            "note": "U 盾遗失",
            "confirmed": "1",
        },
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    try:
        usable_seal(_org(session, org_id), SealAlgorithm.ecdsa)
    except Conflict as exc:
        assert exc.code == "certificate_revoked"
    else:
        raise AssertionError("a revoked seal certificate must not sign")
    crl = x509.load_der_x509_crl(client.get("/crl/issuing.crl").content)
    entry = crl.get_revoked_certificate_by_serial_number(int(second, 16))
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason is x509.ReasonFlags.key_compromise
    assert crl.get_revoked_certificate_by_serial_number(int(first, 16)) is None
    assert "已吊销" in client.get(f"/admin/organisations/{org_id}").text
    assert [(a, p.get("serial"), p.get("reason")) for a, p in _org_events(session, org_id)] == [
        ("certificate.issue", first, None),
        ("certificate.renew", second, None),
        ("certificate.revoke", second, "key_compromise"),
    ]


def _png(size: tuple[int, int] = (200, 200), fmt: str = "PNG") -> bytes:
    from io import BytesIO

    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).ellipse((10, 10, size[0] - 10, size[1] - 10), outline="red", width=8)
    out = BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def test_admin_uploads_a_seal_picture_that_replaces_the_generated_seal(
    client: Any, session: Session
) -> None:
    from io import BytesIO

    from PIL import Image

    from backend.pki.service import seal_picture

    org_id = _new_org(session, "测试图片影业有限公司")
    generated = seal_picture(_org(session, org_id))
    login(client, "admin")
    token = csrf(client, f"/admin/organisations/{org_id}")
    url = f"/admin/organisations/{org_id}/seal-picture"
    for content, why in [
        (b"%PDF-1.7 not a picture", "不是有效的 PNG 或 JPEG 图片"),
        (_png((50, 50)), "边长须在"),
        (_png(fmt="GIF"), "须为 PNG 或 JPEG"),
    ]:
        bad = client.post(url, data={"csrf_token": token}, files={"picture": ("seal.bin", content)})
        assert bad.status_code == 422 and 'id="picture-err"' in bad.text and why in bad.text
    assert _org(session, org_id).seal_picture_sha256 is None

    ok = client.post(
        url,
        data={"csrf_token": token},
        files={"picture": ("seal.jpg", _png(fmt="JPEG"), "image/jpeg")},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    stored = seal_picture(_org(session, org_id))
    assert stored != generated
    with Image.open(BytesIO(stored)) as image:
        assert image.format == "PNG" and image.size == (200, 200)
        assert image.getpixel((2, 2))[3] == 0  # the white background became transparent
    shown = client.get(f"{url}.png")
    assert shown.headers["content-type"] == "image/png" and shown.content == stored

    client.post(f"{url}/clear", data={"csrf_token": token})
    assert seal_picture(_org(session, org_id)) == generated
    assert [a for a, _p in _org_events(session, org_id)] == [
        "organisation.seal_picture",
        "organisation.seal_picture_cleared",
    ]


def test_the_uploaded_picture_is_signed_and_a_revoked_seal_is_refused_for_signing(
    app_pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    """Through the pages the admin gives 乙方 (prod-hz's organisation) its own seal picture:
    its next signature shows that picture; after the admin revokes its seal certificate the
    next agreement cannot be signed (409 certificate_revoked)."""
    from io import BytesIO

    from pypdf import PdfReader

    from backend.auth.models import User
    from tests.agreements.conftest import fresh_work, sign
    from tests.agreements.test_seal_appearance import _images_in

    producer = session.exec(select(User).where(User.username == "prod-hz")).one()
    org_id = producer.organisation_id
    session.commit()  # no read snapshot held across the app's writes (SQLite cannot upgrade it)
    login(client, "admin")
    token = csrf(client, f"/admin/organisations/{org_id}")
    client.post(
        f"/admin/organisations/{org_id}/seal-picture",
        data={"csrf_token": token},
        files={"picture": ("seal.png", _png((240, 240)), "image/png")},
    )
    wid = fresh_work(session)
    made = client.post("/api/v1/agreements", json={"work_id": wid}, headers=token_for("ministry"))
    aid = made.json()["id"]
    assert sign(client, token_for("prod-hz"), aid).status_code == 200
    pdf = client.get(f"/api/v1/agreements/{aid}/document.pdf", headers=token_for("prod-hz"))
    widgets = [
        a.get_object()
        for page in PdfReader(BytesIO(pdf.content)).pages
        for a in page.get("/Annots", []) or []
        if a.get_object().get("/FT") == "/Sig" and a.get_object().get("/V") is not None
    ]
    images = _images_in(widgets[0]["/AP"]["/N"].get_object())
    assert [(i["/Width"], i["/Height"]) for i in images][:1] == [(240, 240)]  # not the 320 px seal

    client.post(
        f"/admin/organisations/{org_id}/certificates/revoke",
        data={
            "csrf_token": token,
            "algorithm": "ecdsa",
            "reason": "cessation_of_operation",
            "confirmed": "1",
        },
    )
    session.commit()
    wid = fresh_work(session)  # voids the first agreement
    again = client.post("/api/v1/agreements", json={"work_id": wid}, headers=token_for("ministry"))
    r = sign(client, token_for("prod-hz"), again.json()["id"])
    assert r.status_code == 409 and r.json()["code"] == "certificate_revoked"
