"""The Simplified-Chinese font for visible signatures (签章外观字体).

pyHanko's OpenType support needs a single-face font file; Debian ships Noto Sans CJK as a
collection (.ttc). :func:`chinese_font_path` extracts the "Noto Sans CJK SC" face once into a
cache directory chosen by the caller and reuses the file afterwards. Nothing is downloaded.

Loading the full 16 MB face costs ~0.4 s per signature, so :func:`common_chinese_font_path` also
keeps a subset with ASCII, CJK punctuation and the 6,763 GB 2312 hanzi (~1.8 MB, built once in a
few seconds — call :func:`warm_font_cache` at start-up). :func:`font_for_text` picks the subset
when it covers the text and the full face otherwise (rare characters in an organisation name).
"""

from __future__ import annotations

import os
import secrets
import threading
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont

from .errors import FontError

__all__ = [
    "DEFAULT_COLLECTIONS",
    "SC_FAMILY",
    "chinese_font_path",
    "common_chinese_font_path",
    "font_for_text",
    "warm_font_cache",
]

SC_FAMILY = "Noto Sans CJK SC"
DEFAULT_COLLECTIONS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf"),
)
_lock = threading.Lock()


def _family(font: object) -> str | None:
    name_table = font["name"]  # type: ignore[index]
    for name_id in (16, 1):
        record = name_table.getName(name_id, 3, 1, 0x409) or name_table.getName(name_id, 1, 0, 0)
        if record is not None:
            return str(record.toUnicode())
    return None


def chinese_font_path(cache_dir: str | Path, source: str | Path | None = None) -> Path:
    """Path of a single-face "Noto Sans CJK SC" font file in ``cache_dir``, extracting it once."""
    cache = Path(cache_dir)
    target = cache / "NotoSansCJKsc-Regular.otf"
    if target.exists() and target.stat().st_size > 0:
        return target
    candidates = [Path(source)] if source else list(DEFAULT_COLLECTIONS)
    found = next((c for c in candidates if c.exists()), None)
    if found is None:
        raise FontError(f"no Noto Sans CJK font found at {', '.join(map(str, candidates))}")
    with _lock:
        if target.exists() and target.stat().st_size > 0:
            return target
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / f".{target.name}.{secrets.token_hex(4)}.tmp"
        if found.suffix.lower() == ".ttc":
            collection = TTCollection(str(found), lazy=True)
            face = next((f for f in collection.fonts if _family(f) == SC_FAMILY), None)
            if face is None:
                raise FontError(f"{found} has no {SC_FAMILY} face")
            face.save(str(tmp))
        else:
            TTFont(str(found), lazy=True).save(str(tmp))
        os.replace(tmp, target)
    return target


def _common_codepoints() -> set[int]:
    chars = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    chars |= set(range(0x2000, 0x2070)) | set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.update(map(ord, bytes([hi, lo]).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return chars


def common_chinese_font_path(cache_dir: str | Path) -> Path:
    """Path of the GB 2312 subset of Noto Sans CJK SC in ``cache_dir`` (built once)."""
    cache = Path(cache_dir)
    target = cache / "NotoSansCJKsc-GB2312.otf"
    if target.exists() and target.stat().st_size > 0:
        return target
    full = chinese_font_path(cache)
    with _lock:
        if target.exists() and target.stat().st_size > 0:
            return target
        # The subsetter (~0.15 s to import) runs once per data dir, at `jingpin init`.
        from fontTools import subset  # noqa: PLC0415

        options = subset.Options()
        options.name_IDs = ["*"]
        options.name_languages = ["*"]
        options.notdef_outline = True
        options.layout_features = []
        options.layout_closure = False
        font = TTFont(str(full))
        subsetter = subset.Subsetter(options=options)
        subsetter.populate(unicodes=_common_codepoints())
        subsetter.subset(font)
        tmp = cache / f".{target.name}.{secrets.token_hex(4)}.tmp"
        font.save(str(tmp))
        os.replace(tmp, target)
    return target


@lru_cache(maxsize=4)
def _coverage(path: str) -> frozenset[int]:
    return frozenset(TTFont(path, lazy=True).getBestCmap())


def font_for_text(cache_dir: str | Path, text: str) -> Path:
    """The smallest cached font that has a glyph for every character of ``text``."""
    common = common_chinese_font_path(cache_dir)
    needed = {ord(c) for c in text if not c.isspace()}
    if needed <= _coverage(str(common)):
        return common
    return chinese_font_path(cache_dir)


def warm_font_cache(cache_dir: str | Path) -> Path:
    """Build both cached fonts now (idempotent); returns the cache directory."""
    common_chinese_font_path(cache_dir)
    return Path(cache_dir)
