"""Verification worker pool (验签工作进程池): a hostile file costs one worker, not the service.

Each worker is a separate process (``spawn``: no state inherited from the threaded web server)
that runs :func:`signing.verify.verify_pdf` under ``RLIMIT_AS`` (address-space limit) and
answers one request at a time over a pipe. The parent waits at most ``timeout`` seconds; a worker
that does not answer in time, or dies (out of memory, crash), is killed and replaced, and the
caller gets :class:`VerificationAborted` (422) instead of a report. Requests beyond the pool's
capacity wait in line up to ``queue_timeout`` seconds, then get ``ServiceBusy`` (503).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import multiprocessing as mp
import os
import queue
import resource
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from backend.core.config import get_settings
from backend.core.errors import JingpinError, ServiceBusy
from signing.verify import VerificationLimits, VerificationReport

log = logging.getLogger("jingpin.verification.worker")


class VerificationAborted(JingpinError):
    """The file exhausted the worker's time or memory; no verdict can be given (验证被中止)."""

    status_code = 422
    code = "verification_aborted"
    message = "该文件过于复杂或已损坏，验证在资源限制内未能完成，无法给出结论"


@dataclass(frozen=True)
class Task:
    data: bytes
    trust_roots: list[bytes]
    crls: list[bytes]
    limits: VerificationLimits
    at: dt.datetime | None = None


def _worker_main(conn: Connection, memory_bytes: int) -> None:
    """Worker loop: limit memory, warm the imports, then verify one task per message."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # Imported here, after the memory limit, so the parent never loads the verifier for the
    # pool and the child's import counts against its own limit (deliberate: PLC0415).
    from signing.verify import verify_pdf  # noqa: PLC0415

    # One verification allocates a few hundred thousand short-lived objects (PDF and ASN.1
    # parsing): collecting every 700 allocations, over the imported modules too, cost ~8 % of
    # each report. Memory stays bounded by RLIMIT_AS and by the worker's one-file-at-a-time loop.
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            report = verify_pdf(
                task.data,
                trust_roots=task.trust_roots,
                crls=task.crls,
                limits=task.limits,
                at=task.at,
            )
            conn.send(("ok", report))
        except MemoryError:
            conn.send(("error", "memory"))
        except BaseException as exc:  # never let a hostile file kill the loop silently
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class _Worker:
    def __init__(self, ctx: Any, memory_bytes: int) -> None:
        parent, child = ctx.Pipe()
        self.conn: Connection = parent
        self.process = ctx.Process(
            target=_worker_main,
            args=(child, memory_bytes),
            name="jingpin-verify-worker",
            daemon=True,
        )
        self.process.start()
        child.close()
        self.ready = False
        self.tasks = 0

    def wait_ready(self, timeout: float) -> bool:
        if not self.ready and self.conn.poll(timeout):
            try:
                self.ready = self.conn.recv()[0] == "ready"
            except (EOFError, OSError):
                return False
        return self.ready

    def kill(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # already gone
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


@dataclass
class PoolStats:
    workers: int
    idle: int
    completed: int
    killed: int


class VerificationPool:
    """``workers`` processes, each limited to ``memory_bytes`` of address space; ``timeout``
    seconds per file (the library's own timeout is set a little below it)."""

    def __init__(
        self,
        workers: int = 2,
        *,
        timeout: float = 30.0,
        memory_bytes: int = 1536 * 1024 * 1024,
        queue_timeout: float = 30.0,
        start_timeout: float = 60.0,
    ) -> None:
        self.size = max(1, workers)
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self.queue_timeout = queue_timeout
        self.start_timeout = start_timeout
        self._ctx = mp.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._started = False
        self.completed = 0
        self.killed = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            workers = [self._spawn() for _ in range(self.size)]
            self._started = True
        for w in workers:
            w.wait_ready(self.start_timeout)
            self._idle.put(w)

    def _spawn(self) -> _Worker:
        w = _Worker(self._ctx, self.memory_bytes)
        self._all.add(w)
        return w

    def stop(self) -> None:
        with self._lock:
            workers, self._all = list(self._all), set()
            self._started = False
            self._idle = queue.Queue()
        for w in workers:
            with contextlib.suppress(OSError, ValueError):
                w.conn.send(None)
            w.kill()

    def stats(self) -> PoolStats:
        return PoolStats(len(self._all), self._idle.qsize(), self.completed, self.killed)

    def pids(self) -> list[int]:
        return [w.process.pid for w in self._all if w.process.pid]

    # ------------------------------------------------------------------ work
    def verify(
        self,
        data: bytes,
        *,
        trust_roots: list[bytes],
        crls: list[bytes],
        at: dt.datetime | None = None,
    ) -> VerificationReport:
        """Verify in a worker (blocks the calling thread; call it from a thread pool)."""
        if not self._started:
            self.start()
        try:
            worker = self._idle.get(timeout=self.queue_timeout)
        except queue.Empty as exc:
            raise ServiceBusy(
                "验签服务繁忙，请稍后重试", code="verifier_busy", headers={"Retry-After": "5"}
            ) from exc
        limits = VerificationLimits(timeout_seconds=max(1.0, self.timeout * 0.8))
        deadline = time.monotonic() + self.timeout
        try:
            if not worker.wait_ready(self.start_timeout):
                raise _WorkerLost("worker did not start")
            worker.conn.send(Task(bytes(data), trust_roots, crls, limits, at))
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                raise _WorkerLost("timeout")
            status, value = worker.conn.recv()
        except Exception as exc:  # lost, timed out, or an answer that does not unpickle
            self._replace(worker, str(exc))
            raise VerificationAborted(
                extra={"reason": "timeout" if str(exc) == "timeout" else "worker_lost"}
            ) from exc
        if status != "ok":
            # The worker survived but the task raised (usually memory): start afresh anyway.
            self._replace(worker, str(value))
            raise VerificationAborted(extra={"reason": "memory" if value == "memory" else "error"})
        worker.tasks += 1
        self.completed += 1
        self._idle.put(worker)
        return value

    def _replace(self, worker: _Worker, why: str) -> None:
        log.warning("verification worker %s killed and replaced (%s)", worker.process.pid, why)
        self.killed += 1
        worker.kill()
        with self._lock:
            self._all.discard(worker)
            if not self._started:
                return
            fresh = self._spawn()
        self._idle.put(fresh)  # wait_ready happens on first use, off this request's clock


class _WorkerLost(Exception):
    pass


_pool: VerificationPool | None = None
_pool_lock = threading.Lock()


def get_verification_pool() -> VerificationPool:
    """The process-wide pool, sized from the settings (started on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            s = get_settings()
            _pool = VerificationPool(
                s.verify_workers or (os.cpu_count() or 2),
                timeout=s.verify_timeout_seconds,
                memory_bytes=s.verify_memory_mb * 1024 * 1024,
            )
        return _pool


def set_verification_pool(pool: VerificationPool | None) -> VerificationPool | None:
    """Swap the process-wide pool (tests share one warm pool); returns the previous one."""
    global _pool
    with _pool_lock:
        previous, _pool = _pool, pool
    return previous
