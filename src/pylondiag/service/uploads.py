"""Checking what an owner uploads before anything is stored.

A submission becomes a list of ``IncomingFile`` (relative path inside the case + bytes) only when every
file passes: names are plain relative paths (no ``..``, no absolute or drive paths, no backslashes, no
control characters), no symlinks or encrypted zip entries, counts and sizes within ``Limits``, no zip
bomb (declared sizes, compression ratio and the bytes actually inflated are all checked), and each
file's content fits its folder (text evidence is not binary; photos are images; the case zip is a zip).
Anything else raises ``UploadRefused`` with a message saying what is wrong, and nothing is written.
"""

from __future__ import annotations

import io
import re
import stat
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Final

from pylondiag.errors import PylondiagError
from pylondiag.service.settings import Limits

EVIDENCE_FOLDERS: Final = ("console", "inverter", "can", "rs485")
PHOTO_FOLDER: Final = "photos"
CASE_YAML: Final = "case.yaml"

ZIP_CONTENT_TYPES: Final = frozenset(
    {
        "application/zip",
        "application/x-zip-compressed",
        "application/x-zip",
        "application/octet-stream",
        "multipart/x-zip",
        "",
    }
)
TEXT_CONTENT_TYPES: Final = frozenset(
    {
        "application/octet-stream",
        "application/csv",
        "application/vnd.ms-excel",  # what Windows browsers send for .csv
        "application/x-yaml",
        "application/yaml",
        "application/json",
        "application/x-log",
        "",
    }
)
IMAGE_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
BINARY_MAGIC: Final[tuple[bytes, ...]] = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"%PDF",
    b"\x7fELF",
    b"MZ",
    b"\x1f\x8b",
    b"7z\xbc\xaf",
    b"Rar!",
    *(magic for magic, _ in IMAGE_MAGIC),
)
JUNK_ENTRIES: Final = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$)")
SAFE_COMPONENT: Final = re.compile(r"^[^\x00-\x1f\x7f/\\:*?\"<>|]{1,120}$")
RATIO_MIN_BYTES: Final = 256 * 1024
"""Entries smaller than this (uncompressed, bytes) are not judged by ratio: short text compresses well."""
READ_CHUNK: Final = 64 * 1024


