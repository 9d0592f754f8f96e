"""Upload checks as pure functions: names, zip bombs (including lying headers), content types."""

from __future__ import annotations

import io
import random
import struct
import tracemalloc
import zipfile
from dataclasses import replace

import pytest

from pylondiag.service.settings import Limits
from pylondiag.service.uploads import (
    IncomingFile,
    UploadRefused,
    check_content,
    check_files,
    kind_of,
    read_zip,
    safe_relpath,
)

LIMITS = Limits(max_file_bytes=1_000_000, max_total_bytes=2_000_000, max_files=10)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("console/pwr.txt", "console/pwr.txt"),
        ("./console//pwr.txt", "console/pwr.txt"),
        ("case.yaml", "case.yaml"),
        ("photos/stack front.jpg", "photos/stack front.jpg"),
    ],
)
def test_safe_names(name: str, expected: str) -> None:
    assert safe_relpath(name) == expected


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../x", "traversal"),
        ("console/../../x", "traversal"),
        ("/etc/passwd", "absolute"),
        ("C:/x", "absolute"),
        ("console\\x.txt", "backslash"),
        ("console/x\x00.txt", "control"),
        ("console/.hidden", "starts with '.'"),
        ("a/b/c/d/e.txt", "nested"),
        ("", "empty"),
        ("x" * 300, "longer than 255"),
    ],
)
def test_unsafe_names(name: str, why: str) -> None:
    with pytest.raises(UploadRefused) as err:
        safe_relpath(name)
    assert why in err.value.message


def test_kinds() -> None:
    assert [
        kind_of(p)
        for p in (
            "case.yaml",
            "console/a",
            "inverter/a",
            "can/a",
            "rs485/a",
            "photos/a",
            "notes.txt",
            "console",
        )
    ] == ["case_yaml", "console", "inverter", "can", "rs485", "photo", "other", "other"]


