"""A round red seal picture (公章式样) drawn with Pillow: the organisation's name along the upper
arc, a five-pointed star in the middle, the seal code along the bottom. Used as the visible
signature's seal image when an organisation has no uploaded picture of its own.

Transparent background, so the signature text stays readable under it; drawn at 4× and
scaled down for smooth edges. Deterministic: the same name and code give the same PNG bytes."""

from __future__ import annotations

import math
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

__all__ = ["round_seal_png", "SEAL_RED"]

SEAL_RED = (204, 24, 30, 255)
SIZE = 320  # px of the final picture
SCALE = 4


def _star(cx: float, cy: float, r_outer: float) -> list[tuple[float, float]]:
    r_inner = r_outer * math.sin(math.radians(18)) / math.sin(math.radians(126))
    points = []
    for i in range(10):
        r = r_outer if i % 2 == 0 else r_inner
        a = math.radians(-90 + i * 36)
        points.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return points


def _glyph(char: str, font: ImageFont.FreeTypeFont, angle: float) -> Image.Image:
    """One character on its own transparent tile, rotated ``angle`` degrees (counter-clockwise)."""
    left, top, right, bottom = font.getbbox(char)
    side = int(max(right - left, bottom - top) * 1.6) + 4
    tile = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((side / 2, side / 2), char, font=font, fill=SEAL_RED, anchor="mm")
    return tile.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)


def _on_arc(
    img: Image.Image,
    text: str,
    font: ImageFont.FreeTypeFont,
    radius: float,
    span: float,
    *,
    top: bool,
) -> None:
    """Set ``text`` along a circle of ``radius`` around the centre, over ``span`` degrees,
    centred on the top (reading clockwise) or the bottom (reading counter-clockwise, upright)."""
    c = img.width / 2
    n = len(text)
    if n == 0:
        return
    step = span / max(n - 1, 1) if n > 1 else 0
    for i, char in enumerate(text):
        offset = -span / 2 + i * step if n > 1 else 0
        # angle on the circle in degrees, 0 = up, clockwise positive (screen coordinates)
        theta = offset if top else 180 - offset
        rad = math.radians(theta - 90)
        x, y = c + radius * math.cos(rad), c + radius * math.sin(rad)
        tile = _glyph(char, font, -theta if top else 180 - theta)
        img.alpha_composite(tile, (int(x - tile.width / 2), int(y - tile.height / 2)))


@lru_cache(maxsize=64)
def round_seal_png(name: str, code: str, font_file: str | Path) -> bytes:
    """The seal picture as PNG bytes. ``font_file``: a font with every character of ``name``
    (signing.fonts.font_for_text gives one)."""
    big = SIZE * SCALE
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    ring = big * 0.035
    draw.ellipse(
        (ring / 2, ring / 2, big - ring / 2, big - ring / 2), outline=SEAL_RED, width=int(ring)
    )
    c = big / 2
    draw.polygon(_star(c, c, big * 0.16), fill=SEAL_RED)
    name = name.strip()
    size = int(big * (0.115 if len(name) <= 12 else 0.09 if len(name) <= 18 else 0.075))
    font = ImageFont.truetype(str(font_file), size)
    span = min(250.0, 18.0 * len(name) + 40) if len(name) > 1 else 0.0
    _on_arc(img, name, font, big / 2 - ring - size * 0.75, span, top=True)
    if code:
        small = ImageFont.truetype(str(font_file), int(big * 0.05))
        _on_arc(
            img, code, small, big / 2 - ring - big * 0.05, min(100.0, 5.5 * len(code)), top=False
        )
    out = BytesIO()
    img.resize((SIZE, SIZE), Image.Resampling.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()
