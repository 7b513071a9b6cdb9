"""Visual diff for a failed document (签名版本与当前文件对比): the last signed revision and the
current file rendered with poppler's ``pdftoppm``, compared with Pillow, the changed regions
outlined, shown side by side — pages the sealed verification report appends.

The signed revision is the file cut at the end of the last signature's ByteRange, i.e. exactly
the bytes that signature covers."""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

DPI = 50  # A4 ≈ 413 × 585 px: enough to see a changed line, small enough to be quick
MAX_PAGES = 20
CELL = 6  # px: differences are grouped on this grid, then merged into rectangles
FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
RED = (220, 30, 30)

Box = tuple[int, int, int, int]  # left, top, right, bottom in pixels of the rendering


@dataclass(frozen=True)
class PageDiff:
    page: int  # 1-based
    regions: list[Box]  # in the current rendering's pixels
    image: Image.Image  # signed | current, regions outlined


def signed_revision(data: bytes) -> bytes | None:
    """The bytes the last signature covers (None when it covers the whole file or none)."""
    ends = []
    for m in re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data):
        a, b, c, d = (int(x) for x in m.groups())
        if a == 0 and 0 < b <= c and c + d <= len(data):
            ends.append(c + d)
    if not ends or max(ends) >= len(data.rstrip(b"\r\n ")):
        return None
    return data[: max(ends)]


def render(pdf: bytes, folder: Path, prefix: str) -> list[Image.Image]:
    """Pages as RGB images (pdftoppm, at most MAX_PAGES, 60 s)."""
    source = folder / f"{prefix}.pdf"
    source.write_bytes(pdf)
    subprocess.run(  # noqa: S603 - fixed arguments, our own temp files
        [
            "pdftoppm",
            "-r",
            str(DPI),
            "-l",
            str(MAX_PAGES),
            "-png",
            str(source),
            str(folder / prefix),
        ],
        check=False,
        capture_output=True,
        timeout=60,
    )
    pages = sorted(folder.glob(f"{prefix}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return [Image.open(p).convert("RGB") for p in pages]


def changed_regions(before: Image.Image, after: Image.Image) -> list[Box]:
    """Rectangles around the pixels that differ (grid cells merged by flood fill)."""
    if before.size != after.size:
        return [(0, 0, after.width, after.height)]
    mask = ImageChops.difference(before.convert("L"), after.convert("L")).point(
        lambda v: 255 if v > 40 else 0
    )
    if mask.getbbox() is None:
        return []
    cols, rows = (after.width + CELL - 1) // CELL, (after.height + CELL - 1) // CELL
    hot = {
        (cx, cy)
        for cy in range(rows)
        for cx in range(cols)
        if mask.crop((cx * CELL, cy * CELL, (cx + 1) * CELL, (cy + 1) * CELL)).getbbox()
    }
    regions: list[Box] = []
    while hot:
        stack = [hot.pop()]
        xs, ys = [], []
        while stack:
            cx, cy = stack.pop()
            xs.append(cx)
            ys.append(cy)
            for nx in range(cx - 2, cx + 3):  # cells within two of each other belong together
                for ny in range(cy - 2, cy + 3):
                    if (nx, ny) in hot:
                        hot.discard((nx, ny))
                        stack.append((nx, ny))
        regions.append(
            (
                min(xs) * CELL,
                min(ys) * CELL,
                min(after.width, (max(xs) + 1) * CELL),
                min(after.height, (max(ys) + 1) * CELL),
            )
        )
    return sorted(regions, key=lambda r: (r[1], r[0]))


def _side_by_side(
    page: int, before: Image.Image | None, after: Image.Image | None, regions: list[Box]
) -> Image.Image:
    blank = Image.new("RGB", (after or before).size, "white")  # type: ignore[union-attr]
    left, right = (before or blank).copy(), (after or blank).copy()
    for img in (left, right):
        draw = ImageDraw.Draw(img)
        for box in regions:
            draw.rectangle(box, outline=RED, width=3)
    gap, header = 24, 48
    sheet = Image.new(
        "RGB",
        (left.width + right.width + 3 * gap, max(left.height, right.height) + header + gap),
        "white",
    )
    sheet.paste(left, (gap, header))
    sheet.paste(right, (2 * gap + left.width, header))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.truetype(FONT, 16)
    draw.text((gap, 12), f"第 {page} 页 · 签名时的版本", fill="black", font=font)
    draw.text(
        (2 * gap + left.width, 12), f"第 {page} 页 · 当前文件（红框为改动）", fill=RED, font=font
    )
    return sheet


def visual_diff(data: bytes) -> list[PageDiff]:
    """Pages whose rendering changed after the last signature (empty when nothing did)."""
    signed = signed_revision(data)
    if signed is None:
        return []
    with tempfile.TemporaryDirectory(prefix="jingpin-diff-") as tmp:
        folder = Path(tmp)
        old, new = render(signed, folder, "signed"), render(data, folder, "current")
    out = []
    for index in range(max(len(old), len(new))):
        before = old[index] if index < len(old) else None
        after = new[index] if index < len(new) else None
        if before is None or after is None:
            only = after or before
            assert only is not None
            regions = [(0, 0, only.width, only.height)]
        else:
            regions = changed_regions(before, after)
        if regions:
            out.append(
                PageDiff(index + 1, regions, _side_by_side(index + 1, before, after, regions))
            )
    return out


def diff_pages_pdf(diffs: list[PageDiff]) -> bytes | None:
    """The side-by-side sheets as PDF pages (for the sealed report), or None."""
    if not diffs:
        return None
    buf = BytesIO()
    first, *rest = [d.image for d in diffs]
    first.save(buf, format="PDF", save_all=True, append_images=rest, resolution=DPI * 1.4)
    return buf.getvalue()
