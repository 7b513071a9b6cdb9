"""Office → PDF through a pool of warm LibreOffice instances (unoserver) that the app runs itself.

Why a pool: a one-shot `soffice --convert-to pdf` pays ~1 s of start-up per document; a warm
instance converts the 6-page agreement in ~0.12 s. Each instance is unoserver's server run
through `uno_server.py` (which loads documents hidden) by Debian's python, which has `uno`,
with its own XML-RPC port, UNO port and LibreOffice profile under
`<data_dir>/converter/`, started in its own process group so that a crash, a hang or a routine
recycle can kill the whole tree (unoserver + soffice.bin) at once.

Behaviour callers rely on:
- `convert()` is thread-safe; `convert_async()` runs it in a dedicated thread pool.
- Back-pressure: when `max_queue` requests already wait for an instance, `ServiceBusy` (503)
  with `Retry-After` instead of an unbounded queue.
- An instance that crashes is restarted in the background and the request is retried once on
  another (or the restarted) instance; a conversion that outlives its timeout kills the instance
  (`ConversionTimeout`), which is then restarted; after `restart_after` conversions an instance
  is recycled to bound LibreOffice's memory growth.
- If no instance can start (no `uno`, wrong python, no unoserver), a one-shot soffice per
  document is the fallback, with a logged warning — slower, never silent.

The PDF language (/Lang) is the DOCX's default Western language (docDefaults `w:lang w:val`):
the templates set zh-CN there and en-US on their Normal style, for Latin line breaking.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import fcntl
import http.client
import json
import logging
import math
import os
import queue
import signal
import socket
import subprocess
import tempfile
import threading
import time
import xmlrpc.client
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from unoserver.client import API_VERSION, UnoClient

from backend.core.config import Settings, get_settings
from backend.core.errors import JingpinError, ServiceBusy
from backend.core.metrics import CONVERSIONS

log = logging.getLogger(__name__)
# unoserver's client logs three INFO lines per conversion; ours says what matters.
logging.getLogger("unoserver").setLevel(logging.WARNING)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_UNO_SITE = REPO / ".venv" / "uno-site"
# unoserver's server, loading documents hidden (see that module); run as a script.
UNO_SERVER = Path(__file__).with_name("uno_server.py")
# Writer documents only: the project installs libreoffice-writer-nogui, not Calc (the 推进表's
# PDF is made from its DOCX).
SourceFormat = Literal["docx", "odt"]
_PDF_FILTERS = {
    "docx": "writer_pdf_Export",
    "odt": "writer_pdf_Export",
}


class ConversionFailed(JingpinError):
    """LibreOffice could not convert this document (bad input, not a busy or broken pool)."""

    status_code = 500
    code = "conversion_failed"
    message = "文档转换失败"


class ConversionTimeout(ConversionFailed):
    """The conversion outlived its timeout; the instance was killed and is being restarted."""

    status_code = 504
    code = "conversion_timeout"
    message = "文档转换超时，请稍后重试"


class _InstanceLost(Exception):
    """The instance died or stopped answering under a request: restart it, retry elsewhere."""


class _StartFailed(Exception):
    pass


def pdf_export_options(*, pdfa: bool = False, tagged: bool = False) -> dict[str, bool | int]:
    """FilterData for LibreOffice's PDF export.

    Fonts are always embedded (the standard 14 too) so the PDF looks the same everywhere.
    Tagging is the `pdf_tagged` setting (see there for why it is off by default). PDF/A-2b
    (`SelectPdfVersion=2`) is optional: it is for archiving and all our signers accept it.
    """
    options: dict[str, bool | int] = {"EmbedStandardFonts": True, "UseTaggedPDF": tagged}
    if pdfa:
        options["SelectPdfVersion"] = 2
    return options


def _unoserver_options(options: dict[str, bool | int]) -> list[str]:
    """unoserver 3.7 takes `Name=value` strings and turns true/false/digits into typed values."""
    return [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in options.items()]


def _soffice_filter(source_format: str, options: dict[str, bool | int]) -> str:
    """`--convert-to` argument with FilterData in the JSON syntax of LibreOffice ≥ 7.4."""
    data = {
        k: {"type": "boolean" if isinstance(v, bool) else "long", "value": str(v).lower()}
        for k, v in options.items()
    }
    return f"pdf:{_PDF_FILTERS[source_format]}:{json.dumps(data, separators=(',', ':'))}"


class _TimeoutTransport(xmlrpc.client.Transport):
    """xmlrpc's default transport waits forever; health probes must not."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


