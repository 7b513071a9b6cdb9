"""Signed checkpoints of the audit chain (审计检查点).

A hash chain alone proves nothing to someone who can write the database: they can cut its end
or recompute it after an edit. A checkpoint is the system seal's signature over the head of the
chain (seq, hash, hash algorithm, time). It is stored in the database, appended to
``<data dir>/audit/checkpoints.jsonl`` (append-only, 0600) and copied into every export and
evidence package, so a copy survives outside the database. :func:`verify_anchored` checks the
chain against every checkpoint it can find and names a truncation ("审计日志在第 N 条之后被截断")
or a rewrite.

When: the first commit that writes events when none exists yet, then whenever a transaction that
wrote events commits and ``audit_checkpoint_events`` events or ``audit_checkpoint_minutes``
minutes have passed since the last one; every ``audit_checkpoint_minutes`` by the app's clock
thread (:func:`run_clock`) when events are not covered yet; on every export and evidence
package; on demand (``jingpin audit checkpoint``, e.g. from cron beside ``jingpin worker``). A checkpoint is written in its own unit of work after the
events committed, so a rolled-back transaction never leaves a checkpoint of events that do not
exist. The signer (the system seal, backend.pki) is a layer above: wiring installs it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from backend.audit_log.models import AuditCheckpoint
from backend.audit_log.service import HEAD_KEY, head, lock_writers, verify_chain
from backend.core.canonical import canonical_json
from backend.core.config import get_settings
from backend.core.dates import to_shanghai
from backend.core.db import get_engine, utcnow, writer

log = logging.getLogger(__name__)

STATEMENT_TYPE = "jingpin-audit-checkpoint"
_FILE_KEY = "audit_checkpoint_lines"  # session.info: lines to append once the session commits

# (algorithm, signature base64, certificate PEM) of the system seal over the statement bytes
Signer = Callable[[bytes], tuple[str, str, str]]
# None when the signature is the system seal's, else the reason (Chinese)
Checker = Callable[[bytes, str, str, str], str | None]

_signer: Signer | None = None
# The last checkpoint seen per database (seq, at): spares a query on most commits.
_last_seen: dict[str, tuple[int, datetime]] = {}


def install_signer(signer: Signer) -> None:
    global _signer
    _signer = signer


def checkpoint_file() -> Path:
    return get_settings().data_dir / "audit" / "checkpoints.jsonl"


def as_dict(cp: AuditCheckpoint) -> dict[str, Any]:
    """A checkpoint as it goes to the file, exports and evidence packages."""
    return {
        "seq": cp.seq,
        "head_hash": cp.head_hash,
        "hash_algorithm": cp.hash_algorithm,
        "at": cp.at.isoformat(),
        "reason": cp.reason,
        "statement": cp.statement,
        "signature_algorithm": cp.signature_algorithm,
        "signature": cp.signature,
        "certificate_pem": cp.certificate_pem,
    }


def latest(session: Session) -> AuditCheckpoint | None:
    return session.exec(
        select(AuditCheckpoint)
        .order_by(col(AuditCheckpoint.seq).desc(), col(AuditCheckpoint.id).desc())
        .limit(1)
    ).first()


def write(session: Session, *, reason: str) -> AuditCheckpoint | None:
    """Sign the current head in ``session``'s transaction (the caller commits); the file copy is
    appended after the commit. Returns the latest checkpoint if it already covers the head, and
    None when the log is empty."""
    if _signer is None:
        raise RuntimeError("no checkpoint signer: call backend.wiring.install()")
    lock_writers(session)
    top = head(session)
    if top is None:
        return None
    last = latest(session)
    if last is not None and last.seq == top.seq and last.head_hash == top.hash:
        return last
    at = utcnow()
    statement = canonical_json(
        {
            "type": STATEMENT_TYPE,
            "seq": top.seq,
            "head_hash": top.hash,
            "hash_algorithm": top.hash_algorithm,
            "at": at.isoformat(),
        }
    )
    algorithm, signature, certificate = _signer(statement.encode())
    cp = AuditCheckpoint(
        seq=top.seq,
        head_hash=top.hash,
        hash_algorithm=top.hash_algorithm,
        at=at,
        reason=reason,
        statement=statement,
        signature_algorithm=algorithm,
        signature=signature,
        certificate_pem=certificate,
    )
    session.add(cp)
    session.flush()
    session.info.setdefault(_FILE_KEY, []).append(json.dumps(as_dict(cp), sort_keys=True))
    _last_seen[_key(session.get_bind())] = (cp.seq, cp.at)
    return cp


def checkpoint_now(*, reason: str, engine: Engine | None = None) -> dict[str, Any] | None:
    """Write (or reuse) a checkpoint of the head in a unit of work of its own, committed."""
    with Session(writer(engine or get_engine()), expire_on_commit=False) as session:
        cp = write(session, reason=reason)
        session.commit()
        return as_dict(cp) if cp else None


def tick() -> dict[str, Any] | None:
    """One beat of the clock: anchor whatever the last checkpoint does not cover yet (a quiet
    log must not leave its last events unanchored until the next write)."""
    try:
        return checkpoint_now(reason="interval")
    except Exception:
        log.exception("audit checkpoint could not be written")
        return None


def run_clock(stop: threading.Event) -> None:
    """Call :func:`tick` every ``audit_checkpoint_minutes`` until ``stop`` is set (the app)."""
    while not stop.wait(get_settings().audit_checkpoint_minutes * 60):
        tick()


def _key(bind: Any) -> str:
    return str(getattr(bind, "url", bind))


def _due(bind: Any, head_seq: int) -> bool:
    s = get_settings()
    seen = _last_seen.get(_key(bind))
    if seen is None:
        return True  # not known in this process yet: look in the database
    seq, at = seen
    if head_seq <= seq:
        return False
    return head_seq - seq >= s.audit_checkpoint_events or utcnow() - at >= timedelta(
        minutes=s.audit_checkpoint_minutes
    )


def _append(lines: list[str]) -> None:
    path = checkpoint_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, "".join(line + "\n" for line in lines).encode())
        os.fsync(fd)
    finally:
        os.close(fd)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT released (SQLAlchemy 2.1 calls this hook for those too)
    lines = session.info.pop(_FILE_KEY, None)
    if lines:
        _append(lines)
    head_seq = session.info.pop(HEAD_KEY, None)
    if head_seq is None or _signer is None:
        return
    bound = session.get_bind()
    bind = bound if isinstance(bound, Engine) else bound.engine
    if not _due(bind, head_seq):
        return
    try:
        with Session(writer(bind), expire_on_commit=False) as cs:
            lock_writers(cs)
            last = latest(cs)
            if last is not None:
                _last_seen[_key(bind)] = (last.seq, last.at)
            if last is None or _due(bind, head_seq):
                write(cs, reason="first" if last is None else "events")
            cs.commit()
    except Exception:
        # The events are committed already; the next commit tries again. Never lose the
        # caller's result to a checkpoint failure, but say so.
        log.exception("audit checkpoint could not be written")


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    if session.in_nested_transaction():
        return
    # A checkpoint that rolled back must never reach the file (it would claim events that do
    # not exist); forget what this session wrote.
    if session.info.pop(_FILE_KEY, None):
        _last_seen.pop(_key(session.get_bind()), None)
    session.info.pop(HEAD_KEY, None)


# --------------------------------------------------------------------------- verification
@dataclass(frozen=True)
class Anchor:
    seq: int
    head_hash: str
    at: str
    source: str  # 数据库 / 检查点文件 / 导出


@dataclass
class AnchoredStatus:
    """The chain checked against its signed checkpoints. ``code``: 0 intact and anchored,
    1 broken, rewritten, truncated or a forged checkpoint, 2 intact but no checkpoint yet (a cut
    at the end could not be seen)."""

    code: int
    message: str
    events: int = 0
    checkpoint_seq: int | None = None
    first_bad_seq: int | None = None  # the chain's own first broken event
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 0


def _parse(raw: dict[str, Any], source: str, check: Checker) -> tuple[Anchor | None, str | None]:
    try:
        statement = str(raw["statement"])
        body = json.loads(statement)
        if body.get("type") != STATEMENT_TYPE:
            return None, f"{source}中的检查点格式错误"
        problem = check(
            statement.encode(),
            str(raw["signature_algorithm"]),
            str(raw["signature"]),
            str(raw["certificate_pem"]),
        )
        anchor = Anchor(int(body["seq"]), str(body["head_hash"]), str(body["at"]), source)
    except (KeyError, TypeError, ValueError):
        return None, f"{source}中的检查点格式错误"
    if problem:
        return None, f"{source}中第 {anchor.seq} 号事件的检查点签名无效：{problem}"
    return anchor, None


def read_file(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    """The checkpoints in the append-only file (none if it does not exist)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return [], None
    except OSError as exc:
        return [], f"无法读取检查点文件：{exc.strerror}"
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            return out, f"检查点文件第 {n} 行格式错误"
    return out, None


