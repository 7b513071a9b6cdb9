"""The one place where the national algorithms are made known to asn1crypto and pyHanko.

asn1crypto 1.5 and pyHanko 0.38 know neither SM3 nor SM2: OIDs they do not know come through as
dotted strings, and ``algos.DigestAlgorithm({"algorithm": "sm3"})`` fails. :func:`install` adds the
names to asn1crypto's OID tables (nothing else is patched: SM2 signature *checking* reaches
pyHanko through its ``SignatureValidator`` hook, see :mod:`signing.gm.validation`). The tables are
asn1crypto internals, so the versions this was checked against are pinned here; another version
fails loudly at import instead of mis-parsing signatures.

OIDs (GM/T 0006-2012, GB/T 35276-2017, RFC 8998):

=====================  ========================  =============================================
name                   OID                       use
=====================  ========================  =============================================
``sm3``                1.2.156.10197.1.401       digest (CMS digestAlgorithm, ESS, TSP imprint)
``sm2_sm3``            1.2.156.10197.1.501       SM2-with-SM3 signature (certificates, CRLs, CMS)
``sm2``                1.2.156.10197.1.301.1     SM2-1 signature (GB/T 35275 CMS; accepted only)
curve ``sm2``          1.2.156.10197.1.301       named curve of an id-ecPublicKey SM2 key
=====================  ========================  =============================================
"""

from __future__ import annotations

from importlib.metadata import version

from asn1crypto import algos, keys

from ..errors import SigningError

__all__ = [
    "SM3",
    "SM2_WITH_SM3",
    "SM2_SIGN",
    "SM2_CURVE",
    "SM2_SIGNATURE_NAMES",
    "install",
]

SM3 = "1.2.156.10197.1.401"
SM2_WITH_SM3 = "1.2.156.10197.1.501"
SM2_SIGN = "1.2.156.10197.1.301.1"
SM2_CURVE = "1.2.156.10197.1.301"
SM2_SIGNATURE_NAMES = frozenset({"sm2_sm3", "sm2"})

# (distribution, accepted "major.minor" prefixes): the OID tables and the validator hook were
# read in these versions.
_CHECKED = (
    ("asn1crypto", ("1.5",)),
    ("pyHanko", ("0.38",)),
    ("pyhanko-certvalidator", ("0.33",)),
)


def _check_versions() -> None:
    for dist, accepted in _CHECKED:
        found = version(dist)
        if not any(found == v or found.startswith(v + ".") for v in accepted):
            raise SigningError(
                f"国密算法注册只在 {dist} {'/'.join(accepted)} 上验证过，当前为 {found}："
                "请核对 signing/gm/oids.py 后再放宽版本"
            )


def _add(oid_class: type, dotted: str, name: str) -> None:
    oid_class._map[dotted] = name  # type: ignore[attr-defined]
    reverse = oid_class._reverse_map  # type: ignore[attr-defined]
    if reverse is not None:
        reverse[name] = dotted


_installed = False


def install() -> None:
    """Register the SM OIDs (idempotent). Called when :mod:`signing.gm` is imported."""
    global _installed
    if _installed:
        return
    _check_versions()
    _add(algos.DigestAlgorithmId, SM3, "sm3")
    _add(algos.SignedDigestAlgorithmId, SM2_WITH_SM3, "sm2_sm3")
    _add(algos.SignedDigestAlgorithmId, SM2_SIGN, "sm2")
    keys.NamedCurve.register("sm2", SM2_CURVE, 32)
    # Self-check: the names must now round-trip to the OIDs.
    assert algos.DigestAlgorithm({"algorithm": "sm3"})["algorithm"].dotted == SM3
    assert algos.SignedDigestAlgorithm({"algorithm": "sm2_sm3"})["algorithm"].dotted == SM2_WITH_SM3
    _installed = True


install()
