"""In-house PKI (自建证书体系): root CA → issuing CA → seal / person certificates, plus the TSA.

State lives in files under a directory chosen by the caller — no database::

    <dir>/config.json          organisation name, default CRL URL, policy OIDs
    <dir>/root.pem             root CA certificate (trust anchor; export with export_root_pem())
    <dir>/root.key.pem         root CA key, PKCS#8 encrypted with the root passphrase
    <dir>/issuing.pem          issuing CA certificate (signs end-entity certificates and the CRL)
    <dir>/tsa.pem              current timestamp authority certificate (issued by the root)
    <dir>/tsa-history/*.pem    earlier TSA certificates (kept: old timestamps still validate)
    <dir>/root.crl             the root's CRL (ARL) for the certificates it issued (issuing CA,
                               TSA): long-term validation needs revocation data for each of them
    <dir>/roots/*.pem          earlier roots after a rollover (still trust anchors), with their
                               keys (*.key.pem) and last ARLs (*.crl)
    <dir>/issuing-history/*.pem  earlier certificates of the issuing CA key (one per root)
    <dir>/keys/*.key.json      issuing CA, TSA and end-entity keys, envelope-encrypted under the KEK
    <dir>/certs/<serial>.pem   every end-entity certificate issued
    <dir>/index.json           metadata of issued certificates
    <dir>/revoked.json         revocation list (serial, reason, time)
    <dir>/crl_number           monotonic CRL number

The root key (its passphrase) is needed by :meth:`CertificateAuthority.init`, to roll the TSA
(:meth:`~CertificateAuthority.roll_tsa`) or the root (:meth:`~CertificateAuthority.roll_root`)
and to refresh the ARL; signing, timestamping and CRLs need the KEK only.

Rollover: :meth:`~CertificateAuthority.roll_tsa` gives the TSA a new key and certificate (the
old certificate moves to ``tsa-history/``); :meth:`~CertificateAuthority.roll_root` makes a new
root, re-certifies the issuing CA's key under it (same key and name, so one CRL serves the
certificates of both generations) and rolls the TSA under the new root. The old root stays a
trust anchor (:attr:`~CertificateAuthority.trust_roots`), so signatures made before keep
validating; the old root also certifies the new one (a link certificate) for relying parties
that only imported the old root.

Certificate policies use a *private arc* ``1.3.6.1.4.1.55555.1`` (an IANA Private Enterprise
Number arc used as a placeholder: a production deployment must substitute its own registered
PEN). ``.1.1`` seal certificates, ``.1.2`` person certificates, ``.1.3`` the TSA policy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import (
    CertificateAuthorityError,
    CertificateNotFound,
    CertificateRevoked,
    WrongRootPassphrase,
)
from .keystore import EncryptedKeyStore, atomic_write

__all__ = [
    "POLICY_ARC",
    "POLICY_SEAL",
    "POLICY_PERSON",
    "POLICY_TSA",
    "KeyAlgorithm",
    "CertificateKind",
    "RevocationReason",
    "IssuedCertificate",
    "CertificateAuthority",
    "rotate_kek",
    "generate_private_key",
]

POLICY_ARC = "1.3.6.1.4.1.55555.1"
POLICY_SEAL = f"{POLICY_ARC}.1"
POLICY_PERSON = f"{POLICY_ARC}.2"
POLICY_TSA = f"{POLICY_ARC}.3"

KeyAlgorithm = Literal["ec-p256", "rsa-3072"]
CertificateKind = Literal["seal", "person"]
RevocationReason = Literal[
    "unspecified",
    "key_compromise",
    "ca_compromise",
    "affiliation_changed",
    "superseded",
    "cessation_of_operation",
    "certificate_hold",
    "privilege_withdrawn",
]

_ISSUING_KEY_ID = "issuing"
_TSA_KEY_ID = "tsa"
_CRL_VALIDITY = dt.timedelta(days=7)
# Short on purpose: past validation (ETSI time slide) moves its control time to an ARL's next
# update, which must fall before the expiry of the TSA and issuing CA certificates it speaks of.
_ARL_VALIDITY = dt.timedelta(days=30)
ROOT_DAYS = 365 * 20
# As long as the root (less a day): pyHanko's long-term validation only past-validates a
# signature whose chain fails now because of the end-entity certificate; an expired issuing CA
# fails it outright, so a 10-year issuing CA would end every archive at year 10.
ISSUING_DAYS = ROOT_DAYS - 1
TSA_DAYS = 365 * 10


def _now(now: dt.datetime | None = None) -> dt.datetime:
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)


def generate_private_key(algorithm: KeyAlgorithm = "ec-p256") -> CertificateIssuerPrivateKeyTypes:
    if algorithm == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "rsa-3072":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    raise CertificateAuthorityError(f"unsupported key algorithm {algorithm!r}")


def _hash_for(key: CertificateIssuerPrivateKeyTypes) -> hashes.SHA256:
    return hashes.SHA256()


def _serial_hex(serial: int) -> str:
    return format(serial, "x")


@dataclass(frozen=True)
class IssuedCertificate:
    """An end-entity certificate issued by the issuing CA, with its bookkeeping."""

    serial: int
    kind: CertificateKind
    organisation: str
    common_name: str
    not_before: dt.datetime
    not_after: dt.datetime
    key_in_store: bool
    certificate_pem: bytes
    revoked_at: dt.datetime | None = None
    revocation_reason: str | None = None
    renewed_from: int | None = None

    @property
    def serial_hex(self) -> str:
        return _serial_hex(self.serial)

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "serial": self.serial_hex,
            "kind": self.kind,
            "organisation": self.organisation,
            "common_name": self.common_name,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "key_in_store": self.key_in_store,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revocation_reason": self.revocation_reason,
            "renewed_from": _serial_hex(self.renewed_from) if self.renewed_from else None,
        }


def _name(common_name: str, organisation: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]
    if organisation:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _ca_builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: CertificatePublicKeyTypes,
    issuer_public_key: CertificatePublicKeyTypes,
    path_length: int,
    days: int,
    now: dt.datetime | None = None,
) -> x509.CertificateBuilder:
    now = _now(now)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key),  # type: ignore[arg-type]
            critical=False,
        )
    )


_SIGNER_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=True,  # nonRepudiation
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


class CertificateAuthority:
    """File-backed CA. Open with :meth:`init` (idempotent) or :meth:`open`."""

    def __init__(self, directory: Path, kek: bytes) -> None:
        self.directory = Path(directory)
        if not (self.directory / "issuing.pem").exists():
            raise CertificateAuthorityError(f"no CA in {self.directory}; call init() first")
        self.keys = EncryptedKeyStore(self.directory / "keys", kek)
        self.config: dict[str, Any] = json.loads((self.directory / "config.json").read_text())
        self.root_certificate = self._load_cert("root.pem")
        self.issuing_certificate = self._load_cert("issuing.pem")
        self.tsa_certificate = self._load_cert("tsa.pem")
        self.tsa_key_id: str = self.config.get("tsa_key_id", _TSA_KEY_ID)
        self._issuing_key: CertificateIssuerPrivateKeyTypes | None = None
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
        key_algorithm: KeyAlgorithm = "ec-p256",
    ) -> CertificateAuthority:
        """Create the CA under ``directory`` unless it already exists, then open it.

        Idempotent: a second call opens the existing CA (and fills in anything missing, e.g. a
        TSA certificate, which needs the root passphrase).
        """
        root_dir = Path(directory)
        root_dir.mkdir(parents=True, exist_ok=True)
        (root_dir / "certs").mkdir(exist_ok=True)
        keys = EncryptedKeyStore(root_dir / "keys", kek)
        with _locked(root_dir):
            config_path = root_dir / "config.json"
            if not config_path.exists():
                config = {
                    "organisation": organisation,
                    "crl_url": crl_url,
                    "policy_arc": POLICY_ARC,
                    "key_algorithm": key_algorithm,
                }
                atomic_write(
                    config_path, json.dumps(config, indent=1, ensure_ascii=False).encode(), 0o644
                )
            config = json.loads(config_path.read_text())
            org = config["organisation"]
            root_pem, root_key_pem = root_dir / "root.pem", root_dir / "root.key.pem"
            if not root_pem.exists():
                root_key = generate_private_key(key_algorithm)
                name = _name(f"{org} Root CA", org)
                cert = _ca_builder(
                    name, name, root_key.public_key(), root_key.public_key(), 1, ROOT_DAYS
                ).sign(root_key, _hash_for(root_key))
                atomic_write(
                    root_key_pem,
                    root_key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.BestAvailableEncryption(root_passphrase),
                    ),
                )
                atomic_write(root_pem, cert.public_bytes(serialization.Encoding.PEM), 0o644)
            needs_root = any(
                not (root_dir / name).exists() for name in ("issuing.pem", "tsa.pem", "root.crl")
            )
            if needs_root:
                try:
                    root_key_obj = serialization.load_pem_private_key(
                        root_key_pem.read_bytes(), password=root_passphrase
                    )
                except (ValueError, TypeError) as exc:
                    raise WrongRootPassphrase("the root CA passphrase is wrong") from exc
                assert isinstance(root_key_obj, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
                root_cert = x509.load_pem_x509_certificate(root_pem.read_bytes())
                if not (root_dir / "issuing.pem").exists():
                    issuing_key = generate_private_key(key_algorithm)
                    cert = _ca_builder(
                        _name(f"{org} Issuing CA", org),
                        root_cert.subject,
                        issuing_key.public_key(),
                        root_key_obj.public_key(),
                        0,
                        ISSUING_DAYS,
                    ).sign(root_key_obj, _hash_for(root_key_obj))
                    keys.store(_ISSUING_KEY_ID, issuing_key)
                    atomic_write(
                        root_dir / "issuing.pem",
                        cert.public_bytes(serialization.Encoding.PEM),
                        0o644,
                    )
                if not (root_dir / "tsa.pem").exists():
                    tsa_key = ec.generate_private_key(ec.SECP256R1())
                    cert = _tsa_certificate(org, root_cert, root_key_obj, tsa_key.public_key())
                    keys.store(_TSA_KEY_ID, tsa_key)
                    atomic_write(
                        root_dir / "tsa.pem", cert.public_bytes(serialization.Encoding.PEM), 0o644
                    )
                if not (root_dir / "root.crl").exists():
                    atomic_write(root_dir / "root.crl", _arl(root_cert, root_key_obj), 0o644)
            for state_file, default in (
                ("index.json", "{}"),
                ("revoked.json", "{}"),
                ("crl_number", "0"),
            ):
                if not (root_dir / state_file).exists():
                    atomic_write(root_dir / state_file, default.encode(), 0o644)
        return cls(root_dir, kek)

    @classmethod
    def open(cls, directory: str | Path, *, kek: bytes) -> CertificateAuthority:
        return cls(Path(directory), kek)

    def _load_cert(self, name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate((self.directory / name).read_bytes())

    def _issuer_key(self) -> CertificateIssuerPrivateKeyTypes:
        if self._issuing_key is None:
            key = self.keys.load(_ISSUING_KEY_ID)
            assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
            self._issuing_key = key
        return self._issuing_key

    def tsa_private_key(self) -> ec.EllipticCurvePrivateKey:
        key = self.keys.load(self.tsa_key_id)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    # ------------------------------------------------- generations and rollover
    def _history(self, folder: str) -> list[x509.Certificate]:
        certs = [
            x509.load_pem_x509_certificate(p.read_bytes())
            for p in sorted((self.directory / folder).glob("*.pem"))
            if not p.name.endswith(".key.pem")
        ]
        return sorted(certs, key=lambda c: c.not_valid_before_utc, reverse=True)

    @property
    def trust_roots(self) -> list[x509.Certificate]:
        """The current root first, then every earlier root (old signatures chain to them)."""
        return [self.root_certificate, *self._history("roots")]

    @property
    def tsa_certificates(self) -> list[x509.Certificate]:
        """The current TSA certificate first, then the earlier ones."""
        return [self.tsa_certificate, *self._history("tsa-history")]

    @property
    def issuing_certificates(self) -> list[x509.Certificate]:
        """Every certificate of the issuing CA's key (one per root), current first."""
        return [self.issuing_certificate, *self._history("issuing-history")]

    def link_certificates(self) -> list[x509.Certificate]:
        """Certificates of newer roots signed by older ones (made by :meth:`roll_root`)."""
        return self._history("links")

    def validation_certificates(self) -> list[x509.Certificate]:
        """Certificates a path may need besides the trust roots: issuing CA, TSA, links."""
        return [*self.issuing_certificates, *self.tsa_certificates, *self.link_certificates()]

    def authority_crls(self) -> list[bytes]:
        """The root's ARL, then the last ARL of every earlier root."""
        paths = [self.directory / "root.crl", *sorted((self.directory / "roots").glob("*.crl"))]
        return [p.read_bytes() for p in paths if p.exists()]  # no ARL yet: a CA before init()

    def validation_crls(self) -> list[bytes]:
        """Every CRL a validator needs: the issuing CA's current CRL and the roots' ARLs."""
        return [self.crl_der(), *self.authority_crls()]

    def _root_key(self, root_passphrase: bytes) -> CertificateIssuerPrivateKeyTypes:
        try:
            key = serialization.load_pem_private_key(
                (self.directory / "root.key.pem").read_bytes(), password=root_passphrase
            )
        except (ValueError, TypeError) as exc:
            raise WrongRootPassphrase("the root CA passphrase is wrong") from exc
        assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
        return key

    def refresh_authority_crl(
        self, root_passphrase: bytes, *, now: dt.datetime | None = None
    ) -> bytes:
        """Sign a new ARL now (``now`` for tests of the far future)."""
        der = _arl(self.root_certificate, self._root_key(root_passphrase), now)
        with _locked(self.directory):
            atomic_write(self.directory / "root.crl", der, 0o644)
        return der

    def authority_crl_stale(self, *, now: dt.datetime | None = None) -> bool:
        """True when the ARL is older than a week (or past its next update)."""
        arl = x509.load_der_x509_crl((self.directory / "root.crl").read_bytes())
        moment = _now(now)
        next_update = arl.next_update_utc
        return moment - arl.last_update_utc > dt.timedelta(days=7) or (
            next_update is not None and next_update <= moment
        )

    def roll_tsa(
        self, root_passphrase: bytes, *, now: dt.datetime | None = None, days: int = TSA_DAYS
    ) -> x509.Certificate:
        """New TSA key and certificate from the current root; the old certificate is kept."""
        root_key = self._root_key(root_passphrase)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _tsa_certificate(
            self.config["organisation"],
            self.root_certificate,
            root_key,
            key.public_key(),
            now,
            days,
        )
        key_id = f"tsa-{_serial_hex(cert.serial_number)}"
        with _locked(self.directory):
            self.keys.store(key_id, key)
            _archive_pem(self.directory / "tsa-history", self.tsa_certificate)
            atomic_write(
                self.directory / "tsa.pem", cert.public_bytes(serialization.Encoding.PEM), 0o644
            )
            self.config["tsa_key_id"] = key_id
            self._write_json("config.json", self.config)
            atomic_write(
                self.directory / "root.crl", _arl(self.root_certificate, root_key, now), 0o644
            )
        self.tsa_certificate, self.tsa_key_id = cert, key_id
        return cert

    def roll_root(
        self,
        root_passphrase: bytes,
        *,
        new_passphrase: bytes | None = None,
        now: dt.datetime | None = None,
    ) -> x509.Certificate:
        """Introduce a new root: re-certify the issuing CA key under it, roll the TSA under it,
        keep the old root (a trust anchor still) and have it certify the new one."""
        old_key = self._root_key(root_passphrase)
        old_root = self.root_certificate
        org = self.config["organisation"]
        new_key = generate_private_key(self.config.get("key_algorithm", "ec-p256"))
        moment = _now(now)
        generation = moment.strftime("%Y%m%dT%H%M%S")
        name = _name(f"{org} Root CA {moment:%Y}", org)
        new_root = _ca_builder(
            name, name, new_key.public_key(), new_key.public_key(), 1, ROOT_DAYS, now
        ).sign(new_key, _hash_for(new_key))
        link = _ca_builder(
            name,
            old_root.subject,
            new_key.public_key(),
            old_key.public_key(),
            1,
            max(1, (old_root.not_valid_after_utc - moment).days),
            now,
        ).sign(old_key, _hash_for(old_key))
        issuing_key = self._issuer_key()
        issuing = _ca_builder(
            self.issuing_certificate.subject,
            name,
            issuing_key.public_key(),
            new_key.public_key(),
            0,
            ISSUING_DAYS,
            now,
        ).sign(new_key, _hash_for(new_key))
        pem = serialization.Encoding.PEM
        with _locked(self.directory):
            roots = self.directory / "roots"
            _archive_pem(roots, old_root)
            serial = _serial_hex(old_root.serial_number)
            atomic_write(roots / f"{serial}.crl", (self.directory / "root.crl").read_bytes(), 0o644)
            # still encrypted under the old passphrase; kept to sign a last ARL if ever needed
            atomic_write(
                roots / f"{serial}.key.pem", (self.directory / "root.key.pem").read_bytes()
            )
            _archive_pem(self.directory / "links", link, f"{generation}.pem")
            _archive_pem(self.directory / "issuing-history", self.issuing_certificate)
            atomic_write(
                self.directory / "root.key.pem",
                new_key.private_bytes(
                    pem,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(new_passphrase or root_passphrase),
                ),
            )
            atomic_write(self.directory / "root.pem", new_root.public_bytes(pem), 0o644)
            atomic_write(self.directory / "issuing.pem", issuing.public_bytes(pem), 0o644)
        self.root_certificate, self.issuing_certificate = new_root, issuing
        self._crl_cache = None
        self.roll_tsa(new_passphrase or root_passphrase, now=now)
        return new_root

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
        key_algorithm: KeyAlgorithm | None = None,
        public_key: CertificatePublicKeyTypes | None = None,
        crl_url: str | None = None,
        validity_days: int = 365 * 2,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        renewed_from: int | None = None,
    ) -> IssuedCertificate:
        """Issue a seal (机构电子印章) or person certificate.

        Without ``public_key`` a key pair is generated and stored encrypted under the KEK; with it
        (e.g. a PKCS#11 token's public key) only the certificate is issued.
        """
        if common_name is None:
            common_name = f"{organisation} 电子印章" if kind == "seal" else organisation
        private_key: PrivateKeyTypes | None = None
        if public_key is None:
            private_key = generate_private_key(
                key_algorithm or self.config.get("key_algorithm", "ec-p256")
            )
            public_key = private_key.public_key()
        assert public_key is not None
        now = _now()
        start = not_before or now - dt.timedelta(minutes=5)
        end = not_after or start + dt.timedelta(days=validity_days)
        url = crl_url or self.config.get("crl_url")
        issuer = self.issuing_certificate
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, organisation))
            .issuer_name(issuer.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_SIGNER_KEY_USAGE, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
                ),
                critical=False,
            )
            .add_extension(
                x509.CertificatePolicies(
                    [
                        x509.PolicyInformation(
                            x509.ObjectIdentifier(POLICY_SEAL if kind == "seal" else POLICY_PERSON),
                            None,
                        )
                    ]
                ),
                critical=False,
            )
        )
        if url:
            builder = builder.add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            [x509.UniformResourceIdentifier(url)], None, None, None
                        )
                    ]
                ),
                critical=False,
            )
        issuer_key = self._issuer_key()
        cert = builder.sign(issuer_key, _hash_for(issuer_key))
        serial_hex = _serial_hex(cert.serial_number)
        with _locked(self.directory):
            if private_key is not None:
                self.keys.store(serial_hex, private_key)
            atomic_write(
                self.directory / "certs" / f"{serial_hex}.pem",
                cert.public_bytes(serialization.Encoding.PEM),
                0o644,
            )
            index = self._read_json("index.json")
            index[serial_hex] = {
                "kind": kind,
                "organisation": organisation,
                "common_name": common_name,
                "not_before": start.isoformat(),
                "not_after": end.isoformat(),
                "key_in_store": private_key is not None,
                "renewed_from": _serial_hex(renewed_from) if renewed_from else None,
            }
            self._write_json("index.json", index)
        return self.get(serial_hex)

    def renew(
        self, serial: int | str, *, validity_days: int = 365 * 2, new_key: bool = True
    ) -> IssuedCertificate:
        """Issue a new certificate for the same subject (new key pair unless ``new_key=False``).

        The old certificate stays valid until it expires or is revoked (reason ``superseded``).
        """
        old = self.get(serial)
        public_key = None
        if not new_key:
            if not old.key_in_store:
                public_key = old.certificate.public_key()
            else:
                raise CertificateAuthorityError("renewal with the same stored key is not supported")
        crl_url = None
        with contextlib.suppress(x509.ExtensionNotFound):
            dps = old.certificate.extensions.get_extension_for_class(
                x509.CRLDistributionPoints
            ).value
            names = dps[0].full_name or []
            crl_url = str(names[0].value) if names else None
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
        invalid_since: dt.datetime | None = None,
    ) -> IssuedCertificate:
        """Revoke ``serial``; ``invalid_since`` (CRL invalidity date) is when a compromised key
        is known or suspected to have stopped being safe — signatures made after it fail."""
        cert = self.get(serial)
        try:
            x509.ReasonFlags[reason]
        except KeyError as exc:
            raise CertificateAuthorityError(f"unknown revocation reason {reason!r}") from exc
        with _locked(self.directory):
            revoked = self._read_json("revoked.json")
            if cert.serial_hex not in revoked:
                revoked[cert.serial_hex] = {
                    "reason": reason,
                    "revoked_at": (revoked_at or _now()).isoformat(),
                }
                if invalid_since is not None:
                    revoked[cert.serial_hex]["invalid_since"] = invalid_since.isoformat()
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
        """The issuing CA's current CRL (DER), regenerated when stale or after a revocation."""
        revoked = self._read_json("revoked.json")
        now = _now()
        if self._crl_cache is not None:
            count, made_at, der = self._crl_cache
            if count == len(revoked) and now - made_at < dt.timedelta(hours=1):
                return der
        with _locked(self.directory):
            number = int((self.directory / "crl_number").read_text().strip() or "0") + 1
            atomic_write(self.directory / "crl_number", str(number).encode(), 0o644)
        issuer = self.issuing_certificate
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.subject)
            .last_update(now - dt.timedelta(minutes=1))
            .next_update(now + _CRL_VALIDITY)
            .add_extension(x509.CRLNumber(number), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
                ),
                critical=False,
            )
        )
        for serial_hex, info in sorted(revoked.items()):
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(int(serial_hex, 16))
                .revocation_date(dt.datetime.fromisoformat(info["revoked_at"]))
            )
            if info["reason"] != "unspecified":
                entry = entry.add_extension(
                    x509.CRLReason(x509.ReasonFlags[info["reason"]]), critical=False
                )
            if info.get("invalid_since"):
                entry = entry.add_extension(
                    x509.InvalidityDate(dt.datetime.fromisoformat(info["invalid_since"])),
                    critical=False,
                )
            builder = builder.add_revoked_certificate(entry.build())
        issuer_key = self._issuer_key()
        der = builder.sign(issuer_key, _hash_for(issuer_key)).public_bytes(
            serialization.Encoding.DER
        )
        self._crl_cache = (len(revoked), now, der)
        return der

    # ----------------------------------------------------------------- signers
    def private_key(self, serial: int | str) -> PrivateKeyTypes:
        cert = self.get(serial)
        if cert.revoked:
            raise CertificateRevoked(f"certificate {cert.serial_hex} is revoked")
        if not cert.key_in_store:
            raise CertificateAuthorityError(f"the key of {cert.serial_hex} is not held by this CA")
        return self.keys.load(cert.serial_hex)

    def rotate_kek(self, old_kek: bytes, new_kek: bytes) -> int:
        """Rewrap every stored key under ``new_kek``; certificates are untouched."""
        return rotate_kek(self.directory, old_kek, new_kek, ca=self)