def _zip(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _lie_about_size(data: bytes, size: int) -> bytes:
    """Rewrite the uncompressed size in the local header and the central directory."""
    out = bytearray(data)
    local = out.find(b"PK\x03\x04")
    out[local + 22 : local + 26] = struct.pack("<I", size)
    central = out.find(b"PK\x01\x02")
    out[central + 24 : central + 28] = struct.pack("<I", size)
    return bytes(out)


def test_a_zip_that_lies_about_its_size_is_not_inflated_beyond_it() -> None:
    liar = _lie_about_size(_zip({"console/x.txt": b"0" * 5_000_000}), 1000)
    with pytest.raises(UploadRefused) as err:
        read_zip(liar, LIMITS)
    assert err.value.status == 413 and "zip bomb" in err.value.message


BOMB_BYTES = 32 * 1024 * 1024


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_lying_bomb_is_stopped_at_the_cap_on_bytes_produced(method: int) -> None:
    """Declared 1000 bytes, holds 32 MiB: refused, and never more than about the 1 MB cap is in memory
    (zipfile's own reader inflates a bzip2/LZMA chunk whole before cutting it to the declared size)."""
    liar = _lie_about_size(_zip({"console/x.txt": b"a" * BOMB_BYTES}, method), 1000)
    tracemalloc.start()
    try:
        with pytest.raises(UploadRefused) as err:
            read_zip(liar, LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.value.status == 413 and "zip bomb" in err.value.message
    assert peak < 6 * LIMITS.max_file_bytes, f"{peak} bytes in memory while refusing"


def test_an_entry_longer_than_its_header_says_is_refused_not_cut() -> None:
    liar = _lie_about_size(_zip({"console/x.txt": b"pwr\n" * 500}), 1000)
    with pytest.raises(UploadRefused) as err:
        read_zip(liar, LIMITS)
    assert "declares 1000 bytes but holds 2000" in err.value.message


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)
def test_honest_entries_read_back_exactly(method: int) -> None:
    data = random.Random(15).randbytes(300_000) + b"pylon>pwr\r\n" * 5000
    files = read_zip(_zip({"inverter/a.csv": data, "console/b.txt": b"x"}, method), LIMITS)
    assert {f.path: f.data for f in files} == {"inverter/a.csv": data, "console/b.txt": b"x"}


def test_nul_in_a_zip_entry_name_is_refused_not_truncated() -> None:
    data = _zip({"console/pwr.txtX.exe": b"pwr"}).replace(b"pwr.txtX.exe", b"pwr.txt\x00.exe")
    with pytest.raises(UploadRefused) as err:
        read_zip(data, LIMITS)
    assert "NUL" in err.value.message and "pwr.txt\\x00.exe" in err.value.message


def test_entries_are_counted_from_the_directory_before_zipfile_reads_it() -> None:
    many = _zip({f"d{i}/": b"" for i in range(30)})
    with pytest.raises(UploadRefused) as err:
        read_zip(many, replace(LIMITS, max_zip_entries=20))
    assert err.value.status == 413 and "30 entries" in err.value.message


def test_a_zip_inside_the_zip_is_refused() -> None:
    inner = _zip({"console/pwr.txt": b"pwr"})
    files = read_zip(_zip({"console/inner.zip": inner}), LIMITS)
    with pytest.raises(UploadRefused) as err:
        check_content(files[0].path, files[0].data)
    assert err.value.status == 415


def test_zip_top_folder_is_stripped_only_when_it_is_not_a_case_folder() -> None:
    assert [f.path for f in read_zip(_zip({"c/case.yaml": b"schema: x", "c/console/a": b"pwr"}), LIMITS)] == [
        "case.yaml",
        "console/a",
    ]
    assert [f.path for f in read_zip(_zip({"console/a": b"pwr", "console/b": b"bat"}), LIMITS)] == [
        "console/a",
        "console/b",
    ]
    junk = _zip({"__MACOSX/._a": b"\x00\x05", "console/.DS_Store": b"\x00", "console/a": b"pwr"})
    assert [f.path for f in read_zip(junk, LIMITS)] == ["console/a"]


def test_a_zip_with_too_many_entries_is_refused_before_inflating() -> None:
    with pytest.raises(UploadRefused) as err:
        read_zip(_zip({f"console/{i}": b"x" for i in range(11)}), LIMITS)
    assert err.value.status == 413 and "at most 10" in err.value.message


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(buf, "PNG")
    return buf.getvalue()


def test_content_checks() -> None:
    png = _png()
    check_content("console/a.txt", b"pylon>pwr\r\r\n", "text/plain")
    check_content("inverter/a.csv", b"time,code\n", "application/vnd.ms-excel")
    check_content("photos/a.png", png, "image/png")
    check_content("notes.png", png, None)
    check_content(
        "inverter/export.csv", "time,code,message\n2026-11-18 07:12:40,F58,BMS\n".encode("utf-16"), "text/csv"
    )  # Windows tools save UTF-16 with a BOM
    for path, data, ctype, why in (
        ("console/a.txt", b"PK\x03\x04nested zip", "application/zip", "binary"),
        ("console/a.txt", b"text\x00with nul", "text/plain", "binary"),
        ("console/a.txt", b"\xff\xfe" + b"\x00" * 64, "text/plain", "binary"),  # a BOM on NULs is no text
        ("photos/a.jpg", b"<svg onload=alert(1)>", "image/svg+xml", "photos must be"),
        ("photos/a.png", png, "text/html", "expected an image"),
        ("photos/a.png", b"\x89PNG\r\n\x1a\n....", "image/png", "photos must be"),  # a signature alone
        ("console/a.txt", b"pwr", "text/html; charset=utf-8", None),
    ):
        if why is None:
            check_content(path, data, ctype)  # text/* is text
            continue
        with pytest.raises(UploadRefused) as err:
            check_content(path, data, ctype)
        assert why in err.value.message and err.value.status == 415


def test_whole_submission_limits() -> None:
    with pytest.raises(UploadRefused, match="given twice"):
        check_files([IncomingFile("a", b""), IncomingFile("a", b"")], LIMITS)
    with pytest.raises(UploadRefused, match="in all"):
        check_files([IncomingFile(f"console/{i}", b"x" * 900_000) for i in range(3)], LIMITS)


def test_image_type_by_pillow_and_heic_by_its_brand() -> None:
    from PIL import Image

    from pylondiag.service.uploads import image_type

    for fmt in ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"):
        buf = io.BytesIO()
        Image.new("RGB", (4, 3), "blue").save(buf, fmt)
        assert image_type(buf.getvalue()) == fmt.lower(), fmt
    assert image_type(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic") == "heic"
    for not_a_picture in (b"<svg onload=alert(1)>", b"\x89PNG\r\n\x1a\n....", b"", b"GIF89a"):
        assert image_type(not_a_picture) is None, not_a_picture
