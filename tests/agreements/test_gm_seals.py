"""Electronic seals (GB/T 38540 SES_Seal) made by the admin from an organisation's seal picture,
shown on the seal page and exported; the SES_Signature of each SM2 signature of a signed
agreement, exported and checked by the independent checker (tests/signing/gm/ses_checker.py)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from cryptography.hazmat.primitives import serialization
from PIL import Image, ImageDraw
from sqlmodel import Session, col, select

from signing.gm.ses import pdf_signed_bytes
from tests.agreements.conftest import fresh_work, sign
from tests.agreements.gm_profile import profile_template
from tests.conftest import client_login
from tests.signing.gm.ses_checker import check_seal, check_signature

template = profile_template("gm")


def seal_png() -> bytes:
    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 192, 192), outline=(200, 0, 0, 255), width=8)
    draw.regular_polygon((100, 100, 30), 5, fill=(200, 0, 0, 255))
    out = BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def org_named(session: Session, prefix: str) -> Any:
    from backend.orgs.models import Organisation

    org = session.exec(
        select(Organisation).where(col(Organisation.name).startswith(prefix))
    ).first()
    assert org is not None
    return org


def producer_of(session: Session, username: str) -> Any:
    from backend.auth.models import User
    from backend.orgs.models import Organisation

    user = session.exec(select(User).where(User.username == username)).one()
    return session.get(Organisation, user.organisation_id)


def make_seal(client: Any, token_for: Any, org_id: int, picture: bytes, user: str = "admin") -> Any:
    return client.post(
        f"/api/v1/organisations/{org_id}/electronic-seals",
        files={"picture": ("seal.png", picture, "image/png")},
        data={"name": "合同专用章"},
        headers=token_for(user),
    )


def test_admin_makes_an_electronic_seal_from_the_picture_and_it_exports_as_a_valid_ses_seal(
    client: Any, token_for: Any, session: Session
) -> None:
    from backend.audit_log.models import AuditEvent
    from backend.pki.service import require_gm_ca

    org = producer_of(session, "prod-hz")
    picture = seal_png()
    r = make_seal(client, token_for, org.id, picture)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["sm2_cert_serial"] == org.sm2_seal_cert_serial
    listed = client.get(f"/api/v1/organisations/{org.id}/seals", headers=token_for("auditor"))
    assert [s["es_id"] for s in listed.json()["electronic_seals"]] == [made["es_id"]]

    esl = client.get(f"/api/v1/electronic-seals/{made['id']}.esl", headers=token_for("auditor"))
    assert esl.status_code == 200
    found = check_seal(esl.content)
    ca = require_gm_ca()
    sm2_cert = ca.get(org.sm2_seal_cert_serial).certificate
    assert found["es_id"] == made["es_id"] and found["name"] == "合同专用章"
    assert found["certs"] == [sm2_cert.public_bytes(serialization.Encoding.DER)]
    assert found["maker"] == ca.seal_maker_certificate.public_bytes(serialization.Encoding.DER)
    assert found["picture"] == ("PNG", picture, 40, 40)
    assert found["valid"][1] == sm2_cert.not_valid_after_utc
    pic = client.get(
        f"/api/v1/electronic-seals/{made['id']}/picture.png", headers=token_for("admin")
    )
    assert pic.content == picture
    session.rollback()  # a fresh snapshot: the app committed in its own session
    actions = session.exec(select(AuditEvent.action)).all()
    assert "electronic_seal.create" in actions

    # the seal page shows it, with the picture and the export link
    client_login(client, "admin")
    page = client.get("/seals")
    assert page.status_code == 200
    assert f"/api/v1/electronic-seals/{made['id']}.esl" in page.text
    assert made["es_id"] in page.text and "国密算法（SM2）" in page.text
    client.post("/logout")


def test_only_the_admin_makes_seals_strangers_see_nothing_and_bad_pictures_leave_no_row(
    client: Any, token_for: Any, session: Session
) -> None:
    from backend.pki.models import ElectronicSeal

    org = producer_of(session, "prod-hz")
    assert make_seal(client, token_for, org.id, seal_png(), user="auditor").status_code == 403
    assert make_seal(client, token_for, org.id, seal_png(), user="prod-hz").status_code == 403
    assert make_seal(client, token_for, org.id, seal_png(), user="prod-cd").status_code == 404
    # another producer cannot even learn the organisation's seals exist
    assert (
        client.get(
            f"/api/v1/organisations/{org.id}/seals", headers=token_for("prod-cd")
        ).status_code
        == 404
    )
    for bad in (b"", b"GIF89a not a png", seal_png()[:100]):
        r = make_seal(client, token_for, org.id, bad)
        assert r.status_code == 422 and r.json()["code"] == "validation_failed", r.text
    jpeg = BytesIO()
    Image.new("RGB", (50, 50), (200, 0, 0)).save(jpeg, "JPEG")
    assert make_seal(client, token_for, org.id, jpeg.getvalue()).status_code == 422
    session.rollback()  # a fresh snapshot: the app committed in its own session
    assert session.exec(select(ElectronicSeal)).all() == []
    # the same request with a good picture does write (so the count above could have moved)
    assert make_seal(client, token_for, org.id, seal_png()).status_code == 201
    session.rollback()
    assert len(session.exec(select(ElectronicSeal)).all()) == 1


def test_each_sm2_signature_of_a_signed_agreement_exports_as_a_checked_ses_signature(
    pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    from backend.pki.service import require_gm_ca

    work_id = fresh_work(session)  # commits
    producer, unit = producer_of(session, "prod-hz"), producer_of(session, "unit-zj")
    session.rollback()
    for org in (producer, unit):
        assert make_seal(client, token_for, org.id, seal_png()).status_code == 201
    r = client.post("/api/v1/agreements", json={"work_id": work_id}, headers=token_for("ministry"))
    aid = r.json()["id"]
    for user in ("prod-hz", "unit-zj", "ministry"):
        assert sign(client, token_for(user), aid).status_code == 200
    pdf = client.get(f"/api/v1/agreements/{aid}/document.pdf", headers=token_for("auditor"))
    detail = client.get(f"/api/v1/agreements/{aid}", headers=token_for("auditor")).json()
    assert [s["ses_signature"] for s in detail["signatures"]] == [True, True, False]

    ca = require_gm_ca()
    for party, org in (("yi", producer), ("bing", unit)):
        r = client.get(
            f"/api/v1/agreements/{aid}/signatures/{party}/ses-signature.der",
            headers=token_for("auditor"),
        )
        assert r.status_code == 200
        (seal,) = client.get(
            f"/api/v1/organisations/{org.id}/seals", headers=token_for("auditor")
        ).json()["electronic_seals"]
        seal_der = client.get(
            f"/api/v1/electronic-seals/{seal['id']}.esl", headers=token_for("auditor")
        ).content
        covered = pdf_signed_bytes(pdf.content, f"party_{party}_sm2")
        found = check_signature(r.content, covered, seal_der)
        cert = ca.get(org.sm2_seal_cert_serial).certificate
        assert found["cert"] == cert.public_bytes(serialization.Encoding.DER)
        assert found["stamped"] and found["property"].endswith(f"party_{party}_sm2")
    # 甲方's organisation has no electronic seal: no SES_Signature, a JSON 404
    r = client.get(
        f"/api/v1/agreements/{aid}/signatures/jia/ses-signature.der", headers=token_for("auditor")
    )
    assert r.status_code == 404 and r.json()["code"] == "no_ses_signature"
    # a stranger to the agreement gets 404 before anything else
    assert (
        client.get(
            f"/api/v1/agreements/{aid}/signatures/yi/ses-signature.der",
            headers=token_for("prod-cd"),
        ).status_code
        == 404
    )

    # the agreement page links each SES_Signature
    client_login(client, "auditor")
    page = client.get(f"/agreements/{aid}").text
    assert page.count("ses-signature.der") == 2
    client.post("/logout")


def test_admin_overrides_an_organisations_profile_and_it_gets_the_seals_it_needs(
    client: Any, token_for: Any, session: Session
) -> None:
    org = producer_of(session, "prod-cd")
    assert org.seal_cert_serial is None  # gm deployment: SM2 seal only
    url = f"/api/v1/organisations/{org.id}/crypto-profile"
    assert (
        client.put(url, json={"crypto_profile": "dual"}, headers=token_for("auditor")).status_code
        == 403
    )
    r = client.put(url, json={"crypto_profile": "dual"}, headers=token_for("admin"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["crypto_profile"], body["crypto_profile_own"]) == ("dual", "dual")
    assert body["ecdsa_cert_serial"] and body["sm2_cert_serial"]
    r = client.put(url, json={"crypto_profile": "fancy"}, headers=token_for("admin"))
    assert r.status_code == 422
    r = client.put(url, json={"crypto_profile": None}, headers=token_for("admin"))
    assert (r.json()["crypto_profile"], r.json()["crypto_profile_own"]) == ("gm", None)


def test_the_sm2_trust_services_answer_over_http(client: Any) -> None:
    from asn1crypto import crl as asn1_crl
    from asn1crypto import tsp
    from cryptography.hazmat.primitives import hashes

    from backend.pki.service import require_gm_ca
    from tests.signing.gm.crosscheck import both_verify

    ca = require_gm_ca()
    root = client.get("/ca/root-sm2.pem")
    assert root.status_code == 200 and root.content == ca.export_root_pem()
    crl = asn1_crl.CertificateList.load(client.get("/crl/issuing-sm2.crl").content)
    assert crl["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"
    digest = hashes.Hash(hashes.SM3())
    digest.update(b"agreement bytes")
    request = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sm3"},
                "hashed_message": digest.finalize(),
            },
            "cert_req": True,
        }
    )
    r = client.post(
        "/tsa/sm2",
        content=request.dump(),
        headers={"Content-Type": "application/timestamp-query"},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/timestamp-reply"
    reply = tsp.TimeStampResp.load(r.content)
    assert reply["status"]["status"].native == "granted"
    signed_data = reply["time_stamp_token"]["content"]
    signer = signed_data["signer_infos"][0]
    serial = signer["sid"].chosen["serial_number"].native
    (cert,) = [c.chosen for c in signed_data["certificates"] if c.chosen.serial_number == serial]
    assert cert.dump() == ca.tsa_certificate.public_bytes(serialization.Encoding.DER)
    point = bytes(cert.public_key["public_key"])
    attrs = signer["signed_attrs"].untag().dump()
    assert both_verify(point, attrs, signer["signature"].native) == (True, True)
