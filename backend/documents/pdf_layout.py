"""Where things are on the last page of a converted PDF, so that signature fields go beside their
labels (申报单位（盖章）, 甲方（签章）…) wherever LibreOffice put them, not at measured coordinates.

Two readings of the same page:

- text lines with their boxes, from poppler's ``pdftotext -bbox-layout``;
- ruled lines (table borders), from the stroked path segments and thin filled rectangles of the
  page's content stream, read with pypdf (form XObjects are not followed: LibreOffice draws table
  borders in the page itself).

All positions here are pdftotext's: points from the top-left corner of the page, y growing
downwards. :meth:`LastPage.pdf_box` turns a box into PDF user space (origin bottom-left) for a
signature field.
"""

from __future__ import annotations

import html
import io
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pypdf import PageObject, PdfReader

from backend.core.errors import JingpinError

Box = tuple[float, float, float, float]  # x1, top, x2, bottom (or x1, y1, x2, y2 once converted)
Matrix = tuple[float, float, float, float, float, float]

IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
STRAIGHT = 0.5  # pt: a segment this close to horizontal/vertical is a rule
THIN = 2.0  # pt: a filled rectangle this thin is a rule, not a shaded area
TOUCH = 0.5  # pt of slack when asking whether a rule is beside or crosses some text

_LINE = re.compile(
    r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</line>', re.S
)
_WORD = re.compile(r">([^<]*)</word>")


class LayoutNotFound(JingpinError):
    """The PDF lacks a label (or the table cell beside it) that a signature field is placed by:
    the template's layout changed."""

    status_code = 500
    code = "pdf_layout_not_found"
    message = "文书版式中找不到签章位置"


@dataclass(frozen=True)
class TextLine:
    """One line as pdftotext reads it; ``text`` joins its words without spaces, because
    pdftotext also splits Chinese text into words wherever the font changes."""

    x1: float
    top: float
    x2: float
    bottom: float
    text: str


@dataclass(frozen=True)
class HorizontalRule:
    y: float
    x1: float
    x2: float


@dataclass(frozen=True)
class VerticalRule:
    x: float
    top: float
    bottom: float


@dataclass(frozen=True)
class LastPage:
    index: int  # 0-based page number
    width: float
    height: float
    lines: list[TextLine]
    horizontal: list[HorizontalRule]
    vertical: list[VerticalRule]

    def find_label(self, label: str) -> TextLine | None:
        """The last text line containing ``label`` (spaces ignored, see :class:`TextLine`): a
        signature block closes its document, so an earlier mention on the same page (e.g. the
        （盖章） of an opinion cell) is not the one."""
        wanted = "".join(label.split())
        return next((ln for ln in reversed(self.lines) if wanted in ln.text), None)

    def cell_right_of(self, line: TextLine) -> Box | None:
        """The table cell to the right of ``line`` in the same row, rule to rule.

        Its left and right sides are the first two vertical rules right of the text that cross
        the text's middle height (the column divider and the table's edge); its top and bottom
        are the nearest horizontal rules above and below the text that run through that cell.
        Each side is the middle of a rule, so the box includes half of each border.
        None when the text is not in a ruled table."""
        middle = (line.top + line.bottom) / 2
        sides = sorted(
            r.x
            for r in self.vertical
            if r.x >= line.x2 - TOUCH and r.top - TOUCH <= middle <= r.bottom + TOUCH
        )
        if not sides:
            return None
        left = sides[0]
        right = next((x for x in sides if x > left + THIN), None)
        if right is None:
            return None
        centre = (left + right) / 2
        through = [r.y for r in self.horizontal if r.x1 - TOUCH <= centre <= r.x2 + TOUCH]
        above = [y for y in through if y <= line.top + TOUCH]
        below = [y for y in through if y >= line.bottom - TOUCH]
        if not above or not below:
            return None
        return (left, max(above), right, min(below))

    def pdf_box(self, box: Box) -> Box:
        """(x1, top, x2, bottom) from the top-left → (x1, y1, x2, y2) in PDF user space."""
        x1, top, x2, bottom = box
        return (x1, self.height - bottom, x2, self.height - top)


