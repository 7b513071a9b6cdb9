"""PKCS#11 tokens (硬件密码设备): sign with a key that never leaves the token.

The issuing CA certifies the token's public key (:func:`token_public_key` +
``CertificateAuthority.issue(public_key=...)``); :func:`token_signer` then yields a pyHanko
``PKCS11Signer`` usable in :class:`signing.pades.SigningRequest`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

from .errors import SigningError
from .pades import to_asn1_cert

__all__ = ["token_signer", "token_public_key", "generate_token_key"]


def generate_token_key(session: object, label: str, key_id: bytes) -> PublicKeyTypes:
    """Generate an ECDSA P-256 key pair inside the token; returns its public key."""
    # python-pkcs11 is the optional PKCS#11 extra: imported only where a token is used.
    from pkcs11 import Attribute, KeyType  # noqa: PLC0415
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters  # noqa: PLC0415

    params = session.create_domain_parameters(  # type: ignore[attr-defined]
        KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
    )
    public, _ = params.generate_keypair(store=True, label=label, id=key_id)
    return serialization.load_der_public_key(encode_ec_public_key(public))


def token_public_key(lib_path: str, token_label: str, pin: str, key_label: str) -> PublicKeyTypes:
    from pkcs11 import KeyType, ObjectClass  # noqa: PLC0415 (optional extra, as above)
    from pkcs11.util.ec import encode_ec_public_key  # noqa: PLC0415

    with contextlib.closing(
        open_pkcs11_session(lib_path, token_criteria=TokenCriteria(label=token_label), user_pin=pin)
    ) as session:
        key = session.get_key(
            object_class=ObjectClass.PUBLIC_KEY, key_type=KeyType.EC, label=key_label
        )
        return serialization.load_der_public_key(encode_ec_public_key(key))  # type: ignore[arg-type]


@contextlib.contextmanager
def token_signer(
    lib_path: str,
    *,
    token_label: str,
    pin: str,
    key_label: str,
    certificate: x509.Certificate,
    chain: list[x509.Certificate],
) -> Iterator[PKCS11Signer]:
    """Open a session on the token and yield a signer for ``key_label`` with ``certificate``."""
    try:
        session = open_pkcs11_session(
            lib_path, token_criteria=TokenCriteria(label=token_label), user_pin=pin
        )
    except Exception as exc:
        raise SigningError(f"cannot open PKCS#11 token {token_label!r}: {exc}") from exc
    try:
        yield PKCS11Signer(
            session,
            key_label=key_label,
            signing_cert=to_asn1_cert(certificate),
            ca_chain=[to_asn1_cert(c) for c in chain],
            # hash in software, sign the digest with CKM_ECDSA / CKM_RSA_PKCS: supported by
            # every token (SoftHSM2 lacks the combined ECDSA-SHA256 mechanism)
            use_raw_mechanism=True,
        )
    finally:
        session.close()
