"""The app's verify API on SM2-signed agreements (gm profile): the same ETSI indications as the
international profile for a flipped byte, a broken SM2 value, another user id, an SM2
certificate from an unknown root and a revoked SM2 seal, and 国密 SM2 on every signature."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pypdf import PdfReader
from sqlmodel import Session, select

from signing.gm.pki import GmCertificateAuthority
from signing.gm.signer import Sm2Signer, gm_signer
from signing.gm.tsa import GmInProcessTimeStamper
from signing.pades import PadesLevel, SigningRequest, sign_pdf, to_asn1_cert
from tests.agreements.gm_profile import profile_template
from tests.signing.gm.crosscheck import openssl_verify, private_scalar, pysmx_sign

template = profile_template("gm")


def verify(client: Any, token_for: Any, data: bytes) -> dict[str, Any]:
    r = client.post(
        "/api/v1/verify",
        files={"file": ("a.pdf", data, "application/pdf")},
        headers=token_for("auditor"),
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def demo_agreement(session: Session) -> tuple[Any, bytes, bytes]:
    """The demo's fully signed (SM2) agreement, its prepared PDF and its signed PDF."""
    from backend.agreements.models import Agreement, AgreementStatus
    from backend.documents.store import get_store

    ag = session.exec(
        select(Agreement).where(Agreement.status == AgreementStatus.fully_signed)
    ).first()
    assert ag is not None
    store = get_store()
    return ag, store.get(ag.prepared_pdf_sha256 or ""), store.get(ag.current_pdf_sha256 or "")


def producer_seal(session: Session, ag: Any) -> str:
    from backend.orgs.models import Organisation

    org = session.get(Organisation, ag.producer_org_id)
    assert org is not None and org.sm2_seal_cert_serial
    return org.sm2_seal_cert_serial


def sign_yi(prepared: bytes, signer: Signer) -> bytes:
    from backend.pki.service import gm_timestamp_authority

    return sign_pdf(
        prepared,
        SigningRequest(
            field="party_yi_sm2",
            signer=signer,
            digest_algorithm="sm3",
            level=PadesLevel.B_T,
            timestamper=GmInProcessTimeStamper(gm_timestamp_authority()),
            certify=True,
        ),
    )


class WrongUserIdSigner(Sm2Signer):
    """The seal's own key and certificate, but Z computed with the user id 'wrong user id'."""

    def __init__(self, ca: GmCertificateAuthority, serial: str) -> None:
        key = ca.private_key(serial)
        super().__init__(
            to_asn1_cert(ca.get(serial).certificate),
            key,
            SimpleCertificateStore.from_certs([to_asn1_cert(ca.issuing_certificate)]),
        )
        self._scalar = private_scalar(key.pkcs8())
        self.point = key.public_key.point

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if dry_run:
            return bytes(72)
        self.last = (data, pysmx_sign(self._scalar, data, b"wrong user id"))
        return self.last[1]


def test_the_sm2_signed_demo_agreement_passes_and_the_report_says_sm2_on_every_signature(
    pool: Any, client: Any, token_for: Any, session: Session
) -> None:
    _, _, signed = demo_agreement(session)
    body = verify(client, token_for, signed)
    assert body["indication"] == "TOTAL_PASSED", body["summary_zh"]
    parties = [s for s in body["signatures"] if s["kind"] == "signature"]
    assert [(s["field"], s["algorithm"], s["algorithm_name"]) for s in parties] == [
        (f"party_{p}_sm2", "国密 SM2", "SM2/SM3") for p in ("yi", "bing", "jia")
    ]
    assert all(s["timestamp"] and s["revocation"] == "good" for s in parties)
    # the archive form (B-LTA) closes with an SM2 document timestamp, never counted as a seal
    (archive,) = body["signatures"][len(parties) :]
    assert (archive["kind"], archive["algorithm"]) == ("document_timestamp", "国密 SM2")
    # the sealed PDF report names the algorithm of each signature
    r = client.get(f"/api/v1/verify/{body['file_sha256']}/report.pdf", headers=token_for("auditor"))
    assert r.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(r.content)).pages)
    assert text.count("国密 SM2（SM2/SM3）") == 3, text


def test_a_flipped_byte_in_the_signed_revision_is_hash_failure_for_every_sm2_signature(
    client: Any, token_for: Any, session: Session
) -> None:
    _, _, signed = demo_agreement(session)
    at = signed.index(b"/CreationDate") + len(b"/CreationDate(D:2")
    tampered = bytearray(signed)
    tampered[at] = ord("1") if tampered[at] != ord("1") else ord("2")
    body = verify(client, token_for, bytes(tampered))
    assert body["indication"] == "TOTAL_FAILED"
    assert {(s["sub_indication"], s["algorithm"]) for s in body["signatures"]} == {
        ("HASH_FAILURE", "国密 SM2")
    }
    assert body["registry"]["status"] == "unknown"


