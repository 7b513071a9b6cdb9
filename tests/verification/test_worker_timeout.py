"""Issue 14.8: a verification that outlives its time limit stops using the machine. The file here
takes several seconds to verify (one incremental update defining 300 000 objects, which the
difference analysis walks); with the pool's limit lowered to 2 s the library gives up waiting at
1.6 s, and the worker process that was still working on it is killed and replaced, never put
back into the pool. The next verification runs on a fresh worker."""

from __future__ import annotations

import re

import psutil
import pytest
from sqlmodel import Session

from backend.pki.service import trust_material
from backend.verification.worker import VerificationAborted, VerificationPool
from tests.verification.conftest import revisions, signed_agreement


def slow_pdf(signed: bytes, objects: int = 80_000) -> bytes:
    """``signed`` plus one incremental update that defines ``objects`` new objects."""
    out = bytearray(signed)
    prev = int(re.findall(rb"startxref\s+(\d+)", signed)[-1])
    size = int(re.findall(rb"/Size (\d+)", signed)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", signed)[-1]
    offsets = []
    for j in range(objects):
        offsets.append(len(out))
        out += b"%d 0 obj\n<< /N %d >>\nendobj\n" % (size + j, j)
    xref = len(out)
    out += b"xref\n%d %d\n" % (size, objects)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        size + objects,
        root,
        prev,
        xref,
    )
    return bytes(out)


def test_timed_out_worker_process_is_killed_and_the_pool_stays_usable(session: Session) -> None:
    signed = revisions(session, signed_agreement(session))[-1]
    pool = VerificationPool(1, timeout=2.0)
    pool.start()
    try:
        (before,) = pool.pids()
        # our own roots and CRLs: the whole validation runs, difference analysis included
        roots, crls = trust_material()
        with pytest.raises(VerificationAborted) as err:
            pool.verify(slow_pdf(signed, 300_000), trust_roots=roots, crls=crls)
        assert err.value.status_code == 422 and err.value.extra["reason"] == "timeout"
        assert not psutil.pid_exists(before)  # killed and reaped, not left burning CPU
        assert pool.stats().killed == 1 and before not in pool.pids()
        (fresh,) = pool.pids()
        report = pool.verify(signed, trust_roots=roots, crls=crls)
        assert report.signatures and report.indication == "TOTAL_PASSED"
        assert pool.pids() == [fresh] and pool.stats().completed == 1
    finally:
        pool.stop()
