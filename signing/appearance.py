"""Visible signature appearance (签章外观): organisation, signer, time, serial, optional seal image.

Text is set in "Noto Sans CJK SC" through pyHanko's OpenType engine; the seal image (any PNG
Pillow reads, alpha kept as a soft mask) goes through pyHanko's own image support.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.layout import AxisAlignment, Margins, SimpleBoxLayoutRule
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.stamp import TextStampStyle

from .errors import SigningError
from .fonts import font_for_text
from .timefmt import beijing

__all__ = ["SignatureAppearance", "stamp_style", "appearance_text", "seal_image"]

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
    return {
        "organisation": appearance.organisation,
        "signer": appearance.signer_name,
        "time": beijing(when or dt.datetime.now(dt.UTC)),
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
    background = seal_image(appearance.seal_png) if appearance.seal_png else None
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


def seal_image(png: bytes) -> PdfImage:
    """The organisation's seal (PNG) as PDF content for the stamp background."""
    try:
        image = Image.open(BytesIO(png))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise SigningError(f"seal image is not a readable PNG: {exc}") from exc
    return PdfImage(image)
