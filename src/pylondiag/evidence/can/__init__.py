"""Pylontech low-voltage CAN (battery ↔ inverter), sans-IO: a shipped DBC decoded with cantools, and
readers for candump / python-can ASC and BLF captures. See :mod:`.codec` and :mod:`.log`."""

from __future__ import annotations

from pylondiag.evidence.can.codec import CanDecoded, CanIssue, database, decode, encode
from pylondiag.evidence.can.log import CanLog, CanRecord, CanWarning, iter_can, looks_like_can, read_can

__all__ = [
    "CanDecoded",
    "CanIssue",
    "CanLog",
    "CanRecord",
    "CanWarning",
    "database",
    "decode",
    "encode",
    "iter_can",
    "looks_like_can",
    "read_can",
]
