"""Pylontech low-voltage RS485 protocol, sans-IO: frames (:mod:`.frame`), INFO payloads declared with
``construct`` (:mod:`.payloads`), and capture files (:mod:`.log`)."""

from __future__ import annotations

from pylondiag.evidence.rs485.frame import (
    COMMANDS,
    READ_COMMANDS,
    RTN_CODES,
    Frame,
    FrameIssue,
    decode_frame,
    encode_frame,
)
from pylondiag.evidence.rs485.log import Rs485Log, Rs485Record, Rs485Warning, looks_like_rs485, read_rs485
from pylondiag.evidence.rs485.payloads import decode_payload, encode_payload, infer_command

__all__ = [
    "COMMANDS",
    "READ_COMMANDS",
    "RTN_CODES",
    "Frame",
    "FrameIssue",
    "Rs485Log",
    "Rs485Record",
    "Rs485Warning",
    "decode_frame",
    "decode_payload",
    "encode_frame",
    "encode_payload",
    "infer_command",
    "looks_like_rs485",
    "read_rs485",
]
