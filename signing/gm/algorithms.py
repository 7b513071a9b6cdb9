"""Which algorithm a signature or timestamp uses, for people: 国密 SM2 / 国际 ECDSA.

:func:`describe_algorithm` reads a CMS signer info (and the signer's key, for the curve);
:func:`timestamp_algorithm` the signature timestamp token of an embedded PDF signature.
:mod:`signing.verify` calls both for every signature it reports.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms, keys

from . import oids

__all__ = ["AlgorithmInfo", "describe_algorithm", "timestamp_algorithm"]

_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


@dataclass(frozen=True)
class AlgorithmInfo:
    name: str  # "SM2/SM3", "ECDSA P-256/SHA-256", "RSA/SHA-256"
    label_zh: str  # "国密 SM2", "国际 ECDSA", "国际 RSA"
    profile: str  # "gm" or "intl"


def describe_algorithm(
    signer_info: cms.SignerInfo, public_key: keys.PublicKeyInfo
) -> AlgorithmInfo:
    """Which algorithm a CMS signer info uses, for people (国密 SM2 / 国际 ECDSA)."""
    mechanism = signer_info["signature_algorithm"]["algorithm"].native
    digest = str(signer_info["digest_algorithm"]["algorithm"].native).upper().replace("SHA", "SHA-")
    if mechanism in oids.SM2_SIGNATURE_NAMES:
        return AlgorithmInfo("SM2/SM3", "国密 SM2", "gm")
    if "ecdsa" in str(mechanism):
        curve = "?"
        with contextlib.suppress(Exception):
            curve = _CURVES.get(public_key.curve[1], public_key.curve[1])
        return AlgorithmInfo(f"ECDSA {curve}/{digest}", "国际 ECDSA", "intl")
    if "rsa" in str(mechanism):
        return AlgorithmInfo(f"RSA/{digest}", "国际 RSA", "intl")
    return AlgorithmInfo(f"{mechanism}/{digest}", str(mechanism), "intl")


def timestamp_algorithm(signer_info: cms.SignerInfo) -> str | None:
    """The algorithm of the signature timestamp token in ``signer_info``'s unsigned attributes
    (None without one; informative only, so a malformed token is None too)."""
    try:
        for attr in signer_info["unsigned_attrs"]:
            if attr["type"].native == "signature_time_stamp_token":
                signed_data: Any = attr["values"][0]["content"]
                tst_signer = signed_data["signer_infos"][0]
                serial = tst_signer["sid"].chosen["serial_number"].native
                key = next(
                    c.chosen.public_key
                    for c in signed_data["certificates"]
                    if c.chosen.serial_number == serial
                )
                return describe_algorithm(tst_signer, key).name
    except Exception:  # noqa: S110 - the algorithm is informative only
        pass
    return None
