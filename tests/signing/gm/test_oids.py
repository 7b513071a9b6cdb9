"""The SM OID registration (signing.gm.oids)."""

from __future__ import annotations

import pytest
from asn1crypto import algos, keys

from signing.errors import SigningError
from signing.gm import oids


def test_sm_names_map_to_their_oids_and_back():
    assert algos.DigestAlgorithm({"algorithm": "sm3"})["algorithm"].dotted == oids.SM3
    parsed = algos.SignedDigestAlgorithm.load(
        algos.SignedDigestAlgorithm({"algorithm": "sm2_sm3"}).dump()
    )
    assert (parsed["algorithm"].dotted, parsed["algorithm"].native) == (
        oids.SM2_WITH_SM3,
        "sm2_sm3",
    )
    assert keys.NamedCurve("sm2").dotted == oids.SM2_CURVE


def test_an_unchecked_pyhanko_version_refuses_to_register(monkeypatch):
    monkeypatch.setattr(oids, "version", lambda dist: "0.99.0" if dist == "pyHanko" else "1.5.1")
    with pytest.raises(SigningError, match="pyHanko"):
        oids._check_versions()
