"""unoserver's server, with documents loaded hidden. Run by the converter pool under Debian's
python (the one with `uno`), with unoserver on PYTHONPATH; it imports nothing of ours.

unoserver 3.7 opens every document in a frame that is not hidden, so LibreOffice builds a view
and lays the document out for it before the PDF export lays it out again. `soffice
--convert-to` loads hidden, and so does this: the 6-page agreement converts in ~130 ms instead
of ~200 ms (BENCHMARKS.md). The PDF is the same; the XML-RPC API and the client are unoserver's.
"""

from __future__ import annotations

import sys

# unoserver imports `uno` first, which is what makes the `com.sun.star` modules importable.
from unoserver import converter, server
from unoserver.converter import PropertyValue


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


class HiddenUnoConverter(converter.UnoConverter):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.desktop: object = _HiddenDesktop(self.desktop)


# server.serve() builds its converter as `converter.UnoConverter(...)`.
converter.UnoConverter = HiddenUnoConverter

if __name__ == "__main__":
    sys.exit(server.main())
