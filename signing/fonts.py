"""The Simplified-Chinese font for visible signatures (签章外观字体).

pyHanko's OpenType support needs a single-face font file; Debian ships Noto Sans CJK as a
collection (.ttc). :func:`chinese_font_path` extracts the "Noto Sans CJK SC" face once into a
cache directory chosen by the caller and reuses the file afterwards. Nothing is downloaded.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from .errors import FontError

__all__ = ["DEFAULT_COLLECTIONS", "SC_FAMILY", "chinese_font_path"]

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
        from fontTools.ttLib import TTCollection, TTFont

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