class UploadRefused(PylondiagError):
    """A submission that cannot be accepted. ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int = 400, source: str | None = None) -> None:
        self.status = status
        super().__init__(message, source=source)


@dataclass(frozen=True)
class IncomingFile:
    path: str
    """Relative to the case directory, ``/`` separators."""
    data: bytes

    @property
    def kind(self) -> str:
        return kind_of(self.path)


def kind_of(path: str) -> str:
    """``case_yaml``, ``console``, ``inverter``, ``can``, ``rs485``, ``photo`` or ``other``."""
    if path == CASE_YAML:
        return "case_yaml"
    top = path.split("/", 1)[0]
    if "/" in path and top in EVIDENCE_FOLDERS:
        return top
    if "/" in path and top == PHOTO_FOLDER:
        return "photo"
    return "other"


def safe_relpath(name: str) -> str:
    """``name`` as a safe relative path inside a case, or ``UploadRefused`` saying why not."""
    if not name or len(name) > 255:
        raise UploadRefused(f"file name {name[:80]!r} is empty or longer than 255 characters", source=name)
    if "\\" in name:
        raise UploadRefused(f"file name {name!r} contains a backslash; use '/' between folders", source=name)
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise UploadRefused(
            f"file name {name!r} is an absolute path; only relative paths are allowed", source=name
        )
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UploadRefused(
            f"file name {name!r} climbs out of the case with '..' (path traversal)", source=name
        )
    if not parts:
        raise UploadRefused(f"file name {name!r} names no file", source=name)
    for part in parts:
        if not SAFE_COMPONENT.match(part) or part.startswith("."):
            raise UploadRefused(
                f"file name {name!r}: {part!r} has control or reserved characters or starts with '.'",
                source=name,
            )
    if len(parts) > 4:
        raise UploadRefused(f"file name {name!r} is nested too deeply (at most 4 levels)", source=name)
    return str(PurePosixPath(*parts))


def is_utf16_text(data: bytes) -> bool:
    """UTF-16 text (what Windows tools save CSV exports as): a BOM, then text that decodes cleanly."""
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    head = data[: 8192 - 8192 % 2]
    try:
        text = head.decode("utf-16")
    except UnicodeDecodeError:
        return False
    return "\x00" not in text


def looks_binary(data: bytes) -> bool:
    """True for content that is not a text capture: known binary signatures or NUL bytes.

    UTF-16 text with a BOM has NUL bytes everywhere but is text (the inverter-log reader decodes it).
    """
    if data.startswith(BINARY_MAGIC):
        return True
    if is_utf16_text(data):
        return False
    head = data[:8192]
    return head.count(b"\x00") > 0


PILLOW_FORMATS: Final = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")
"""Picture formats told apart by Pillow (from the header only; no pixel is decoded)."""
HEIF_BRANDS: Final = (b"heic", b"heix", b"mif1", b"msf1", b"avif")
"""ISO-BMFF brands of HEIC/HEIF/AVIF (what phones save); Pillow cannot open them without a plugin, so
these few bytes (``ftyp`` box at offset 4, ISO/IEC 14496-12 §4.3) stay hand-written."""


def image_type(data: bytes) -> str | None:
    """``png``, ``jpeg``, ``gif``, ``webp``, ``bmp``, ``tiff`` (by Pillow) or ``heic``; None otherwise."""
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "heic"
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # only the header is read
            with Image.open(io.BytesIO(data), formats=PILLOW_FORMATS) as img:
                return img.format.lower() if img.format else None
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        return None


def check_content(path: str, data: bytes, content_type: str | None = None) -> None:
    """The content and declared type fit the folder; ``UploadRefused`` (415) when not."""
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    kind = kind_of(path)
    if kind == "photo":
        if image_type(data) is None:
            raise UploadRefused(
                f"{path}: photos must be JPEG, PNG, GIF, WebP, HEIC, BMP or TIFF images",
                status=415,
                source=path,
            )
        if declared and not declared.startswith("image/") and declared != "application/octet-stream":
            raise UploadRefused(
                f"{path}: declared as {declared!r}, expected an image", status=415, source=path
            )
        return
    if kind == "other" and image_type(data) is not None:
        return
    if looks_binary(data):
        raise UploadRefused(
            f"{path}: binary content where a text file (console capture, event log, frames or case.yaml) "
            "is expected",
            status=415,
            source=path,
        )
    if declared and not declared.startswith("text/") and declared not in TEXT_CONTENT_TYPES:
        raise UploadRefused(
            f"{path}: declared as {declared!r}, expected a text file", status=415, source=path
        )


def check_files(files: list[IncomingFile], limits: Limits) -> None:
    """Count, sizes and duplicates of a whole submission."""
    if len(files) > limits.max_files:
        raise UploadRefused(f"{len(files)} files: at most {limits.max_files} per case", status=413)
    total = 0
    seen: set[str] = set()
    for f in files:
        if f.path in seen:
            raise UploadRefused(f"{f.path}: given twice", source=f.path)
        seen.add(f.path)
        if len(f.data) > limits.max_file_bytes:
            raise UploadRefused(
                f"{f.path}: {len(f.data)} bytes, over the limit of {limits.max_file_bytes} bytes per file",
                status=413,
                source=f.path,
            )
        total += len(f.data)
    if total > limits.max_total_bytes:
        raise UploadRefused(
            f"{total} bytes in all, over the limit of {limits.max_total_bytes} per case", status=413
        )


def read_zip(data: bytes, limits: Limits, *, name: str = "case.zip") -> list[IncomingFile]:
    """The files of a zipped case directory, checked; ``UploadRefused`` for anything unsafe.

    A single top folder that is not itself a case folder (``my-case/console/...``) is stripped.
    """
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise UploadRefused(f"{name}: not a zip file", status=415, source=name)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise UploadRefused(f"{name}: not a readable zip file ({exc})", status=415, source=name) from exc
    entries = [i for i in infos if not i.is_dir() and not JUNK_ENTRIES.search(i.filename)]
    if len(entries) > limits.max_files:
        raise UploadRefused(
            f"{name}: {len(entries)} files, at most {limits.max_files} per case", status=413, source=name
        )
    declared_total = 0
    for info in entries:
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UploadRefused(
                f"{name}: {info.filename!r} is a symbolic link; links are not accepted", source=name
            )
        if info.flag_bits & 0x1:
            raise UploadRefused(f"{name}: {info.filename!r} is encrypted", source=name)
        safe_relpath(info.filename)
        if info.file_size > limits.max_file_bytes:
            raise UploadRefused(
                f"{name}: {info.filename!r} inflates to {info.file_size} bytes, over the limit of "
                f"{limits.max_file_bytes} per file",
                status=413,
                source=name,
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= RATIO_MIN_BYTES and ratio > limits.max_compression_ratio:
            raise UploadRefused(
                f"{name}: {info.filename!r} expands {ratio:.0f}x "
                f"(limit {limits.max_compression_ratio:.0f}x): refused as a zip bomb",
                status=413,
                source=name,
            )
        declared_total += info.file_size
    if declared_total > limits.max_total_bytes:
        raise UploadRefused(
            f"{name}: inflates to {declared_total} bytes in all, over the limit of {limits.max_total_bytes}"
            " (zip bomb?)",
            status=413,
            source=name,
        )
    paths = [safe_relpath(i.filename) for i in entries]
    paths = _strip_top_folder(paths)
    files: list[IncomingFile] = []
    inflated = 0
    for info, path in zip(entries, paths, strict=True):
        chunks: list[bytes] = []
        size = 0
        try:
            with archive.open(info) as member:
                while chunk := member.read(READ_CHUNK):
                    size += len(chunk)
                    inflated += len(chunk)
                    if size > limits.max_file_bytes or inflated > limits.max_total_bytes:
                        raise UploadRefused(
                            f"{name}: {info.filename!r} inflates beyond its declared size and the limits "
                            "(zip bomb)",
                            status=413,
                            source=name,
                        )
                    chunks.append(chunk)
        except UploadRefused:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise UploadRefused(
                f"{name}: {info.filename!r} cannot be read ({exc})", status=400, source=name
            ) from exc
        files.append(IncomingFile(path, b"".join(chunks)))
    return files


def _strip_top_folder(paths: list[str]) -> list[str]:
    known = {*EVIDENCE_FOLDERS, PHOTO_FOLDER}
    tops = {p.split("/", 1)[0] for p in paths}
    if len(tops) == 1 and all("/" in p for p in paths) and next(iter(tops)) not in known:
        return [p.split("/", 1)[1] for p in paths]
    return paths