def last_page(pdf: bytes) -> LastPage:
    reader = PdfReader(io.BytesIO(pdf), strict=False)
    page = reader.pages[-1]
    count = len(reader.pages)
    box = page.mediabox
    horizontal, vertical = _rules(page, left=float(box.left), top=float(box.top))
    return LastPage(
        count - 1,
        float(box.width),
        float(box.height),
        _text_lines(pdf, count),
        horizontal,
        vertical,
    )


def _text_lines(pdf: bytes, page_number: int) -> list[TextLine]:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        out = subprocess.run(
            [
                "pdftotext",
                "-bbox-layout",
                "-f",
                str(page_number),
                "-l",
                str(page_number),
                str(src),
                "-",
            ],
            capture_output=True,
            check=True,
            timeout=30,
        )
    return [
        TextLine(float(m[1]), float(m[2]), float(m[3]), float(m[4]), _words(m[5]))
        for m in _LINE.finditer(out.stdout.decode("utf-8", "replace"))
    ]


def _words(line_xml: str) -> str:
    return html.unescape("".join(_WORD.findall(line_xml)))


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    """m × n (PDF row-vector convention: ``a b c d e f cm`` sets CTM = M × CTM)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def _rules(
    page: PageObject, *, left: float, top: float
) -> tuple[list[HorizontalRule], list[VerticalRule]]:
    """Axis-parallel stroked segments and thin filled rectangles, in top-left coordinates."""
    content = page.get_contents()
    if content is None:
        return [], []
    ctm, stack = IDENTITY, []
    segments: list[tuple[tuple[float, float], tuple[float, float]]] = []
    thin_rects: list[tuple[tuple[float, float], tuple[float, float]]] = []
    horizontal: list[HorizontalRule] = []
    vertical: list[VerticalRule] = []
    current = start = (0.0, 0.0)

    def point(x: float, y: float) -> tuple[float, float]:
        a, b, c, d, e, f = ctm
        return (a * x + c * y + e - left, top - (b * x + d * y + f))

    def keep(p: tuple[float, float], q: tuple[float, float]) -> None:
        (x1, y1), (x2, y2) = p, q
        if abs(y1 - y2) <= STRAIGHT and abs(x1 - x2) > STRAIGHT:
            horizontal.append(HorizontalRule((y1 + y2) / 2, min(x1, x2), max(x1, x2)))
        elif abs(x1 - x2) <= STRAIGHT and abs(y1 - y2) > STRAIGHT:
            vertical.append(VerticalRule((x1 + x2) / 2, min(y1, y2), max(y1, y2)))

    for operands, op in content.operations:
        if op == b"q":
            stack.append(ctm)
        elif op == b"Q":
            ctm = stack.pop() if stack else IDENTITY
        elif op == b"cm":
            a, b, c, d, e, f = (float(v) for v in operands)
            ctm = _multiply((a, b, c, d, e, f), ctm)
        elif op == b"m":
            current = start = point(float(operands[0]), float(operands[1]))
        elif op == b"l":
            nxt = point(float(operands[0]), float(operands[1]))
            segments.append((current, nxt))
            current = nxt
        elif op in (b"c", b"v", b"y"):  # curves are no rules; only the current point moves
            current = point(float(operands[-2]), float(operands[-1]))
        elif op == b"h":
            segments.append((current, start))
            current = start
        elif op == b"re":
            x, y, w, h = (float(v) for v in operands)
            corners = [point(x, y), point(x + w, y), point(x + w, y + h), point(x, y + h)]
            segments += list(zip(corners, corners[1:] + corners[:1], strict=True))
            if min(abs(w), abs(h)) <= THIN:
                # a thin rectangle's midline: the rule it draws when filled
                if abs(w) >= abs(h):
                    thin_rects.append((point(x, y + h / 2), point(x + w, y + h / 2)))
                else:
                    thin_rects.append((point(x + w / 2, y), point(x + w / 2, y + h)))
            current = start = corners[0]
        elif op in (b"S", b"s", b"B", b"B*", b"b", b"b*"):  # stroked (closed or filled too)
            if op in (b"s", b"b", b"b*"):
                segments.append((current, start))
            for p, q in segments:
                keep(p, q)
            segments, thin_rects = [], []
        elif op in (b"f", b"F", b"f*"):
            for p, q in thin_rects:
                keep(p, q)
            segments, thin_rects = [], []
        elif op == b"n":  # a clipping path, not drawn
            segments, thin_rects = [], []
    return horizontal, vertical
