"""Pylontech low-voltage RS485 framing (``~ VER ADR CID1 CID2 LENGTH INFO CHKSUM \\r``), sans-IO.

Source: ``shared/domain/protocols/rs485.md`` §2-§4 (Pylon LV protocol V3.3, 2018-08-21). Every field
after ``~`` is ASCII hex, two characters per byte. The frame layout is declared with ``construct``
(:data:`FRAME_BODY`) over the hex-decoded bytes; the two checksums are checked separately because
CHKSUM is computed over the ASCII characters, not the bytes:

* LCHKSUM (high nibble of LENGTH) = ``(-(n2 + n1 + n0)) & 0xF`` over the nibbles of LENID — masked, unlike
  python-pylontech, which sends 16 when the nibble sum is a multiple of 16 (rs485.md §3 pitfall);
* CHKSUM = ``(-sum(ASCII bytes of VER..INFO)) & 0xFFFF``.

:func:`decode_frame` never raises: anything wrong is a :class:`FrameIssue` with the reason.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass
from typing import Final

import construct as cs

SOI: Final = 0x7E
EOI: Final = 0x0D
CID1_BATTERY: Final = 0x46
VER_DEFAULT: Final = 0x20

RTN_CODES: Final[dict[int, str]] = {
    0x00: "normal",
    0x01: "VER error",
    0x02: "CHKSUM error",
    0x03: "LCHKSUM error",
    0x04: "CID2 invalid",
    0x05: "command format error",
    0x06: "invalid data (INFO)",
    0x90: "ADR error",
    0x91: "internal communication error",
}
"""Reply return codes in the CID2 position (rs485.md §4, V3.3)."""

COMMANDS: Final[dict[int, str]] = {
    0x42: "analog values",
    0x44: "alarm info",
    0x47: "system parameters",
    0x4F: "protocol version",
    0x51: "manufacturer info",
    0x60: "system basic info",
    0x61: "system analog",
    0x62: "system alarm",
    0x63: "system charge/discharge management",
    0x92: "charge/discharge management",
    0x93: "serial number",
    0x94: "set charge/discharge management",
    0x95: "turn off module",
    0x96: "software version",
}
"""CID2 command codes (rs485.md §6-§7). 0x94/0x95 WRITE to the pack: never sent by this tool."""

READ_COMMANDS: Final = frozenset({0x42, 0x44, 0x47, 0x4F, 0x51, 0x61, 0x62, 0x63, 0x92, 0x93, 0x96})
"""The read-only commands a live poll may send (0x60 has no known layout, 0x94/0x95 change the pack)."""

MAX_INFO_BYTES: Final = 0xFFF // 2
"""LENID is 12 bits of ASCII characters: at most 2047 INFO bytes."""

FRAME_BODY: Final = cs.Struct(
    "ver" / cs.Int8ub,
    "adr" / cs.Int8ub,
    "cid1" / cs.Int8ub,
    "cid2" / cs.Int8ub,
    "length"
    / cs.BitStruct(
        "lchksum" / cs.BitsInteger(4),
        "lenid" / cs.BitsInteger(12),
    ),
    "info" / cs.Bytes(cs.this.length.lenid // 2),
    "chksum" / cs.Int16ub,
    cs.Terminated,
).compile()
"""The frame between ``~`` and ``\\r`` once its ASCII hex is decoded to bytes (compiled by construct)."""


def lchksum(lenid: int) -> int:
    """LCHKSUM nibble for a LENID (number of ASCII characters of INFO)."""
    return (-((lenid & 0xF) + ((lenid >> 4) & 0xF) + ((lenid >> 8) & 0xF))) & 0xF


def chksum(ascii_body: bytes) -> int:
    """CHKSUM over the ASCII characters VER..INFO (everything after ``~`` before CHKSUM)."""
    return (-sum(ascii_body)) & 0xFFFF


@dataclass(frozen=True, slots=True)
class Frame:
    """One valid frame. ``cid2`` is the command in a request, the RTN code in a reply."""

    ver: int
    adr: int
    cid1: int
    cid2: int
    info: bytes

    @property
    def is_reply(self) -> bool:
        """A reply carries an RTN code where a request carries a command; the two sets do not overlap."""
        return self.cid2 in RTN_CODES

    @property
    def rtn_text(self) -> str:
        return RTN_CODES.get(self.cid2, f"unknown return code 0x{self.cid2:02X}")


@dataclass(frozen=True, slots=True)
class FrameIssue:
    """Why some text is not a valid frame."""

    message: str


def encode_frame(frame: Frame) -> bytes:
    """The frame as sent on the wire: ``~`` + uppercase ASCII hex + ``\\r``."""
    if len(frame.info) > MAX_INFO_BYTES:
        raise ValueError(f"INFO of {len(frame.info)} bytes exceeds {MAX_INFO_BYTES}")
    lenid = 2 * len(frame.info)
    head = bytes([frame.ver, frame.adr, frame.cid1, frame.cid2]).hex().upper()
    length = f"{(lchksum(lenid) << 12) | lenid:04X}"
    body = (head + length + frame.info.hex().upper()).encode("ascii")
    return b"~" + body + f"{chksum(body):04X}".encode("ascii") + b"\r"


def decode_frame(raw: bytes | str) -> Frame | FrameIssue:
    """Check and decode one frame (``~`` … with or without the trailing ``\\r``)."""
    text = raw.encode("latin-1", "replace") if isinstance(raw, str) else bytes(raw)
    text = text.strip()
    if not text.startswith(b"~"):
        return FrameIssue("does not start with '~'")
    body = text[1:]
    if len(body) < 16:
        return FrameIssue(f"too short for a frame ({len(body)} characters after '~', at least 16)")
    if len(body) % 2:
        return FrameIssue("odd number of hex characters")
    try:
        decoded = binascii.unhexlify(body)
    except (binascii.Error, ValueError):
        return FrameIssue("characters other than hex digits after '~'")
    want = chksum(body[:-4])
    got = (decoded[-2] << 8) | decoded[-1]
    if got != want:
        return FrameIssue(f"checksum {got:04X} is wrong (computed {want:04X})")
    lenid = ((decoded[4] << 8) | decoded[5]) & 0xFFF
    if lenid != len(body) - 16:
        return FrameIssue(f"LENID says {lenid} INFO characters, the frame holds {len(body) - 16}")
    if lenid % 2:
        return FrameIssue(f"LENID {lenid} is odd")
    if (decoded[4] >> 4) != lchksum(lenid):
        return FrameIssue(
            f"LENGTH checksum {decoded[4] >> 4:X} is wrong for LENID {lenid} (expected {lchksum(lenid):X})"
        )
    try:
        parsed = FRAME_BODY.parse(decoded)
    except (cs.ConstructError, ValueError, IndexError, struct.error) as exc:
        return FrameIssue(f"malformed frame ({type(exc).__name__})")
    return Frame(parsed.ver, parsed.adr, parsed.cid1, parsed.cid2, bytes(parsed.info))
