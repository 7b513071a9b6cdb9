"""Fixtures for the 国密 profiles: a demo data dir built by the real `jingpin demo` with
JINGPIN_CRYPTO_PROFILE=gm or dual, and helpers that check SM2 signatures independently.

A test module sets ``template = profile_template("gm", "dual")`` and imports `profile`: its
`template` overrides the conftest's, so `env`, `session`, `client` and `token_for` run on the
profile's data dir."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.gm.ses import pdf_signed_bytes
from tests.conftest import BACKENDS, Template, _pg_exec, _pg_url, configure
from tests.signing.gm.crosscheck import both_verify


def profile_template(*profiles: str, backends: tuple[str, ...] = tuple(BACKENDS)) -> Any:
    """A module-scoped `template` fixture: the demo data dir of each profile on each backend."""
    backends = tuple(b for b in backends if b in BACKENDS)

    @pytest.fixture(
        scope="module",
        params=[(p, b) for p in profiles for b in backends],
        ids=[f"{p}-{b}" for p in profiles for b in backends],
    )
    def template(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[Template]:
        profile, backend = request.param
        data_dir = tmp_path_factory.mktemp(f"template-{profile}-{backend}")
        dbname = None
        if backend == "sqlite":
            db_url = f"sqlite:///{data_dir / 'jingpin.sqlite3'}"
        else:
            dbname = f"jingpin_tpl_{profile}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            _pg_exec(f'CREATE DATABASE "{dbname}"')
            db_url = _pg_url(dbname)
        mp = pytest.MonkeyPatch()
        # The profile stays set for the module's tests (undone when the module is done).
        mp.setenv("JINGPIN_CRYPTO_PROFILE", profile)
        configure(mp, data_dir, db_url)
        from typer.testing import CliRunner

        from backend.cli import app as cli
        from backend.core.db import get_engine

        result = CliRunner().invoke(cli, ["demo"])
        assert result.exit_code == 0, result.output
        get_engine().dispose()
        tpl = Template(backend, data_dir, db_url)
        tpl.profile = profile  # type: ignore[attr-defined]
        yield tpl
        mp.undo()
        if dbname:
            _pg_exec(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')

    return template


@pytest.fixture
def profile(template: Template) -> str:
    return str(template.profile)  # type: ignore[attr-defined]


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def _point(signed_data: cms.SignedData, signer: cms.SignerInfo) -> bytes:
    serial = signer["sid"].chosen["serial_number"].native
    (cert,) = [c.chosen for c in signed_data["certificates"] if c.chosen.serial_number == serial]
    return bytes(cert.public_key["public_key"])


def crosscheck_sm2(pdf: bytes) -> list[str]:
    """Check every SM2 signature of the PDF and of its timestamp token with OpenSSL's CLI
    (pkeyutl -verify, distid 1234567812345678) and pure-Python pysmx over the DER signed
    attributes, and its messageDigest against SM3 of the /ByteRange. Returns the fields."""
    checked = []
    for embedded in PdfFileReader(BytesIO(pdf)).embedded_signatures:
        signer = embedded.signer_info
        if signer["signature_algorithm"]["algorithm"].dotted != "1.2.156.10197.1.501":
            continue
        assert signer["digest_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.401"
        if embedded.sig_object.get("/Type") == "/DocTimeStamp":
            # The archive form's document timestamp: the token's imprint is SM3 of the signed
            # bytes, its SM2 signature over the signed attributes checks outside Tongsuo.
            tst_info = embedded.signed_data["encap_content_info"]["content"].parsed
            imprint = tst_info["message_imprint"]
            assert imprint["hash_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.401"
            assert imprint["hashed_message"].native == sm3(
                pdf_signed_bytes(pdf, embedded.field_name)
            )
            point = _point(embedded.signed_data, signer)
            signed_attrs = signer["signed_attrs"].untag().dump()
            assert both_verify(point, signed_attrs, signer["signature"].native) == (True, True)
            checked.append(str(embedded.field_name))
            continue
        attrs = {a["type"].native: a["values"][0].native for a in signer["signed_attrs"]}
        assert attrs["message_digest"] == sm3(pdf_signed_bytes(pdf, embedded.field_name))
        point = _point(embedded.signed_data, signer)
        signed_attrs = signer["signed_attrs"].untag().dump()
        assert both_verify(point, signed_attrs, signer["signature"].native) == (True, True)
        (token_attr,) = [
            a for a in signer["unsigned_attrs"] if a["type"].native == "signature_time_stamp_token"
        ]
        token: Any = token_attr["values"][0]["content"]
        tsa = token["signer_infos"][0]
        assert tsa["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"
        tsa_attrs = tsa["signed_attrs"].untag().dump()
        assert both_verify(_point(token, tsa), tsa_attrs, tsa["signature"].native) == (True, True)
        checked.append(str(embedded.field_name))
    return checked
