"""unoserver's server, private to the app user and with documents loaded hidden. Run by the
converter pool under Debian's python (the one with `uno`), with unoserver on PYTHONPATH; it
imports nothing of ours.

Private: stock unoserver listens on two loopback TCP ports with no authentication, so any local
user could drive LibreOffice as the app user (open and write files, run macros). Here the
XML-RPC server listens on a Unix socket in a 0700 folder of the pool's
(``JINGPIN_XMLRPC_SOCKET``), and LibreOffice accepts UNO on a named pipe
(``JINGPIN_UNO_PIPE``, a random name per start) — a Unix socket that LibreOffice creates
without write permission for anyone else, which is what connecting to it needs. No TCP port
is opened.

Hidden: unoserver 3.7 opens every document in a frame that is not hidden, so LibreOffice builds
a view and lays the document out for it before the PDF export lays it out again. `soffice
--convert-to` loads hidden, and so does this: the 6-page agreement converts in ~130 ms instead
of ~200 ms (BENCHMARKS.md). The PDF is the same; the XML-RPC API is unoserver's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socketserver
import subprocess
import sys
import threading
import time
import xmlrpc.server

# unoserver imports `uno` first, which is what makes the `com.sun.star` modules importable.
import uno
from com.sun.star.connection import NoConnectException
from unoserver import comparer, converter, server
from unoserver.converter import PropertyValue

UNO_PIPE = os.environ["JINGPIN_UNO_PIPE"]
XMLRPC_SOCKET = os.environ["JINGPIN_XMLRPC_SOCKET"]
CONNECT_SECONDS = 60.0


class _HiddenDesktop:
    """The Desktop service, with `Hidden=True` added to every load."""

    def __init__(self, desktop: object) -> None:
        self._desktop = desktop

    def loadComponentFromURL(self, url: str, frame: str, flags: int, props: tuple) -> object:  # noqa: N802 - UNO's name
        props = tuple(p for p in props if p.Name != "Hidden")
        return self._desktop.loadComponentFromURL(  # type: ignore[attr-defined]
            url, frame, flags, (*props, PropertyValue(Name="Hidden", Value=True))
        )

    def __getattr__(self, name: str) -> object:
        return getattr(self._desktop, name)


def _connect(self: object) -> None:
    """What unoserver 3.7's UnoConverter/UnoComparer.__init__ set up, over the pipe instead of
    a TCP socket."""
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    # Retry quickly while LibreOffice starts (unoserver's own loop sleeps 5 s between tries on
    # any error but "Connection refused", which a pipe never says).
    deadline = time.monotonic() + CONNECT_SECONDS
    while True:
        try:
            context = resolver.resolve(f"uno:pipe,name={UNO_PIPE};urp;StarOffice.ComponentContext")
            break
        except NoConnectException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    service = context.ServiceManager
    vars(self).update(
        local_context=local,
        resolver=resolver,
        context=context,
        service=service,
        desktop=_HiddenDesktop(
            service.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        ),
        filter_service=service.createInstanceWithContext(
            "com.sun.star.document.FilterFactory", context
        ),
        type_service=service.createInstanceWithContext(
            "com.sun.star.document.TypeDetection", context
        ),
    )


class PipeUnoConverter(converter.UnoConverter):
    def __init__(self, interface: object = None, port: object = None, temp_dir: object = None):
        _connect(self)
        self.temp_dir = temp_dir
        self._export_filters = None
        self._import_filters = None


class PipeUnoComparer(comparer.UnoComparer):
    def __init__(self, interface: object = None, port: object = None):
        _connect(self)


class _UnixHandler(xmlrpc.server.SimpleXMLRPCRequestHandler):
    disable_nagle_algorithm = False  # TCP_NODELAY: not a TCP socket

    def address_string(self) -> str:  # a Unix socket peer has no address
        return "unix"


class UnixXMLRPCServer(socketserver.UnixStreamServer, xmlrpc.server.SimpleXMLRPCDispatcher):
    """unoserver's XMLRPCServer, on the Unix socket (the address it is given is ignored)."""

    logRequests = False  # noqa: N815 - SimpleXMLRPCRequestHandler's name; one line per call

    def __init__(self, addr: object = None, allow_none: bool = False) -> None:
        xmlrpc.server.SimpleXMLRPCDispatcher.__init__(self, allow_none, None)
        if os.path.exists(XMLRPC_SOCKET):
            os.unlink(XMLRPC_SOCKET)
        old = os.umask(0o077)
        try:
            socketserver.UnixStreamServer.__init__(self, XMLRPC_SOCKET, _UnixHandler)
        finally:
            os.umask(old)


class PrivateUnoServer(server.UnoServer):
    def start(self, executable: str = "libreoffice") -> subprocess.Popen[bytes]:
        """unoserver 3.7's start, with LibreOffice accepting UNO on the pipe only."""
        self.libreoffice_process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--invisible",
                "--nocrashreport",
                "--nodefault",
                "--nologo",
                "--nofirststartwizard",
                "--norestore",
                f"-env:UserInstallation={self.user_installation}",
                f"--accept=pipe,name={UNO_PIPE};urp;StarOffice.ComponentContext",
            ]
        )

        def on_signal(signum: int, frame: object) -> None:
            self.intentional_exit = True
            with contextlib.suppress(ProcessLookupError):
                self.libreoffice_process.send_signal(signum)
            if self.xmlrcp_server is not None:
                self.stop()

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, on_signal)
        # serve() retries the connection until LibreOffice accepts it.
        self.xmlrcp_thread = threading.Thread(None, self.serve)
        self.xmlrcp_thread.start()
        return self.libreoffice_process


# server.serve() builds these by name.
converter.UnoConverter = PipeUnoConverter
comparer.UnoComparer = PipeUnoComparer
server.XMLRPCServer = UnixXMLRPCServer
server.UnoServer = PrivateUnoServer

if __name__ == "__main__":
    sys.exit(server.main())
