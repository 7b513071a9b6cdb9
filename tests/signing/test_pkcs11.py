"""Signing with a key that lives in a SoftHSM2 token, certified by our issuing CA."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from signing.pades import PadesLevel, SigningRequest, sign_pdf
from signing.tokens import generate_token_key, token_signer
from signing.verify import TOTAL_PASSED

SOFTHSM_LIB = "/usr/lib/softhsm/libsofthsm2.so"
pytestmark = pytest.mark.skipif(
    not Path(SOFTHSM_LIB).exists(), reason=f"SoftHSM2 not installed ({SOFTHSM_LIB} missing)"
)


@pytest.fixture(scope="module")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read by the library when it is loaded
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            "jingpin-test",
            "--pin",
            "1234",
            "--so-pin",
            "5678",
        ],
        check=True,
        capture_output=True,
    )
    import pkcs11

    lib = pkcs11.lib(SOFTHSM_LIB)
    if lib.initialized:  # loaded by another test with another configuration: read it again
        lib.reinitialize()
    return {"label": "jingpin-test", "pin": "1234"}


def test_signature_made_inside_softhsm_token_verifies(
    ca, prepared_pdf, timestamper, verify, softhsm_token
):
    import pkcs11

    lib = pkcs11.lib(SOFTHSM_LIB)
    token = lib.get_token(token_label=softhsm_token["label"])
    with token.open(rw=True, user_pin=softhsm_token["pin"]) as session:
        public_key = generate_token_key(session, "seal-key", b"\x01")
    issued = ca.issue(organisation="令牌签章机构", public_key=public_key)
    assert not issued.key_in_store
    with token_signer(
        SOFTHSM_LIB,
        token_label=softhsm_token["label"],
        pin=softhsm_token["pin"],
        key_label="seal-key",
        certificate=issued.certificate,
        chain=[ca.issuing_certificate, ca.root_certificate],
    ) as signer:
        signed = sign_pdf(
            prepared_pdf,
            SigningRequest(
                field="party_yi", signer=signer, level=PadesLevel.B_T, timestamper=timestamper
            ),
        )
    report = verify(signed)
    assert report.indication == TOTAL_PASSED, report.to_dict()
    assert report.signatures[0].signer.organisation == "令牌签章机构"
