"""国密 profile of the signing library: SM2 signatures with SM3, SM4-GCM keys at rest, SM2 PKI,
SM2 timestamps, GB/T 38540 electronic-seal structures. See signing/README.md, "国密 profile".

Importing any module of this package registers the SM OIDs with asn1crypto (:mod:`.oids`).
"""

from . import oids

oids.install()
