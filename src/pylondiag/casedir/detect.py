"""Recognising an evidence file by its content (the folder is only a hint; ``case-format.md``)."""

from __future__ import annotations

import re
from typing import Final

from pylondiag.evidence.console import looks_like_console
from pylondiag.model.stack import EvidenceKind

_CANDUMP: Final = re.compile(
    rb"(?m)^[ \t]*+(?:\(\d++\.\d++\)[ \t]++\w++[ \t]++[0-9A-Fa-f]{3,8}#[0-9A-Fa-f]*+"
    rb"|\w++[ \t]++[0-9A-Fa-f]{3,8}[ \t]++\[\d\](?:[ \t]++[0-9A-Fa-f]{2})*+)[ \t\r]*+$"
)
_RS485: Final = re.compile(rb"(?m)^(?:[^\s~]\S*+[ \t]++)?[<>]?[ \t]*+~[0-9A-Fa-f]{12,}+\r?$")
r"""Both match within one line (``[ \t]``, not ``\s``, which would run on over line ends) and never give
back what a possessive quantifier took, so a 64 KiB head full of blanks is searched in linear time."""
_RS485_RAW: Final = re.compile(rb"~[0-9A-Fa-f]{16,}\r")
_PHOTO_EXT: Final = frozenset({".jpg", ".jpeg", ".png", ".heic", ".gif", ".webp", ".bmp", ".tif", ".tiff"})

_TEXT_BYTES: Final = bytes([9, 10, 13, 27, *range(32, 256)])

FOLDER_KIND: Final[dict[str, EvidenceKind]] = {
    "console": "console",
    "inverter": "inverter_log",
    "can": "can",
    "rs485": "rs485",
    "photos": "photo",
}


def is_binary(data: bytes) -> bool:
    """NUL bytes or mostly non-text bytes in the first 8 KiB."""
    head = data[:8192]
    if not head:
        return False
    if b"\x00" in head:
        return True
    other = len(head.translate(None, _TEXT_BYTES))  # bytes that are neither printable nor tab/CR/LF/ESC
    return (len(head) - other) / len(head) < 0.85


def utf16_console(data: bytes) -> bool:
    """A console capture saved as UTF-16 with a byte-order mark (Windows "Unicode": PowerShell 5's ``>``
    and ``Out-File``, Notepad's "Unicode", Tera Term's UTF-16 log option). The console reader takes UTF-8
    and ASCII only: the owner is told how to save it again, instead of "binary data"."""
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    head = data[: 65536 - 65536 % 2]
    text = head.decode("utf-16", errors="replace")
    return looks_like_console(text.encode("utf-8", errors="replace"))


def sniff(data: bytes, name: str, hint: EvidenceKind | None) -> EvidenceKind:
    """What ``data`` holds. The folder hint is tried first, then every other kind."""
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    if suffix in _PHOTO_EXT:
        return "photo"
    if data[:4] == b"LOGG":
        return "can"  # Vector BLF (python-can's BLFReader reads it)
    if is_binary(data):
        if hint == "rs485" and _RS485_RAW.search(data[:65536]):
            return "rs485"  # a raw serial dump with line noise
        # Windows tools export UTF-16 (NUL bytes everywhere): the inverter-log reader decodes it.
        return "inverter_log" if _looks_like_inverter_log(data) else "unknown"
    order: list[EvidenceKind] = ["console", "inverter_log", "can", "rs485"]
    if hint in order:
        order.remove(hint)
        order.insert(0, hint)
    for kind in order:
        if kind == "console" and looks_like_console(data):
            return kind
        if kind == "inverter_log" and _looks_like_inverter_log(data):
            return kind
        if kind == "can" and (_CANDUMP.search(data[:65536]) or _looks_like_can(data)):
            return kind
        if kind == "rs485" and (
            _RS485.search(data[:65536]) or _looks_like_rs485(data) or _RS485_RAW.search(data[:65536])
        ):
            return kind
    return "unknown"


def _looks_like_inverter_log(data: bytes) -> bool:
    """The inverter-log readers' sniffer, imported here: their shape readers and brand code tables are
    ~20 ms of start-up that a case of console captures alone does not need (it never gets this far)."""
    from pylondiag.evidence.inverter_log import looks_like_inverter_log

    return looks_like_inverter_log(data)


def _looks_like_can(data: bytes) -> bool:
    """The CAN readers' own sniffer, imported here: the CAN package loads cantools and python-can, which a
    case without CAN captures should not pay for at start-up."""
    from pylondiag.evidence.can import looks_like_can

    return looks_like_can(data)


def _looks_like_rs485(data: bytes) -> bool:
    """The RS485 reader's own sniffer, imported here (the RS485 package loads ``construct``)."""
    from pylondiag.evidence.rs485 import looks_like_rs485

    return looks_like_rs485(data)
