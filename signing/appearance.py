"""Visible signature appearance (签章外观): organisation, signer, time, serial, optional seal image.

Text is set in "Noto Sans CJK SC" through pyHanko's OpenType engine; the seal image is a PNG
embedded without Pillow (8-bit PNGs: grey, RGB, palette, and their alpha variants).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.content import PdfContent, ResourceType
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.layout import AxisAlignment, BoxConstraints, Margins, SimpleBoxLayoutRule
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.stamp import TextStampStyle

from .errors import SigningError
from .fonts import font_for_text

__all__ = ["SignatureAppearance", "SHANGHAI", "stamp_style", "appearance_text", "PngImage"]

SHANGHAI = ZoneInfo("Asia/Shanghai")

STAMP_TEXT = (
    "签章单位：%(organisation)s\n签署人：%(signer)s\n签署时间：%(time)s\n证书序列号：%(serial)s"
)


@dataclass(frozen=True)
class SignatureAppearance:
    """What the visible signature shows. ``seal_png`` is an optional 8-bit PNG of the seal."""

    organisation: str
    signer_name: str
    seal_png: bytes | None = None
    font_size: int = 9


def appearance_text(
    appearance: SignatureAppearance, serial: int, when: dt.datetime | None = None
) -> dict[str, str]:
    moment = (when or dt.datetime.now(dt.UTC)).astimezone(SHANGHAI)
    return {
        "organisation": appearance.organisation,
        "signer": appearance.signer_name,
        "time": moment.strftime("%Y-%m-%d %H:%M:%S") + " (北京时间)",
        "serial": format(serial, "X"),
    }


@lru_cache(maxsize=8)
def _font_factory(font_file: str, font_size: int) -> GlyphAccumulatorFactory:
    return GlyphAccumulatorFactory(font_file=font_file, font_size=font_size)


def stamp_style(
    appearance: SignatureAppearance, font_cache_dir: str | Path, text: str = ""
) -> TextStampStyle:
    """pyHanko stamp style; ``text`` is the rendered text, used to pick a font that covers it."""
    font = str(font_for_text(font_cache_dir, STAMP_TEXT + text))
    background = PngImage(appearance.seal_png) if appearance.seal_png else None
    return TextStampStyle(
        stamp_text=STAMP_TEXT,
        text_box_style=TextBoxStyle(
            font=_font_factory(font, appearance.font_size),
            font_size=appearance.font_size,
            leading=appearance.font_size + 3,
        ),
        border_width=1,
        border_color=(0.75, 0.1, 0.1),
        background=background,
        background_opacity=0.5,
        background_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MAX,
            y_align=AxisAlignment.ALIGN_MID,
            margins=Margins.uniform(2),
        ),
    )


# --------------------------------------------------------------------------- PNG without Pillow
@dataclass(frozen=True)
class _DecodedPng:
    width: int
    height: int
    colour_space: str
    components: int
    colour_data: bytes  # zlib-compressed, unfiltered samples
    alpha_data: bytes | None  # zlib-compressed alpha samples or None


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> bytearray:
    stride = width * bpp
    out = bytearray(stride * height)
    prev = bytearray(stride)
    pos = 0
    for y in range(height):
        ftype = raw[pos]
        line = bytearray(raw[pos + 1 : pos + 1 + stride])
        pos += 1 + stride
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            line = bytearray((x + p) & 0xFF for x, p in zip(line, prev, strict=True))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                upleft = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, prev[i], upleft)) & 0xFF
        elif ftype != 0:
            raise SigningError("seal PNG has an invalid filter type")
        out[y * stride : (y + 1) * stride] = line
        prev = line
    return out


@lru_cache(maxsize=16)
def _decode_png(data: bytes) -> _DecodedPng:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise SigningError("the seal image is not a PNG")
    pos, idat, palette, header = 8, bytearray(), b"", None
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if header is None:
        raise SigningError("seal PNG has no header")
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or interlace != 0 or colour_type not in (0, 2, 3, 4, 6):
        raise SigningError("seal PNG must be 8-bit, non-interlaced")
    if width * height > 4_000_000:
        raise SigningError("seal PNG is too large")
    bpp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
    pixels = _unfilter(zlib.decompress(bytes(idat)), width, height, bpp)
    alpha: bytes | None = None
    if colour_type in (4, 6):
        colour = bytes(b for i, b in enumerate(pixels) if i % bpp != bpp - 1)
        alpha = zlib.compress(bytes(pixels[bpp - 1 :: bpp]))
    else:
        colour = bytes(pixels)
    if colour_type == 3:
        rgb = bytearray()
        for index in colour:
            rgb += palette[3 * index : 3 * index + 3]
        colour = bytes(rgb)
    grey = colour_type in (0, 4)
    return _DecodedPng(
        width,
        height,
        "/DeviceGray" if grey else "/DeviceRGB",
        1 if grey else 3,
        zlib.compress(colour),
        alpha,
    )


class PngImage(PdfContent):
    """A PNG as PDF content (image XObject, alpha as soft mask), scaled into its box."""

    def __init__(self, png: bytes) -> None:
        self.png = _decode_png(png)
        super().__init__(box=BoxConstraints(self.png.width, self.png.height))
        self._name = "/ImgSeal" + hashlib.sha256(png).hexdigest()[:8]

    def _stream(
        self, data: bytes, colour_space: str, smask: generic.IndirectObject | None
    ) -> generic.IndirectObject:
        assert self.writer is not None
        entries = {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Image"),
            pdf_name("/Width"): generic.NumberObject(self.png.width),
            pdf_name("/Height"): generic.NumberObject(self.png.height),
            pdf_name("/ColorSpace"): pdf_name(colour_space),
            pdf_name("/BitsPerComponent"): generic.NumberObject(8),
            pdf_name("/Filter"): pdf_name("/FlateDecode"),
        }
        if smask is not None:
            entries[pdf_name("/SMask")] = smask
        stream = generic.StreamObject(entries, encoded_data=data)
        return self.writer.add_object(stream)

    def render(self) -> bytes:
        smask = None
        if self.png.alpha_data is not None:
            smask = self._stream(self.png.alpha_data, "/DeviceGray", None)
        ref = self._stream(self.png.colour_data, self.png.colour_space, smask)
        self.set_resource(category=ResourceType.XOBJECT, name=pdf_name(self._name), value=ref)
        if not self.box.height_defined:
            self.box.height = self.png.height
        if not self.box.width_defined:
            self.box.width = self.png.width
        return b"q %g 0 0 %g 0 0 cm %s Do Q" % (
            self.box.width,
            self.box.height,
            self._name.encode("ascii"),
        )
