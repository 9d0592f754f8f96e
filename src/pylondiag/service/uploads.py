"""Checking what an owner uploads before anything is stored.

A submission becomes a list of ``IncomingFile`` (relative path inside the case + bytes) only when every
file passes: names are plain relative paths (no ``..``, no absolute or drive paths, no backslashes, no
control characters), no symlinks or encrypted zip entries, counts and sizes within ``Limits``, no zip
bomb (declared sizes, compression ratio and the bytes actually inflated are all checked), and each
file's content fits its folder (text evidence is not binary; photos are images; the case zip is a zip).
Anything else raises ``UploadRefused`` with a message saying what is wrong, and nothing is written.
"""

from __future__ import annotations

import bz2
import io
import lzma
import re
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterator
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
MAX_NAME_BYTES: Final = 200
"""UTF-8 bytes in one file or folder name: file systems store 255 (``NAME_MAX``), less a margin for the
names the store derives from it."""
RATIO_MIN_BYTES: Final = 256 * 1024
"""Entries smaller than this (uncompressed, bytes) are not judged by ratio: short text compresses well."""
READ_CHUNK: Final = 64 * 1024
ZIP_ERRORS: Final = (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError)
"""Compressed bytes handed to a decompressor at a time, and the most it may produce per call."""
LOCAL_HEADER: Final = struct.Struct("<4s22xHH")
"""A zip local file header: signature, (version, flags, method, times, CRC, sizes), name and extra lengths."""
EOCD: Final = b"PK\x05\x06"
CENTRAL_ENTRY: Final = b"PK\x01\x02"


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
        if "\x00" in part:
            raise UploadRefused(f"file name {name!r} has a NUL (control) character in it", source=name)
        if not SAFE_COMPONENT.match(part) or part.startswith("."):
            raise UploadRefused(
                f"file name {name!r}: {part!r} has control or reserved characters or starts with '.'",
                source=name,
            )
        if len(part.encode("utf-8")) > MAX_NAME_BYTES:
            raise UploadRefused(
                f"file name {name[:80]!r}...: {len(part.encode('utf-8'))} bytes in one name, at most "
                f"{MAX_NAME_BYTES} (what file systems store)",
                source=name[:80],
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
    folders = {str(parent) for f in files for parent in PurePosixPath(f.path).parents if str(parent) != "."}
    for f in files:
        if f.path in folders:
            inside = next(g.path for g in files if g.path.startswith(f.path + "/"))
            raise UploadRefused(
                f"{f.path} is a file, and also a folder holding {inside}: rename one of them", source=f.path
            )
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
    declared_entries = count_zip_entries(data)
    if declared_entries > limits.max_zip_entries:
        raise UploadRefused(
            f"{name}: {declared_entries} entries (files, folders and all), at most {limits.max_zip_entries}",
            status=413,
            source=name,
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (*ZIP_ERRORS, NotImplementedError) as exc:
        # NotImplementedError: a "version needed to extract" above zipfile's (found by the fuzzer)
        raise UploadRefused(f"{name}: not a readable zip file ({exc})", status=415, source=name) from exc
    for info in infos:
        if "\x00" in info.orig_filename:  # zipfile cuts the name at the NUL: check what the zip says
            raise UploadRefused(
                f"{name}: the entry named {info.orig_filename!r} has a NUL character in its name", source=name
            )
        if not info.filename:  # found by the fuzzer: ZipInfo.is_dir() fails on it
            raise UploadRefused(f"{name}: an entry has an empty name", source=name)
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
        content = _inflate_entry(data, info, name, limits, limits.max_total_bytes - inflated)
        inflated += len(content)
        files.append(IncomingFile(path, content))
    return files


def count_zip_entries(data: bytes) -> int:
    """Entries a zip's central directory declares, read before :mod:`zipfile` builds one object per
    entry: the end-of-central-directory count, or (zip64, where it says 0xFFFF) the number of central
    directory signatures in the data (an upper bound)."""
    at = data.rfind(EOCD, max(0, len(data) - 65_557))
    if at >= 0 and at + 22 <= len(data):
        (total,) = struct.unpack_from("<H", data, at + 10)
        if total != 0xFFFF:
            return int(total)
    return data.count(CENTRAL_ENTRY)


def _inflate_entry(data: bytes, info: zipfile.ZipInfo, name: str, limits: Limits, room: int) -> bytes:
    """One entry's bytes, decompressed here with a hard cap on what is produced.

    ``zipfile`` trusts the header: for bzip2 and LZMA one read may inflate a few kilobytes into
    gigabytes before it cuts the result to the declared size. Here every decompressor call may produce
    at most :data:`READ_CHUNK` bytes, the running total is checked against the per-file limit and the
    case's remaining ``room`` after each call, and the result must then have exactly the declared size
    and CRC-32 (a header that lies about either is refused, not silently cut).
    """
    cap = min(limits.max_file_bytes, room)
    out = bytearray()
    try:
        raw = _raw_entry(data, info, name)
        for piece in _decompressed(raw, info.compress_type, info.filename, name, cap):
            out += piece
            if len(out) > cap:
                raise UploadRefused(
                    f"{name}: {info.filename!r} inflates beyond {cap} bytes (the per-file and per-case "
                    "limits), whatever its header says: refused as a zip bomb",
                    status=413,
                    source=name,
                )
    except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        raise UploadRefused(f"{name}: {info.filename!r} cannot be read ({exc})", source=name) from exc
    if len(out) != info.file_size:
        raise UploadRefused(
            f"{name}: {info.filename!r} declares {info.file_size} bytes but holds {len(out)}: refused (a zip "
            "whose headers do not tell the truth)",
            source=name,
        )
    if zlib.crc32(out) != info.CRC:
        raise UploadRefused(f"{name}: {info.filename!r} is damaged (CRC-32 mismatch)", source=name)
    return bytes(out)


def _raw_entry(data: bytes, info: zipfile.ZipInfo, name: str) -> memoryview:
    """The compressed bytes of ``info`` (a view into ``data``), found from its local header."""
    offset = info.header_offset
    if offset < 0 or offset + LOCAL_HEADER.size > len(data):
        raise UploadRefused(f"{name}: {info.filename!r} points outside the file", source=name)
    signature, name_len, extra_len = LOCAL_HEADER.unpack_from(data, offset)
    if signature != b"PK\x03\x04":
        raise UploadRefused(
            f"{name}: {info.filename!r} has no local header where the directory says", source=name
        )
    start = offset + LOCAL_HEADER.size + name_len + extra_len
    end = start + info.compress_size
    if end > len(data):
        raise UploadRefused(f"{name}: {info.filename!r} is cut short (truncated zip)", source=name)
    return memoryview(data)[start:end]


def _chunks(raw: memoryview) -> Iterator[bytes]:
    for at in range(0, len(raw), READ_CHUNK):
        yield bytes(raw[at : at + READ_CHUNK])


def _decompressed(raw: memoryview, method: int, entry: str, name: str, cap: int) -> Iterator[bytes]:
    """Decompressed pieces of at most :data:`READ_CHUNK` bytes each (stored, deflate, bzip2, LZMA);
    ``cap`` is the most the caller will accept in all (bytes)."""
    if method == zipfile.ZIP_STORED:
        yield from _chunks(raw)
    elif method == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        for chunk in _chunks(raw):
            pending = chunk
            while pending:
                yield inflater.decompress(pending, READ_CHUNK)
                pending = inflater.unconsumed_tail
        yield inflater.flush()
    elif method == zipfile.ZIP_BZIP2:
        yield from _bounded(bz2.BZ2Decompressor(), _chunks(raw))
    elif method == zipfile.ZIP_LZMA:
        decompressor, body = _lzma(raw, cap)
        yield from _bounded(decompressor, _chunks(body))
    else:
        raise UploadRefused(
            f"{name}: {entry!r} uses compression method {method}; accepted are stored, deflate, bzip2 and "
            "LZMA (zip it again with your system's standard zip)",
            status=415,
            source=name,
        )


def _bounded(
    decompressor: bz2.BZ2Decompressor | lzma.LZMADecompressor, chunks: Iterator[bytes]
) -> Iterator[bytes]:
    """``max_length`` on every call: never more than :data:`READ_CHUNK` bytes at once."""
    for chunk in chunks:
        yield decompressor.decompress(chunk, max_length=READ_CHUNK)
        while not decompressor.needs_input and not decompressor.eof:
            yield decompressor.decompress(b"", max_length=READ_CHUNK)


def _lzma(raw: memoryview, cap: int) -> tuple[lzma.LZMADecompressor, memoryview]:
    """Zip's LZMA (method 14, APPNOTE 5.8.8): version (2 bytes), properties size (2 bytes), the LZMA
    properties (lc/lp/pb in one byte, dictionary size in four), then a raw LZMA1 stream.

    The dictionary is allocated up front at the size the header asks (up to 4 GiB); no match distance
    within the first ``cap`` bytes can exceed ``cap``, so the dictionary is clamped to that (liblzma's
    minimum is 4 KiB)."""
    if len(raw) < 4:
        raise ValueError("LZMA header cut short")
    (size,) = struct.unpack_from("<H", raw, 2)
    props = bytes(raw[4 : 4 + size])
    if size != 5 or len(props) != 5:
        raise ValueError(f"LZMA properties of {size} bytes (expected 5)")
    lclppb, dict_size = props[0], struct.unpack_from("<I", props, 1)[0]
    if lclppb >= 9 * 5 * 5:
        raise ValueError("bad LZMA properties")
    filters = [
        {
            "id": lzma.FILTER_LZMA1,
            "dict_size": max(4096, min(dict_size, cap)),
            "lc": lclppb % 9,
            "lp": (lclppb // 9) % 5,
            "pb": lclppb // 45,
        }
    ]
    return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters), raw[4 + size :]


def _strip_top_folder(paths: list[str]) -> list[str]:
    known = {*EVIDENCE_FOLDERS, PHOTO_FOLDER}
    tops = {p.split("/", 1)[0] for p in paths}
    if len(tops) == 1 and all("/" in p for p in paths) and next(iter(tops)) not in known:
        return [p.split("/", 1)[1] for p in paths]
    return paths