def test_a_flipped_byte_in_an_sm2_signature_value_is_sig_crypto_failure(
    client: Any, token_for: Any, session: Session
) -> None:
    _, _, signed = demo_agreement(session)
    last = PdfFileReader(BytesIO(signed)).embedded_regular_signatures[-1]  # 甲's, not the archive's
    value = last.signer_info["signature"].native
    tampered = bytearray(signed)
    for encoded in (value.hex().encode(), value.hex().upper().encode()):
        at = signed.find(encoded)
        if at >= 0:
            nibble = at + 20  # inside r
            tampered[nibble] = ord("0") if tampered[nibble] != ord("0") else ord("1")
            break
    else:
        pytest.fail("SM2 signature value not found in /Contents")
    body = verify(client, token_for, bytes(tampered))
    assert [(s["indication"], s["sub_indication"]) for s in body["signatures"]] == [
        ("TOTAL_PASSED", None),
        ("TOTAL_PASSED", None),
        ("TOTAL_FAILED", "SIG_CRYPTO_FAILURE"),
        ("TOTAL_FAILED", "HASH_FAILURE"),  # the archive timestamp covered the original bytes
    ]
    assert body["indication"] == "TOTAL_FAILED"


def test_an_sm2_signature_under_another_user_id_is_sig_crypto_failure(
    client: Any, token_for: Any, session: Session
) -> None:
    from backend.pki.service import require_gm_ca

    ag, prepared, _ = demo_agreement(session)
    signer = WrongUserIdSigner(require_gm_ca(), producer_seal(session, ag))
    pdf = sign_yi(prepared, signer)
    data, value = signer.last
    # a genuine SM2 signature by the seal's key, for another user id than GM/T 0009's
    assert openssl_verify(signer.point, data, value, distid="wrong user id")
    assert not openssl_verify(signer.point, data, value)
    (sig,) = verify(client, token_for, pdf)["signatures"]
    assert (sig["indication"], sig["sub_indication"], sig["algorithm"]) == (
        "TOTAL_FAILED",
        "SIG_CRYPTO_FAILURE",
        "国密 SM2",
    )


def test_an_sm2_seal_from_an_unknown_root_is_no_certificate_chain_found(
    client: Any, token_for: Any, session: Session, tmp_path: Path
) -> None:
    _, prepared, _ = demo_agreement(session)
    stranger = GmCertificateAuthority.init(
        tmp_path / "stranger", kek=bytes(32), root_passphrase=b"x", organisation="冒名 CA"
    )
    seal = stranger.issue(organisation="冒名影视有限公司")
    body = verify(client, token_for, sign_yi(prepared, gm_signer(stranger, seal.serial)))
    (sig,) = body["signatures"]
    assert body["indication"] == "INDETERMINATE"
    assert (sig["sub_indication"], sig["intact"], sig["trusted"]) == (
        "NO_CERTIFICATE_CHAIN_FOUND",
        True,
        False,
    )


def test_an_sm2_seal_revoked_through_the_app_fails_later_signatures_and_notes_earlier_ones(
    client: Any, token_for: Any, session: Session
) -> None:
    """The long-term rules of the international profile: a signature timestamped before the
    revocation stays valid (with a note), one made after it is REVOKED. (Revoked for
    cessation of operation: a key compromise without an invalidity date leaves it open when the
    key leaked, which is INDETERMINATE in both profiles.)"""
    from backend.pki.service import require_gm_ca, revoke_seal

    ag, prepared, signed = demo_agreement(session)
    serial = producer_seal(session, ag)
    signer = gm_signer(require_gm_ca(), serial)  # the key, loaded while the CA still gives it
    revoke_seal(session, serial, "cessation_of_operation", actor="test")
    session.commit()
    body = verify(client, token_for, signed)
    yi = body["signatures"][0]
    assert (yi["field"], yi["indication"], yi["revocation"]) == (
        "party_yi_sm2",
        "TOTAL_PASSED",
        "revoked",
    )
    assert any("吊销" in m for m in yi["messages"]), yi["messages"]
    assert [s["indication"] for s in body["signatures"][1:3]] == ["TOTAL_PASSED"] * 2

    after = sign_yi(prepared, signer)
    (sig,) = verify(client, token_for, after)["signatures"]
    assert (sig["indication"], sig["sub_indication"], sig["revocation"]) == (
        "TOTAL_FAILED",
        "REVOKED",
        "revoked",
    )
