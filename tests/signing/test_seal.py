"""The round seal picture (issue 15.7): red ring, star and text on a transparent ground, the
same bytes for the same organisation, different for another, and the signed agreement's
visible signature carries it as an image."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from PIL import Image

from signing.fonts import font_for_text
from signing.seal import SEAL_RED, SIZE, round_seal_png

NAME = "杭州西湖影视文化传媒有限公司"


def _font(tmp_path: Path) -> str:
    return str(font_for_text(tmp_path, NAME + "0123456789"))


def test_the_seal_is_a_red_ring_with_a_star_on_a_transparent_ground(tmp_path: Path) -> None:
    opened = Image.open(BytesIO(round_seal_png(NAME, "3301060012345", _font(tmp_path))))
    assert opened.size == (SIZE, SIZE) and opened.mode == "RGBA"
    img = opened.convert("RGBA")

    def px(x: int, y: int) -> tuple[int, int, int, int]:
        value = img.getpixel((x, y))
        assert isinstance(value, tuple)
        return (value[0], value[1], value[2], value[3])

    assert px(2, 2)[3] == 0  # corner outside the ring: transparent
    centre = px(SIZE // 2, SIZE // 2)
    assert centre[3] == 255 and centre[:3] == SEAL_RED[:3]  # the star
    ring = px(SIZE // 2, 10)
    assert ring[3] > 200 and ring[0] > 150 and ring[1] < 80  # the red ring at the top
    alpha = img.getchannel("A").tobytes()
    red = sum(1 for a in alpha if a > 128)
    assert 0.12 < red / (SIZE * SIZE) < 0.5  # ring + star + text, not a filled disc


def test_same_organisation_same_picture_other_name_other_picture(tmp_path: Path) -> None:
    font = _font(tmp_path)
    round_seal_png.cache_clear()
    a = round_seal_png(NAME, "3301060012345", font)
    round_seal_png.cache_clear()
    assert round_seal_png(NAME, "3301060012345", font) == a
    assert round_seal_png("成都熊猫影业有限公司", "3301060012345", font) != a
    assert round_seal_png(NAME, "9999999999999", font) != a
