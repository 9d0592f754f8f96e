"""Bytes to lines: encoding detection, universal-newline line splitting, delimiter sniffing.

Line numbers follow the diagnosis spec: ``\\r\\n``, ``\\r`` and ``\\n`` each end a line (Python's
universal-newline reading), so ``\\r\\r\\n`` ends two lines.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

_DELIMITERS: Final = (",", ";", "\t", "|")


def decode(data: bytes) -> tuple[str, str]:
    """Text and the name of the encoding used.

    UTF-8 (with or without BOM), UTF-16 with BOM (Windows "Unicode" exports) or without BOM (detected by
    its zero bytes), then Windows-1252 / Latin-1 for the rest. Never fails: Latin-1 maps every byte.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    head = data[:4000]
    if len(head) >= 4:
        even_zeros = head[0::2].count(0)
        odd_zeros = head[1::2].count(0)
        half = len(head) // 2
        if odd_zeros > 0.3 * half and even_zeros < 0.05 * half:
            return data.decode("utf-16-le", errors="replace"), "utf-16-le"
        if even_zeros > 0.3 * half and odd_zeros < 0.05 * half:
            return data.decode("utf-16-be", errors="replace"), "utf-16-be"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    guess = detected_encoding(data)
    if guess is not None:
        return data.decode(guess, errors="replace"), guess
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


DETECT_BYTES: Final = 256 * 1024
"""Bytes charset-normalizer looks at (it samples within them): enough for any log's accents."""


def detected_encoding(data: bytes) -> str | None:
    """The encoding of non-UTF-8 text as ``charset-normalizer`` judges it, when it is one that keeps
    ASCII (and so the line ends) byte for byte: the citation rule (:func:`spec_lines`) relies on it."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[:DETECT_BYTES]).best()
    if best is None:
        return None
    name = best.encoding
    try:
        if "\r\n,;|\t0123456789 abcdefghijklmnopqrstuvwxyz".encode(name) != (
            b"\r\n,;|\t0123456789 abcdefghijklmnopqrstuvwxyz"
        ):
            return None
    except (LookupError, UnicodeEncodeError):
        return None
    try:  # a guess that reads the file exactly as Windows-1252 does is called that (the usual case)
        if data.decode(name) == data.decode("cp1252"):
            return "cp1252"
    except UnicodeDecodeError:
        pass
    return name


SPEC_LINE_END: Final = re.compile(r"\r\n|\r|\n")


def spec_lines(data: bytes) -> list[str]:
    """The file's lines as the diagnosis spec and its validator number and quote them: UTF-8, each
    undecodable byte replaced by U+FFFD, split at ``\\r\\n``, ``\\r`` or ``\\n``.

    The one encoding rule for evidence: values are read from the text in the file's detected encoding
    (:func:`decode`), but every citation (line number and quote) is this text, so the shared validator
    and the service's review check find exactly what the diagnosis quotes, whatever the encoding.
    """
    lines = SPEC_LINE_END.split(data.decode("utf-8", errors="replace"))
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def split_lines(text: str) -> list[str]:
    """Lines without their ends; index ``i`` is line ``i + 1`` (universal newlines)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def sniff_delimiter(line: str) -> str:
    """The field delimiter of a header line: the most frequent of ``, ; TAB |`` outside quotes."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def cite_lines(data: bytes, encoding: str, lines: list[str]) -> list[str] | None:
    """The spec's lines of ``data`` (:func:`spec_lines`) when citations must quote them instead of the
    decoded ``lines``: a file that is not UTF-8 but numbers its lines the same way (an encoding that
    keeps ASCII). None when the decoded lines are already the spec's, or cannot be matched line by line
    (UTF-16: its quotes stay the decoded text)."""
    if encoding in ("utf-8", "utf-8-sig"):
        return None
    spec = spec_lines(data)
    return spec if len(spec) == len(lines) and spec != lines else None
