"""Case photos for the report (case-format: ``photos/`` is "kept and shown in reports, not analysed").

Each photo is shrunk (longest side ``MAX_SIDE_PX``) and embedded as a JPEG ``data:`` URI so that the
HTML stays one self-contained file. A photo that cannot be read is listed with the reason instead.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Final

MAX_SIDE_PX: Final = 1000
"""Longest side of an embedded photo, px: sharp on a phone and on A4, about 100-200 KB each."""
JPEG_QUALITY: Final = 78
MAX_PHOTOS: Final = 12
"""Photos embedded per report; the rest are listed by name."""
MAX_PHOTO_BYTES: Final = 40 * 1024 * 1024
"""A photo file larger than this is listed, not opened."""
MAX_DECODED_PIXELS: Final = 50_000_000
"""Pixels a photo other than a JPEG may decode to (50 MP RGB is 150 MB in memory). PNG, GIF, WebP and TIFF
compress flat areas to almost nothing: 0.5 MB of PNG can hold 170 MP, which Pillow would decode whole
before shrinking it. JPEGs are decoded at up to 1/8 scale (Pillow's draft mode, used by ``thumbnail``), so
a 200 MP phone panorama costs about 3 MP."""


@dataclass(frozen=True)
class Photo:
    name: str
    data_uri: str | None
    note: str = ""


def embed(path: Path, name: str) -> Photo:
    """One photo as a downscaled JPEG data URI, or a Photo with a note saying why it is not shown."""
    try:
        from PIL import Image, ImageOps, UnidentifiedImageError
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        return Photo(name, None, "not shown (Pillow is not installed)")
    try:
        if path.stat().st_size > MAX_PHOTO_BYTES:
            return Photo(name, None, "not shown (larger than 40 MB)")
        with Image.open(path) as opened:
            width, height = opened.size
            if opened.format != "JPEG" and width * height > MAX_DECODED_PIXELS:
                return Photo(name, None, f"not shown ({width} × {height} pixels: too large to decode)")
            img = ImageOps.exif_transpose(opened)
            img.thumbnail((MAX_SIDE_PX, MAX_SIDE_PX))
            out = io.BytesIO()
            img.convert("RGB").save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as exc:
        return Photo(name, None, f"not shown (cannot be read as an image: {type(exc).__name__})")
    return Photo(name, "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii"))


def case_photos(root: Path | None, sources: list[str]) -> tuple[Photo, ...]:
    """The case's photos (``sources`` relative to ``root``), the first ``MAX_PHOTOS`` embedded."""
    if root is None or not root.is_dir():
        return tuple(Photo(s, None, "not shown (case directory not available)") for s in sources)
    out = []
    for i, source in enumerate(sources):
        if i >= MAX_PHOTOS:
            out.append(Photo(source, None, f"not shown (only the first {MAX_PHOTOS} photos are embedded)"))
            continue
        path = (root / source).resolve()
        if not path.is_relative_to(root.resolve()):
            out.append(Photo(source, None, "not shown (outside the case directory)"))
            continue
        out.append(embed(path, source))
    return tuple(out)