def rotate_kek(
    directory: str | Path, old_kek: bytes, new_kek: bytes, *, ca: CertificateAuthority | None = None
) -> int:
    """Rewrap all DEKs of the CA in ``directory`` from ``old_kek`` to ``new_kek``."""
    with _locked(Path(directory)):
        store = EncryptedKeyStore(Path(directory) / "keys", old_kek)
        count = store.rewrap_all(new_kek)
    if ca is not None:
        ca.keys = EncryptedKeyStore(Path(directory) / "keys", new_kek)
    return count


def _archive_pem(folder: Path, cert: x509.Certificate, name: str | None = None) -> None:
    folder.mkdir(exist_ok=True)
    target = folder / (name or f"{_serial_hex(cert.serial_number)}.pem")
    atomic_write(target, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _arl(
    root_cert: x509.Certificate,
    root_key: CertificateIssuerPrivateKeyTypes,
    now: dt.datetime | None = None,
) -> bytes:
    """The root's CRL (ARL) over what it issued — the issuing CA and the TSA, none revoked:
    ETSI EN 319 102-1's past validation needs revocation data for every certificate of a path
    below the trust anchor."""
    moment = _now(now)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root_cert.subject)
        .last_update(moment - dt.timedelta(minutes=1))
        .next_update(moment + _ARL_VALIDITY)
        .add_extension(x509.CRLNumber(int(moment.timestamp())), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
    )
    return builder.sign(root_key, _hash_for(root_key)).public_bytes(serialization.Encoding.DER)


_TSA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,  # a TSA signs tokens, never documents (no nonRepudiation)
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def _tsa_certificate(
    organisation: str,
    root_cert: x509.Certificate,
    root_key: CertificateIssuerPrivateKeyTypes,
    public_key: CertificatePublicKeyTypes,
    now: dt.datetime | None = None,
    days: int = TSA_DAYS,
) -> x509.Certificate:
    now = _now(now)
    days = min(days, (root_cert.not_valid_after_utc - now).days)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(f"{organisation} Timestamp Authority", organisation))
        .issuer_name(root_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_TSA_KEY_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.CertificatePolicies(
                [x509.PolicyInformation(x509.ObjectIdentifier(POLICY_TSA), None)]
            ),
            critical=False,
        )
        .sign(root_key, _hash_for(root_key))
    )


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def new_kek() -> bytes:
    """A fresh random 256-bit key-encryption key."""
    return secrets.token_bytes(32)
