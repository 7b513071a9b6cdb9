"""Canonical JSON: one byte representation per value, for hashes and digests."""

from __future__ import annotations

import hashlib
import json
from typing import Any

# One encoder, reused: json.dumps with options builds a new one per call (~25% of the cost
# of canonicalising an audit event).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_json(value: Any) -> str:
    return _ENCODER.encode(value)


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()
