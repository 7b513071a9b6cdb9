"""In-house SM2 PKI (国密证书体系): root CA → issuing CA → seal / person certificates, the TSA
and the seal maker (制章者), in the same file layout as :mod:`signing.pki`::

    <dir>/config.json          organisation, CRL URL, "profile": "gm"
    <dir>/root.pem             SM2 root certificate (trust anchor)
    <dir>/root.key.json        root key: PBKDF2-HMAC-SM3 of the root passphrase, SM4-GCM
    <dir>/issuing.pem          issuing CA (signs end-entity certificates and the CRL)
    <dir>/tsa.pem              timestamp authority (issued by the root)
    <dir>/maker.pem            seal maker (制章者, signs SES_Seal structures; issued by the issuing CA)
    <dir>/keys/*.key.json      issuing CA, TSA, maker and end-entity keys (:class:`Sm4KeyStore`)
    <dir>/certs/<serial>.pem, index.json, revoked.json, crl_number   as in signing.pki

:class:`GmCertificateAuthority` has the shape of :class:`signing.pki.CertificateAuthority`
(``init``/``open``/``issue``/``renew``/``revoke``/``list``/``get``/``crl_der``/``private_key``/
``rotate_kek``…); certificates are ``cryptography`` objects (it reads SM2 certificates), keys are
:class:`~signing.gm.sm2.Sm2PrivateKey`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ..errors import (
    CertificateAuthorityError,
    CertificateNotFound,
    CertificateRevoked,
    WrongRootPassphrase,
)
from ..keystore import atomic_write
from ..pki import (
    POLICY_ARC,
    POLICY_PERSON,
    POLICY_SEAL,
    POLICY_TSA,
    CertificateKind,
    IssuedCertificate,
    RevocationReason,
    _locked,
    _now,
    _serial_hex,
)
from .certs import (
    RevokedEntry,
    build_certificate,
    build_crl,
    ca_extensions,
    gm_name,
    key_identifier,
    public_key_of,
    signer_extensions,
    tsa_extensions,
)
from .keystore import Sm4KeyStore
from .sm2 import Sm2PrivateKey, Sm2PublicKey
from .sm4 import NONCE_SIZE, SM4GCM

__all__ = ["POLICY_SEAL_MAKER", "GmCertificateAuthority", "REVOCATION_REASONS"]

POLICY_SEAL_MAKER = f"{POLICY_ARC}.4"
REVOCATION_REASONS = frozenset(RevocationReason.__args__)  # type: ignore[attr-defined]
_ISSUING_KEY_ID, _TSA_KEY_ID, _MAKER_KEY_ID = "issuing", "tsa", "maker"
_CRL_VALIDITY = dt.timedelta(days=7)
_ROOT_KDF_ITERATIONS = 300_000
_ROOT_FORMAT = "jingpin-root-key-sm4-v1"


def _pem(cert: asn1_x509.Certificate) -> bytes:
    return bytes(asn1_pem.armor("CERTIFICATE", cert.dump()))


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _root_kek(passphrase: bytes, salt: bytes, iterations: int) -> bytes:
    return PBKDF2HMAC(hashes.SM3(), 16, salt, iterations).derive(passphrase)


def _seal_root_key(key: Sm2PrivateKey, passphrase: bytes) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(NONCE_SIZE)
    wrap = _root_kek(passphrase, salt, _ROOT_KDF_ITERATIONS)
    record = {
        "format": _ROOT_FORMAT,
        "kdf": "PBKDF2-HMAC-SM3",
        "iterations": _ROOT_KDF_ITERATIONS,
        "salt": base64.b64encode(salt).decode(),
        "cipher": "SM4-GCM",
        "ciphertext": base64.b64encode(
            nonce + SM4GCM(wrap).encrypt(nonce, key.pkcs8(), b"root")
        ).decode(),
    }
    return json.dumps(record, indent=1).encode()


def _open_root_key(data: bytes, passphrase: bytes) -> Sm2PrivateKey:
    record = json.loads(data)
    if record.get("format") != _ROOT_FORMAT:
        raise CertificateAuthorityError("root key file has an unknown format")
    wrap = _root_kek(passphrase, base64.b64decode(record["salt"]), int(record["iterations"]))
    blob = base64.b64decode(record["ciphertext"])
    try:
        pkcs8 = SM4GCM(wrap).decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], b"root")
    except InvalidTag as exc:
        raise WrongRootPassphrase("the root CA passphrase is wrong") from exc
    return Sm2PrivateKey.from_pkcs8(pkcs8)


class GmCertificateAuthority:
    """File-backed SM2 CA. Open with :meth:`init` (idempotent) or :meth:`open`."""

    profile = "gm"

    def __init__(self, directory: Path, kek: bytes) -> None:
        self.directory = Path(directory)
        if not (self.directory / "issuing.pem").exists():
            raise CertificateAuthorityError(f"no CA in {self.directory}; call init() first")
        self.config: dict[str, Any] = json.loads((self.directory / "config.json").read_text())
        if self.config.get("profile") != "gm":
            raise CertificateAuthorityError(f"{self.directory} is not an SM2 (gm) CA")
        self.keys = Sm4KeyStore(self.directory / "keys", kek)
        self.root_certificate = self._load_cert("root.pem")
        self.issuing_certificate = self._load_cert("issuing.pem")
        self.tsa_certificate = self._load_cert("tsa.pem")
        self.seal_maker_certificate = self._load_cert("maker.pem")
        self._issuing_key: Sm2PrivateKey | None = None
        self._crl_cache: tuple[int, dt.datetime, bytes] | None = None

    # ------------------------------------------------------------------ setup
    @classmethod
    def init(
        cls,
        directory: str | Path,
        *,
        kek: bytes,
        root_passphrase: bytes,
        organisation: str = "jingpin",
        crl_url: str | None = None,
    ) -> GmCertificateAuthority:
        """Create the SM2 CA under ``directory`` unless it exists, then open it. A second call
        fills in whatever is missing (TSA, seal maker)."""
        root_dir = Path(directory)
        root_dir.mkdir(parents=True, exist_ok=True)
        (root_dir / "certs").mkdir(exist_ok=True)
        keys = Sm4KeyStore(root_dir / "keys", kek)
        with _locked(root_dir):
            config_path = root_dir / "config.json"
            if not config_path.exists():
                config = {
                    "organisation": organisation,
                    "crl_url": crl_url,
                    "policy_arc": POLICY_ARC,
                    "key_algorithm": "sm2",
                    "profile": "gm",
                }
                atomic_write(
                    config_path, json.dumps(config, indent=1, ensure_ascii=False).encode(), 0o644
                )
            config = json.loads(config_path.read_text())
            if config.get("profile") != "gm":
                raise CertificateAuthorityError(f"{root_dir} holds a CA of another profile")
            org = config["organisation"]
            now = _now()
            root_pem, root_key_path = root_dir / "root.pem", root_dir / "root.key.json"
            if not root_pem.exists():
                root_key = Sm2PrivateKey.generate()
                name = gm_name(f"{org} SM2 Root CA", org)
                root_id = key_identifier(root_key.public_key)
                root = build_certificate(
                    subject=name,
                    issuer=name,
                    public_key=root_key.public_key,
                    issuer_key=root_key,
                    not_before=now - dt.timedelta(minutes=5),
                    not_after=now + dt.timedelta(days=365 * 20),
                    extensions=ca_extensions(root_key.public_key, root_id, 1),
                )
                atomic_write(root_key_path, _seal_root_key(root_key, root_passphrase))
                atomic_write(root_pem, _pem(root), 0o644)
            root_cert = asn1_x509.Certificate.load(
                x509.load_pem_x509_certificate(root_pem.read_bytes()).public_bytes(
                    serialization.Encoding.DER
                )
            )
            if not (root_dir / "issuing.pem").exists() or not (root_dir / "tsa.pem").exists():
                root_key = _open_root_key(root_key_path.read_bytes(), root_passphrase)
                if not (root_dir / "issuing.pem").exists():
                    issuing_key = Sm2PrivateKey.generate()
                    issuing = build_certificate(
                        subject=gm_name(f"{org} SM2 Issuing CA", org),
                        issuer=root_cert.subject,
                        public_key=issuing_key.public_key,
                        issuer_key=root_key,
                        not_before=now - dt.timedelta(minutes=5),
                        not_after=now + dt.timedelta(days=365 * 10),
                        extensions=ca_extensions(
                            issuing_key.public_key, root_cert.key_identifier, 0
                        ),
                    )
                    keys.store(_ISSUING_KEY_ID, issuing_key)
                    atomic_write(root_dir / "issuing.pem", _pem(issuing), 0o644)
                if not (root_dir / "tsa.pem").exists():
                    tsa_key = Sm2PrivateKey.generate()
                    tsa = build_certificate(
                        subject=gm_name(f"{org} SM2 Timestamp Authority", org),
                        issuer=root_cert.subject,
                        public_key=tsa_key.public_key,
                        issuer_key=root_key,
                        not_before=now - dt.timedelta(minutes=5),
                        not_after=now + dt.timedelta(days=365 * 10),
                        extensions=tsa_extensions(
                            tsa_key.public_key, root_cert.key_identifier, POLICY_TSA
                        ),
                    )
                    keys.store(_TSA_KEY_ID, tsa_key)
                    atomic_write(root_dir / "tsa.pem", _pem(tsa), 0o644)
            if not (root_dir / "maker.pem").exists():
                issuing_asn1 = asn1_x509.Certificate.load(
                    x509.load_pem_x509_certificate(
                        (root_dir / "issuing.pem").read_bytes()
                    ).public_bytes(serialization.Encoding.DER)
                )
                maker_key = Sm2PrivateKey.generate()
                maker = build_certificate(
                    subject=gm_name(f"{org} 电子印章制章系统", org),
                    issuer=issuing_asn1.subject,
                    public_key=maker_key.public_key,
                    issuer_key=keys.load(_ISSUING_KEY_ID),
                    not_before=now - dt.timedelta(minutes=5),
                    not_after=now + dt.timedelta(days=365 * 5),
                    extensions=signer_extensions(
                        maker_key.public_key,
                        issuing_asn1.key_identifier,
                        POLICY_SEAL_MAKER,
                        config.get("crl_url"),
                    ),
                )
                keys.store(_MAKER_KEY_ID, maker_key)
                atomic_write(root_dir / "maker.pem", _pem(maker), 0o644)
            for state_file, default in (
                ("index.json", "{}"),
                ("revoked.json", "{}"),
                ("crl_number", "0"),
            ):
                if not (root_dir / state_file).exists():
                    atomic_write(root_dir / state_file, default.encode(), 0o644)
        return cls(root_dir, kek)

    @classmethod
    def open(cls, directory: str | Path, *, kek: bytes) -> GmCertificateAuthority:
        return cls(Path(directory), kek)

    def _load_cert(self, name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate((self.directory / name).read_bytes())

    def _issuer_key(self) -> Sm2PrivateKey:
        if self._issuing_key is None:
            self._issuing_key = self.keys.load(_ISSUING_KEY_ID)
        return self._issuing_key

    def tsa_private_key(self) -> Sm2PrivateKey:
        return self.keys.load(_TSA_KEY_ID)

    def seal_maker_private_key(self) -> Sm2PrivateKey:
        return self.keys.load(_MAKER_KEY_ID)

    # ------------------------------------------------------------ bookkeeping
    def _read_json(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.directory / name).read_text())
        return data

    def _write_json(self, name: str, data: dict[str, Any]) -> None:
        atomic_write(
            self.directory / name, json.dumps(data, indent=1, ensure_ascii=False).encode(), 0o644
        )

    def _record(
        self, serial_hex: str, meta: dict[str, Any], revoked: dict[str, Any]
    ) -> IssuedCertificate:
        rev = revoked.get(serial_hex)
        return IssuedCertificate(
            serial=int(serial_hex, 16),
            kind=meta["kind"],
            organisation=meta["organisation"],
            common_name=meta["common_name"],
            not_before=dt.datetime.fromisoformat(meta["not_before"]),
            not_after=dt.datetime.fromisoformat(meta["not_after"]),
            key_in_store=meta["key_in_store"],
            certificate_pem=(self.directory / "certs" / f"{serial_hex}.pem").read_bytes(),
            revoked_at=dt.datetime.fromisoformat(rev["revoked_at"]) if rev else None,
            revocation_reason=rev["reason"] if rev else None,
            renewed_from=int(meta["renewed_from"], 16) if meta.get("renewed_from") else None,
        )

    def list(self) -> list[IssuedCertificate]:
        index, revoked = self._read_json("index.json"), self._read_json("revoked.json")
        items = [self._record(s, m, revoked) for s, m in index.items()]
        return sorted(items, key=lambda c: c.not_before)

    def get(self, serial: int | str) -> IssuedCertificate:
        serial_hex = serial if isinstance(serial, str) else _serial_hex(serial)
        serial_hex = serial_hex.lower().removeprefix("0x")
        index = self._read_json("index.json")
        if serial_hex not in index:
            raise CertificateNotFound(f"no certificate with serial {serial_hex}")
        return self._record(serial_hex, index[serial_hex], self._read_json("revoked.json"))

    # ---------------------------------------------------------------- issuing
    def issue(
        self,
        *,
        organisation: str,
        common_name: str | None = None,
        kind: CertificateKind = "seal",
        public_key: Sm2PublicKey | None = None,
        crl_url: str | None = None,
        validity_days: int = 365 * 2,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        renewed_from: int | None = None,
    ) -> IssuedCertificate:
        """Issue an SM2 seal (机构电子印章) or person certificate. Without ``public_key`` an SM2
        key pair is generated and stored under the KEK; with it only the certificate is issued."""
        if common_name is None:
            common_name = f"{organisation} 电子印章" if kind == "seal" else organisation
        private_key: Sm2PrivateKey | None = None
        if public_key is None:
            private_key = Sm2PrivateKey.generate()
            public_key = private_key.public_key
        start = not_before or _now() - dt.timedelta(minutes=5)
        end = not_after or start + dt.timedelta(days=validity_days)
        issuer = _asn1(self.issuing_certificate)
        cert = build_certificate(
            subject=gm_name(common_name, organisation),
            issuer=issuer.subject,
            public_key=public_key,
            issuer_key=self._issuer_key(),
            not_before=start,
            not_after=end,
            extensions=signer_extensions(
                public_key,
                issuer.key_identifier,
                POLICY_SEAL if kind == "seal" else POLICY_PERSON,
                crl_url or self.config.get("crl_url"),
            ),
        )
        serial_hex = _serial_hex(cert.serial_number)
        with _locked(self.directory):
            if private_key is not None:
                self.keys.store(serial_hex, private_key)
            atomic_write(self.directory / "certs" / f"{serial_hex}.pem", _pem(cert), 0o644)
            index = self._read_json("index.json")
            index[serial_hex] = {
                "kind": kind,
                "organisation": organisation,
                "common_name": common_name,
                "not_before": start.replace(microsecond=0).isoformat(),
                "not_after": end.replace(microsecond=0).isoformat(),
                "key_in_store": private_key is not None,
                "renewed_from": _serial_hex(renewed_from) if renewed_from else None,
            }
            self._write_json("index.json", index)
        return self.get(serial_hex)

    def renew(
        self, serial: int | str, *, validity_days: int = 365 * 2, new_key: bool = True
    ) -> IssuedCertificate:
        """A new certificate for the same subject (a new SM2 key pair unless ``new_key=False``,
        which is only possible for keys held outside this CA, e.g. on a token)."""
        old = self.get(serial)
        public_key = None
        if not new_key:
            if old.key_in_store:
                raise CertificateAuthorityError("renewal with the same stored key is not supported")
            public_key = public_key_of(_asn1(old.certificate))
        crl_url = None
        for point in _asn1(old.certificate).crl_distribution_points:
            for name in point["distribution_point"].chosen:
                if name.name == "uniform_resource_identifier":
                    crl_url = name.native
        return self.issue(
            organisation=old.organisation,
            common_name=old.common_name,
            kind=old.kind,
            public_key=public_key,
            crl_url=crl_url,
            validity_days=validity_days,
            renewed_from=old.serial,
        )

    def revoke(
        self,
        serial: int | str,
        reason: RevocationReason = "unspecified",
        *,
        revoked_at: dt.datetime | None = None,
    ) -> IssuedCertificate:
        cert = self.get(serial)
        if reason not in REVOCATION_REASONS:
            raise CertificateAuthorityError(f"unknown revocation reason {reason!r}")
        with _locked(self.directory):
            revoked = self._read_json("revoked.json")
            if cert.serial_hex not in revoked:
                revoked[cert.serial_hex] = {
                    "reason": reason,
                    "revoked_at": (revoked_at or _now()).isoformat(),
                }
                self._write_json("revoked.json", revoked)
                self._crl_cache = None
        return self.get(serial)

    def export_root_pem(self) -> bytes:
        return self.root_certificate.public_bytes(serialization.Encoding.PEM)

    def chain_pem(self) -> bytes:
        return (
            self.issuing_certificate.public_bytes(serialization.Encoding.PEM)
            + self.export_root_pem()
        )

    # -------------------------------------------------------------- revocation
    def crl_der(self) -> bytes:
        """The issuing CA's current SM2-signed CRL (DER), regenerated when stale or after a
        revocation."""
        revoked = self._read_json("revoked.json")
        now = _now()
        if self._crl_cache is not None:
            count, made_at, der = self._crl_cache
            if count == len(revoked) and now - made_at < dt.timedelta(hours=1):
                return der
        with _locked(self.directory):
            number = int((self.directory / "crl_number").read_text().strip() or "0") + 1
            atomic_write(self.directory / "crl_number", str(number).encode(), 0o644)
        der = build_crl(
            issuer=_asn1(self.issuing_certificate),
            issuer_key=self._issuer_key(),
            number=number,
            this_update=now - dt.timedelta(minutes=1),
            next_update=now + _CRL_VALIDITY,
            revoked=[
                RevokedEntry(
                    int(serial_hex, 16),
                    dt.datetime.fromisoformat(info["revoked_at"]),
                    info["reason"],
                )
                for serial_hex, info in sorted(revoked.items())
            ],
        )
        self._crl_cache = (len(revoked), now, der)
        return der

    # ----------------------------------------------------------------- signers
    def private_key(self, serial: int | str) -> Sm2PrivateKey:
        cert = self.get(serial)
        if cert.revoked:
            raise CertificateRevoked(f"certificate {cert.serial_hex} is revoked")
        if not cert.key_in_store:
            raise CertificateAuthorityError(f"the key of {cert.serial_hex} is not held by this CA")
        return self.keys.load(cert.serial_hex)

    def rotate_kek(self, old_kek: bytes, new_kek: bytes) -> int:
        """Rewrap every stored key under ``new_kek``; certificates are untouched."""
        with _locked(self.directory):
            count = Sm4KeyStore(self.directory / "keys", old_kek).rewrap_all(new_kek)
        self.keys = Sm4KeyStore(self.directory / "keys", new_kek)
        return count
