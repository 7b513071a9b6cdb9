"""The issuing CA's key in a PKCS#11 token (硬件密码设备, e.g. SoftHSM2 or an HSM).

The key is generated inside the token and never leaves it; certificates and CRLs are signed by
the token. ``cryptography`` builders sign only with keys it holds, so :meth:`TokenKey.sign_builder`
lets the builder produce the to-be-signed bytes (signed with a throwaway key of the same
algorithm, which yields the very same TBS: the issuer's identity comes from the builder's names
and authority key identifier, not from the signing key), has the token sign them, and assembles
the certificate or CRL with asn1crypto. Signatures are ECDSA P-256 with SHA-256, hashed in
software and signed raw (CKM_ECDSA), which every token supports.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from .errors import SigningError

__all__ = ["TokenKey"]

_SIGNATURE_ALGORITHM = {"algorithm": "sha256_ecdsa"}


@dataclass(frozen=True)
class TokenKey:
    """An EC P-256 key pair in a PKCS#11 token, found by token and key label."""

    lib_path: str
    token_label: str
    pin: str
    key_label: str

    @contextlib.contextmanager
    def _session(self) -> Iterator[Any]:
        # python-pkcs11 is the optional PKCS#11 extra: imported only where a token is used.
        import pkcs11  # noqa: PLC0415

        try:
            token = pkcs11.lib(self.lib_path).get_token(token_label=self.token_label)
            session = token.open(rw=True, user_pin=self.pin)
        except Exception as exc:  # the library's errors carry no message worth more than this
            raise SigningError(
                f"cannot open PKCS#11 token {self.token_label!r}: {type(exc).__name__}"
            ) from exc
        with session:
            yield session

    def generate(self) -> ec.EllipticCurvePublicKey:
        """Create the key pair in the token unless it exists; returns its public key."""
        from pkcs11 import Attribute, KeyType, ObjectClass  # noqa: PLC0415 (optional extra)
        from pkcs11.exceptions import NoSuchKey  # noqa: PLC0415
        from pkcs11.util.ec import encode_named_curve_parameters  # noqa: PLC0415

        with self._session() as session:
            try:
                session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=self.key_label)
            except NoSuchKey:
                params = session.create_domain_parameters(
                    KeyType.EC,
                    {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                    local=True,
                )
                params.generate_keypair(
                    store=True,
                    label=self.key_label,
                    private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
                )
        return self.public_key()

    def public_key(self) -> ec.EllipticCurvePublicKey:
        from pkcs11 import KeyType, ObjectClass  # noqa: PLC0415 (optional extra)
        from pkcs11.util.ec import encode_ec_public_key  # noqa: PLC0415

        with self._session() as session:
            key = session.get_key(
                object_class=ObjectClass.PUBLIC_KEY, key_type=KeyType.EC, label=self.key_label
            )
            public = serialization.load_der_public_key(encode_ec_public_key(key))
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise SigningError("the token key is not an EC key")
        return public

    def sign(self, data: bytes) -> bytes:
        """ECDSA-SHA256 signature over ``data`` (DER), made by the token."""
        from pkcs11 import KeyType, Mechanism, ObjectClass  # noqa: PLC0415 (optional extra)

        digest = hashlib.sha256(data).digest()
        with self._session() as session:
            key = session.get_key(
                object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC, label=self.key_label
            )
            raw = key.sign(digest, mechanism=Mechanism.ECDSA)
        half = len(raw) // 2
        return encode_dss_signature(
            int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        )

    def sign_builder(
        self, builder: x509.CertificateBuilder | x509.CertificateRevocationListBuilder
    ) -> Any:
        """The certificate (or CRL) of ``builder``, signed by the token key."""
        throwaway = ec.generate_private_key(ec.SECP256R1())
        if isinstance(builder, x509.CertificateBuilder):
            draft = builder.sign(throwaway, hashes.SHA256())
            cert = asn1_x509.Certificate(
                {
                    "tbs_certificate": asn1_x509.TbsCertificate.load(draft.tbs_certificate_bytes),
                    "signature_algorithm": _SIGNATURE_ALGORITHM,
                    "signature_value": self.sign(draft.tbs_certificate_bytes),
                }
            )
            return x509.load_der_x509_certificate(cert.dump())
        draft_crl = builder.sign(throwaway, hashes.SHA256())
        crl = asn1_crl.CertificateList(
            {
                "tbs_cert_list": asn1_crl.TbsCertList.load(draft_crl.tbs_certlist_bytes),
                "signature_algorithm": _SIGNATURE_ALGORITHM,
                "signature": self.sign(draft_crl.tbs_certlist_bytes),
            }
        )
        return x509.load_der_x509_crl(crl.dump())