class _Client(UnoClient):
    """unoserver's client without its `info()` round-trip before every conversion.

    The stock `_connect` calls `info()` (the full filter lists) per request and retries a
    refused connection 5 × 10 s; the API version is checked once when the instance starts, and
    a refused connection must surface at once so the pool can restart the instance.
    """

    def _connect(self, proxy: Any, retries: int = 1, sleep: float = 0) -> dict[str, Any]:
        return {"api": API_VERSION, "import_filters": [], "export_filters": []}


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


@dataclass(eq=False)
class _Instance:
    index: int
    profile_dir: Path
    port: int = 0
    uno_port: int = 0
    process: subprocess.Popen[bytes] | None = None
    conversions: int = 0
    hung: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass(frozen=True)
class PoolStats:
    """A snapshot for /healthz, the bench and tests."""

    mode: Literal["stopped", "pool", "fallback"]
    instances: int
    ready: int
    admitted: int
    conversions: int
    restarts: int
    fallback_conversions: int
    pids: tuple[int | None, ...]


class ConverterPool:
    """A bounded pool of warm unoserver instances; see the module docstring for the contract."""

    def __init__(
        self,
        *,
        data_dir: Path,
        instances: int = 0,
        timeout_seconds: float = 30.0,
        max_queue: int = 32,
        restart_after: int = 200,
        python: str = "/usr/bin/python3",
        uno_site: Path | None = DEFAULT_UNO_SITE,
        soffice: str = "soffice",
        host: str = "127.0.0.1",
        start_timeout_seconds: float = 60.0,
        queue_wait_seconds: float | None = None,
        tagged: bool = False,
    ) -> None:
        self.size = instances if instances > 0 else (os.cpu_count() or 1)
        self.timeout_seconds = timeout_seconds
        self.max_queue = max_queue
        self.restart_after = restart_after
        self.python = python
        self.uno_site = uno_site
        self.soffice = soffice
        self.host = host
        self.tagged = tagged
        self.start_timeout_seconds = start_timeout_seconds
        # A waiting request must outlast one restart of an instance (~6 s with unoserver 3.7).
        self.queue_wait_seconds = queue_wait_seconds or max(timeout_seconds, start_timeout_seconds)
        self.root = Path(data_dir).resolve() / "converter"

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._start_lock = threading.Lock()
        self._stopping = threading.Event()
        self._mode: Literal["stopped", "pool", "fallback"] = "stopped"
        self._instances: list[_Instance] = []
        self._idle: queue.Queue[_Instance] = queue.Queue()
        self._oneshot_slots: queue.Queue[int] = queue.Queue()
        self._admitted = 0
        self._conversions = 0
        self._restarts = 0
        self._fallback_conversions = 0
        self._avg_seconds = 0.5
        self._lockfile: IO[str] | None = None
        self._executor: ThreadPoolExecutor | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ConverterPool:
        s = settings or get_settings()
        return cls(
            data_dir=s.data_dir,
            instances=s.converter_instances,
            timeout_seconds=s.converter_timeout_seconds,
            max_queue=s.converter_max_queue,
            restart_after=s.converter_restart_after,
            tagged=s.pdf_tagged,
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start every instance (in parallel) and wait until they answer; idempotent.

        If none starts, the pool switches to one-shot soffice with a warning instead of failing:
        documents still come out, only slower.
        """
        with self._start_lock:
            if self._mode != "stopped":
                return
            self._stopping.clear()
            self.root.mkdir(parents=True, exist_ok=True)
            self._claim_root()
            self._instances = [
                _Instance(index=i, profile_dir=self.root / f"profile-{i}") for i in range(self.size)
            ]
            for i in range(self.size):
                self._oneshot_slots.put(i)
            errors: list[BaseException | None] = [None] * self.size

            def boot(inst: _Instance) -> None:
                try:
                    self._spawn(inst)
                except _StartFailed as exc:
                    errors[inst.index] = exc

            threads = [threading.Thread(target=boot, args=(i,)) for i in self._instances]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            started = [i for i in self._instances if errors[i.index] is None]
            if not started:
                log.warning(
                    "converter pool could not start (%s); falling back to one-shot soffice",
                    errors[0],
                )
                self._mode = "fallback"
            else:
                self._mode = "pool"
                for inst in started:
                    self._idle.put(inst)
                for inst in self._instances:
                    if errors[inst.index] is not None:
                        log.warning(
                            "converter %d did not start: %s", inst.index, errors[inst.index]
                        )
                        self._restart_in_background(inst)
            self._executor = ThreadPoolExecutor(
                max_workers=self.size + self.max_queue + 1, thread_name_prefix="converter"
            )
            atexit.register(self.stop)

    def stop(self) -> None:
        """Kill every instance's process group and wait for it; safe to call twice.

        SIGKILL straight away: unoserver 3.7 does not exit on SIGTERM, and the profiles hold
        nothing worth a graceful save.
        """
        with self._start_lock:
            if self._mode == "stopped":
                return
            self._stopping.set()
            self._mode = "stopped"
            atexit.unregister(self.stop)
            for inst in self._instances:
                if inst.process is None:
                    continue
                _kill_group(inst.process.pid)
                inst.process.wait()
                (self.root / f"instance-{inst.index}.pid").unlink(missing_ok=True)
            self._idle = queue.Queue()
            self._oneshot_slots = queue.Queue()
            if self._executor:
                self._executor.shutdown(wait=False, cancel_futures=True)
            if self._lockfile:
                self._lockfile.close()
                self._lockfile = None

    def _claim_root(self) -> None:
        """One pool per data dir: a second app process would fight over profiles and pidfiles."""
        self._lockfile = open(self.root / "pool.lock", "w")  # noqa: SIM115 - held until stop()
        try:
            fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lockfile.close()
            self._lockfile = None
            self.root = self.root / f"pid-{os.getpid()}"
            self.root.mkdir(parents=True, exist_ok=True)

    def _spawn(self, inst: _Instance) -> None:
        """(Re)start one instance and wait until it answers on XML-RPC."""
        self._kill_stale(inst)
        inst.profile_dir.mkdir(parents=True, exist_ok=True)
        # A killed soffice leaves its profile lock behind; the profile is ours alone.
        (inst.profile_dir / ".lock").unlink(missing_ok=True)
        inst.port, inst.uno_port = _free_port(self.host), _free_port(self.host)
        while inst.uno_port == inst.port:
            inst.uno_port = _free_port(self.host)
        tmp = self.root / "tmp"
        tmp.mkdir(exist_ok=True)
        logfile = self.root / f"instance-{inst.index}.log"
        if logfile.exists():
            os.replace(logfile, logfile.with_suffix(".log.1"))
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        if self.uno_site:
            env["PYTHONPATH"] = str(self.uno_site)
        cmd = [
            # -P: the script's folder (ours) must not shadow anything on Debian's python path.
            self.python, "-P", str(UNO_SERVER),
            "--interface", self.host, "--uno-interface", self.host,
            "--port", str(inst.port), "--uno-port", str(inst.uno_port),
            "--user-installation", str(inst.profile_dir),
            "--temp-dir", str(tmp),
        ]  # fmt: skip
        try:
            with open(logfile, "wb") as out:
                inst.process = subprocess.Popen(
                    cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
                )
        except OSError as exc:
            inst.process = None
            raise _StartFailed(f"{self.python}: {exc}") from exc
        (self.root / f"instance-{inst.index}.pid").write_text(str(inst.process.pid))
        inst.conversions = 0
        inst.hung = False
        deadline = time.monotonic() + self.start_timeout_seconds
        while not self._stopping.is_set():
            if inst.process.poll() is not None:
                raise _StartFailed(
                    f"unoserver exited with {inst.process.returncode}; see {logfile}"
                )
            if self._probe(inst, timeout=2.0):
                log.info("converter %d ready (pid %d)", inst.index, inst.process.pid)
                return
            if time.monotonic() > deadline:
                _kill_group(inst.process.pid)
                inst.process.wait()
                raise _StartFailed(f"unoserver not ready after {self.start_timeout_seconds}s")
            self._stopping.wait(0.1)
        _kill_group(inst.process.pid)
        inst.process.wait()
        raise _StartFailed("pool stopping")

    def _kill_stale(self, inst: _Instance) -> None:
        """Kill what a previous run (or a crashed app) left on this profile."""
        if inst.process is not None:
            _kill_group(inst.process.pid)
            inst.process.wait()
            inst.process = None
        pidfile = self.root / f"instance-{inst.index}.pid"
        try:
            pid = int(pidfile.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if str(inst.profile_dir).encode() in cmdline:
            log.warning("killing stale converter process group %d", pid)
            _kill_group(pid)

    def _probe(self, inst: _Instance, timeout: float) -> bool:
        url = f"http://{self.host}:{inst.port}"
        try:
            proxy = xmlrpc.client.ServerProxy(url, transport=_TimeoutTransport(timeout))
            info: Any = proxy.info()
        except (OSError, http.client.HTTPException, xmlrpc.client.Error):
            return False
        if not isinstance(info, dict) or info.get("api") != API_VERSION:
            raise _StartFailed(
                f"unoserver answered {str(info)[:80]}, client wants API {API_VERSION}"
            )
        return True

    def _restart_in_background(self, inst: _Instance) -> None:
        """Restart off the request path; the instance rejoins the idle queue when it answers."""
        with self._lock:
            self._restarts += 1

        def run() -> None:
            backoff = 0.5
            while not self._stopping.is_set():
                try:
                    self._spawn(inst)
                except _StartFailed as exc:
                    if self._stopping.is_set():
                        return
                    log.warning("converter %d restart failed: %s", inst.index, exc)
                    self._stopping.wait(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                self._idle.put(inst)
                return

        threading.Thread(target=run, name=f"converter-restart-{inst.index}", daemon=True).start()

    # ------------------------------------------------------------------ conversion

    def convert(
        self,
        data: bytes,
        *,
        source_format: SourceFormat = "docx",
        pdfa: bool = False,
        timeout: float | None = None,
    ) -> bytes:
        """Convert an office document to PDF (PDF/A-2b when `pdfa`); blocks the calling thread.

        Raises ServiceBusy (503, Retry-After) when the queue is full or no instance comes back in
        time, ConversionTimeout (504) for a hung conversion, ConversionFailed for bad input.
        """
        with self._admission():
            return self._counted(data, source_format, pdfa, timeout)

    async def convert_async(
        self,
        data: bytes,
        *,
        source_format: SourceFormat = "docx",
        pdfa: bool = False,
        timeout: float | None = None,
    ) -> bytes:
        """`convert` for async code: admission is decided at once, the wait runs in a thread.

        The dedicated executor has a thread for every admitted request, so an admitted request
        never waits behind the event loop's default executor.
        """
        if self._mode == "stopped":
            await asyncio.to_thread(self.start)
        with self._admission():
            assert self._executor is not None
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._executor, self._counted, data, source_format, pdfa, timeout
            )

    def ensure_started(self) -> None:
        if self._mode == "stopped":
            self.start()

    @contextlib.contextmanager
    def _admission(self) -> Iterator[None]:
        self.ensure_started()
        with self._lock:
            if self._admitted >= self.size + self.max_queue:
                raise self._busy()
            self._admitted += 1
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._lock:
                self._admitted -= 1
                self._changed.notify_all()

    def _busy(self) -> ServiceBusy:
        """ServiceBusy with an honest Retry-After: the queue ahead divided by the instances."""
        waiting = max(0, self._admitted - self.size) + 1
        seconds = max(1, math.ceil(waiting * self._avg_seconds / self.size))
        return ServiceBusy(headers={"Retry-After": str(seconds)})

    def _counted(
        self, data: bytes, source_format: SourceFormat, pdfa: bool, timeout: float | None
    ) -> bytes:
        try:
            pdf = self._convert_admitted(data, source_format, pdfa, timeout)
        except BaseException as exc:
            CONVERSIONS.labels(outcome=type(exc).__name__).inc()
            raise
        CONVERSIONS.labels(outcome="ok").inc()
        return pdf

    def _convert_admitted(
        self, data: bytes, source_format: SourceFormat, pdfa: bool, timeout: float | None
    ) -> bytes:
        options = pdf_export_options(pdfa=pdfa, tagged=self.tagged)
        timeout = timeout or self.timeout_seconds
        if self._mode == "fallback":
            return self._convert_oneshot(data, source_format, options, timeout)
        deadline = time.monotonic() + self.queue_wait_seconds
        for _attempt in range(2):
            inst = self._checkout(deadline)
            started = time.monotonic()
            try:
                pdf = self._convert_on(
                    inst, data, source_format, _unoserver_options(options), timeout
                )
            except _InstanceLost as exc:
                log.warning(
                    "converter %d lost during a conversion (%s); restarting", inst.index, exc
                )
                self._restart_in_background(inst)
                continue
            except ConversionTimeout:
                log.error("converter %d hung for %.1fs; killed, restarting", inst.index, timeout)
                self._restart_in_background(inst)
                raise
            except BaseException:
                self._checkin(inst)
                raise
            with self._lock:
                self._conversions += 1
                self._avg_seconds = 0.8 * self._avg_seconds + 0.2 * (time.monotonic() - started)
            self._checkin(inst)
            return pdf
        with self._lock:
            raise self._busy()

    def _checkout(self, deadline: float) -> _Instance:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stopping.is_set():
                with self._lock:
                    raise self._busy()
            try:
                inst = self._idle.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if inst.alive():
                return inst
            log.warning("converter %d found dead while idle; restarting", inst.index)
            self._restart_in_background(inst)

    def _checkin(self, inst: _Instance) -> None:
        if inst.hung or not inst.alive():
            self._restart_in_background(inst)
        elif inst.conversions >= self.restart_after:
            log.info("converter %d recycled after %d conversions", inst.index, inst.conversions)
            self._restart_in_background(inst)
        else:
            self._idle.put(inst)

    def _convert_on(
        self,
        inst: _Instance,
        data: bytes,
        source_format: SourceFormat,
        options: list[str],
        timeout: float,
    ) -> bytes:
        """One conversion on one instance, with a watchdog that kills it when it hangs.

        The instance reads and writes files in the pool's own folder: sending the bytes over
        XML-RPC (base64 both ways) cost ~15 ms of a ~140 ms conversion.
        """
        pid = inst.pid
        assert pid is not None
        with self._staged(data, source_format) as (source, target):
            self._convert_file_on(inst, pid, source, target, options, timeout)
            try:
                result = target.read_bytes()
            except FileNotFoundError:
                raise ConversionFailed() from None
        if not result.startswith(b"%PDF"):
            raise ConversionFailed()
        return result

    @contextlib.contextmanager
    def _staged(self, data: bytes, source_format: str) -> Iterator[tuple[Path, Path]]:
        """A private folder in the pool's tmp with the document written in it: yields (source,
        where its PDF will be); the folder goes when the block ends."""
        self.root.joinpath("tmp").mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.root / "tmp") as work:
            source = Path(work) / f"document.{source_format}"
            source.write_bytes(data)
            yield source, source.with_suffix(".pdf")

    def _convert_file_on(
        self,
        inst: _Instance,
        pid: int,
        source: Path,
        target: Path,
        options: list[str],
        timeout: float,
    ) -> None:
        def on_hang() -> None:
            with inst.lock:
                inst.hung = True
            _kill_group(pid)

        watchdog = threading.Timer(timeout, on_hang)
        watchdog.daemon = True
        watchdog.start()
        try:
            client = _Client(self.host, str(inst.port), host_location="local")
            # update_index=False: our documents have no ToC/indexes, and the refresh re-lays out
            # the whole document twice.
            client.convert(
                inpath=str(source),
                outpath=str(target),
                convert_to="pdf",
                filter_options=options,
                update_index=False,
            )
        except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as exc:
            watchdog.cancel()
            if inst.hung:
                raise ConversionTimeout() from exc
            raise _InstanceLost(repr(exc)) from exc
        except xmlrpc.client.Fault as exc:
            watchdog.cancel()
            if inst.hung:
                raise ConversionTimeout() from exc
            if not inst.alive() or not self._probe(inst, timeout=2.0):
                raise _InstanceLost(exc.faultString[-200:]) from exc
            raise ConversionFailed(extra={"detail": exc.faultString[-200:]}) from exc
        finally:
            watchdog.cancel()
        inst.conversions += 1

    def _convert_oneshot(
        self, data: bytes, source_format: str, options: dict[str, bool | int], timeout: float
    ) -> bytes:
        """The fallback: one soffice per document, each concurrent one on its own profile."""
        slot = self._oneshot_slots.get()
        try:
            with self._staged(data, source_format) as (src, pdf):
                profile = self.root / f"oneshot-{slot}"
                cmd = [
                    self.soffice, f"-env:UserInstallation={profile.as_uri()}",
                    "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
                    "--convert-to", _soffice_filter(source_format, options),
                    "--outdir", str(src.parent), str(src),
                ]  # fmt: skip
                proc = subprocess.Popen(
                    cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
                )
                try:
                    out, _ = proc.communicate(timeout=timeout + 30)
                except subprocess.TimeoutExpired:
                    _kill_group(proc.pid)
                    proc.communicate()
                    raise ConversionTimeout() from None
                if not pdf.exists():
                    detail = out.decode(errors="replace")[-200:]
                    raise ConversionFailed(extra={"detail": detail})
                with self._lock:
                    self._fallback_conversions += 1
                return pdf.read_bytes()
        finally:
            self._oneshot_slots.put(slot)

    # ------------------------------------------------------------------ introspection

    def stats(self) -> PoolStats:
        with self._lock:
            return PoolStats(
                mode=self._mode,
                instances=self.size,
                ready=self._idle.qsize(),
                admitted=self._admitted,
                conversions=self._conversions,
                restarts=self._restarts,
                fallback_conversions=self._fallback_conversions,
                pids=tuple(i.pid for i in self._instances),
            )

    def wait_for_admitted(self, count: int, timeout: float) -> bool:
        """Block until at least `count` requests are admitted (monitoring and tests)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._admitted >= count, timeout)


_pool: ConverterPool | None = None
_pool_lock = threading.Lock()


def get_pool() -> ConverterPool:
    """The app's pool, configured from the settings; started lazily by the first conversion."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ConverterPool.from_settings()
        return _pool