def _when(at: str) -> str:
    try:
        return f"{to_shanghai(datetime.fromisoformat(at)):%Y-%m-%d %H:%M:%S}（北京时间）"
    except ValueError:
        return at


def verify_anchored(
    session: Session,
    *,
    check: Checker,
    path: Path | None = None,
    extra: list[dict[str, Any]] | None = None,
) -> AnchoredStatus:
    """Check the chain, then the chain against every checkpoint: database, file, ``extra``."""
    raw: list[tuple[dict[str, Any], str]] = [
        (as_dict(cp), "数据库") for cp in session.exec(select(AuditCheckpoint))
    ]
    file_rows, file_problem = read_file(path or checkpoint_file())
    if file_problem:
        return AnchoredStatus(1, file_problem)
    raw += [(r, "检查点文件") for r in file_rows]
    raw += [(r, "导出文件") for r in extra or []]
    anchors: dict[tuple[int, str], Anchor] = {}
    for r, source in raw:
        anchor, problem = _parse(r, source, check)
        if problem:
            return AnchoredStatus(1, problem)
        assert anchor is not None
        anchors.setdefault((anchor.seq, anchor.head_hash), anchor)
    chain = verify_chain(session, keep={a.seq for a in anchors.values()})
    if not chain.ok:
        return AnchoredStatus(
            1, chain.message, chain.events, first_bad_seq=chain.first_bad_seq, reason=chain.reason
        )
    ordered = sorted(anchors.values(), key=lambda a: a.seq)
    good = 0
    for a in ordered:
        if a.seq > chain.head_seq:
            return AnchoredStatus(
                1,
                f"审计日志在第 {chain.head_seq} 条之后被截断：{_when(a.at)}的签名检查点"
                f"（{a.source}）记录了 {a.seq} 条事件",
                chain.events,
                a.seq,
            )
        if chain.hashes.get(a.seq) != a.head_hash:
            return AnchoredStatus(
                1,
                f"审计日志已被改写：第 {a.seq} 号事件与{_when(a.at)}的签名检查点（{a.source}）"
                f"不符，改动在第 {good + 1} 至 {a.seq} 号事件之间",
                chain.events,
                a.seq,
            )
        good = a.seq
    if not ordered:
        if chain.events == 0:
            return AnchoredStatus(0, "审计日志为空", 0)
        return AnchoredStatus(
            2,
            f"{chain.message}，但尚无签名检查点，无法确认末尾未被截断"
            "（可执行 jingpin audit checkpoint）",
            chain.events,
        )
    top = ordered[-1]
    pending = chain.head_seq - top.seq
    tail = f"，其后 {pending} 条将由下一个检查点覆盖" if pending else ""
    return AnchoredStatus(
        0,
        f"{chain.message}；签名检查点 {len(ordered)} 个，最新一个覆盖至第 {top.seq} 号事件"
        f"（{_when(top.at)}）{tail}",
        chain.events,
        top.seq,
    )
