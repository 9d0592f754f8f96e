"""Pylontech low-voltage CAN inverter protocol, sans-IO: ``(id, data)`` ↔ typed signals via cantools.

The frame layouts live in the DBC file shipped next to this module (``pylontech_lv.dbc``); its
source is ``shared/domain/protocols/can.md`` (consensus of OpenDTU-OnBattery, setfirelabs,
plewka's DBC, broglep's reader; checked against the real captures in
``samples_can_public_sources.txt``). All payloads are little-endian (Intel).

:func:`decode` never raises: an unknown identifier, a DLC too short for the fields a frame must carry
(``MIN_DLC``) or an extended (29-bit) identifier gives a :class:`CanIssue` instead of a record.
Trailing bytes the DBC does not describe are ignored (real packs send 0x359 with DLC 7 or 8).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

import cantools
from cantools.database.can import Database, Message

DBC_NAME: Final = "pylontech_lv.dbc"

HEARTBEAT_ID: Final = 0x305
"""Inverter → battery keep-alive (can.md §1)."""
VICTRON_ID: Final = 0x307
LIMITS_ID: Final = 0x351
SOC_ID: Final = 0x355
MEASURE_ID: Final = 0x356
PROTECTION_ID: Final = 0x359
ALARMS_35A_ID: Final = 0x35A
FLAGS_ID: Final = 0x35C
MANUFACTURER_ID: Final = 0x35E
INFO_ID: Final = 0x35F

BMS_IDS: Final = frozenset(
    {LIMITS_ID, SOC_ID, MEASURE_ID, PROTECTION_ID, ALARMS_35A_ID, FLAGS_ID, MANUFACTURER_ID, INFO_ID}
)
"""Frames the battery sends (both firmware generations)."""
INVERTER_IDS: Final = frozenset({HEARTBEAT_ID, VICTRON_ID})

MIN_DLC: Final[dict[int, int]] = {
    HEARTBEAT_ID: 1,
    VICTRON_ID: 4,
    LIMITS_ID: 6,  # the discharge voltage limit (bytes 6-7) is optional (plewka's DBC omits it)
    SOC_ID: 4,
    MEASURE_ID: 6,
    PROTECTION_ID: 5,  # flags + module count; the 'PN' marker is checked but not required
    ALARMS_35A_ID: 4,
    FLAGS_ID: 1,
    MANUFACTURER_ID: 1,
    INFO_ID: 2,
}
"""Bytes: the fewest a frame must carry to be read (can.md §2, §5, §7 "validate DLC ≥ the bytes used")."""


@dataclass(frozen=True, slots=True)
class CanIssue:
    """Why a frame was not decoded (unknown id, short DLC...), for a warning with its line."""

    arbitration_id: int
    message: str


Signals = dict[str, float | int]


@dataclass(frozen=True, slots=True)
class CanDecoded:
    """One decoded frame: the DBC message name and its physical signal values (V, A, %, °C)."""

    arbitration_id: int
    name: str
    signals: Signals
    data: bytes


@cache
def database() -> Database:
    """The shipped DBC, loaded once."""
    text = resources.files(__package__).joinpath(DBC_NAME).read_text(encoding="ascii")
    db = cantools.database.load_string(text, database_format="dbc")
    assert isinstance(db, Database)
    return db


@cache
def _message(arbitration_id: int) -> Message | None:
    try:
        return database().get_message_by_frame_id(arbitration_id)
    except KeyError:
        return None


def decode(arbitration_id: int, data: bytes, *, extended: bool = False) -> CanDecoded | CanIssue:
    """Decode one frame; a :class:`CanIssue` (never an exception) when it cannot be read."""
    if extended:
        return CanIssue(arbitration_id, f"extended identifier 0x{arbitration_id:X}: not a Pylontech frame")
    msg = _message(arbitration_id)
    if msg is None:
        return CanIssue(arbitration_id, f"identifier 0x{arbitration_id:03X} is not a Pylontech frame")
    need = MIN_DLC[arbitration_id]
    if len(data) < need:
        return CanIssue(
            arbitration_id,
            f"0x{arbitration_id:03X} ({msg.name}) has {len(data)} data bytes, needs at least {need}",
        )
    try:
        raw = msg.decode(bytes(data[:8]), decode_choices=False, allow_truncated=True, allow_excess=True)
    except Exception as exc:  # cantools raises several types on odd input; never let one escape
        return CanIssue(arbitration_id, f"0x{arbitration_id:03X} could not be decoded ({exc})")
    if not isinstance(raw, dict):
        return CanIssue(arbitration_id, f"0x{arbitration_id:03X} decoded to an unexpected shape")
    signals: Signals = {k: v for k, v in raw.items() if isinstance(v, int | float)}
    return CanDecoded(arbitration_id, msg.name, signals, bytes(data))


def encode(arbitration_id: int, signals: Mapping[str, float | int], dlc: int | None = None) -> bytes:
    """Encode signal values (physical units) into a frame payload of ``dlc`` bytes (default the DBC length).

    Missing signals are 0. Used by the simulator and the round-trip tests.
    """
    msg = _message(arbitration_id)
    if msg is None:
        raise KeyError(f"0x{arbitration_id:03X} is not in {DBC_NAME}")
    full = {s.name: signals.get(s.name, 0) for s in msg.signals}
    data = msg.encode(full, scaling=True, strict=True)
    return bytes(data[: msg.length if dlc is None else dlc])


def signal_names(arbitration_id: int) -> list[str]:
    msg = _message(arbitration_id)
    return [] if msg is None else [s.name for s in msg.signals]
