"""INFO payloads of the Pylontech LV RS485 protocol, declared with ``construct``, and typed records.

Source for every layout: ``shared/domain/protocols/rs485.md`` (section numbers below). Units in the
records: mV, mAh, 0.1 A as A (float), °C (temperatures travel as 0.1 K: °C = (raw − 2731) / 10).

Replies do not carry their command (CID2 holds the RTN code), so :func:`decode_reply` is told the
request's command when the capture has it, and otherwise recognises the payload by its exact shape
(:func:`infer_command`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Final

import construct as cs

PARSE_ERRORS: Final = (cs.ConstructError, ValueError, OverflowError, IndexError, struct.error)
"""What construct's parsers (compiled ones raise plain ``struct.error``/``IndexError``) raise on bad bytes."""

KELVIN_OFFSET_DK: Final = 2731
"""0.1 K: 0 °C (rs485.md §6.1: °C = (raw − 2731)/10)."""


# ---------------------------------------------------------------- construct declarations
def _compiled(struct: cs.Construct) -> cs.Construct:
    """The declaration compiled to Python code by construct (several times faster to parse and build)."""
    return struct.compile()


ANALOG_MODULE: Final = _compiled(
    cs.Struct(
        "cell_count" / cs.Int8ub,
        "cells_mv" / cs.Array(cs.this.cell_count, cs.Int16sb),
        "temp_count" / cs.Int8ub,
        "temps_dk" / cs.Array(cs.this.temp_count, cs.Int16sb),
        "current_da" / cs.Int16sb,
        "voltage_mv" / cs.Int16ub,
        "remaining1_mah" / cs.Int16ub,
        "user_defined" / cs.Int8ub,
        "total1_mah" / cs.Int16ub,
        "cycles" / cs.Int16ub,
        "remaining2_mah" / cs.If(cs.this.user_defined > 2, cs.Int24ub),
        "total2_mah" / cs.If(cs.this.user_defined > 2, cs.Int24ub),
        "end" / cs.Tell,
    )
)
"""One module record of a 0x42 reply (§6.1). Records vary in length inside one reply (UD 2 vs 4)."""

ALARM_MODULE: Final = _compiled(
    cs.Struct(
        "cell_count" / cs.Int8ub,
        "cell_states" / cs.Array(cs.this.cell_count, cs.Int8ub),
        "temp_count" / cs.Int8ub,
        "temp_states" / cs.Array(cs.this.temp_count, cs.Int8ub),
        "charge_current_state" / cs.Int8ub,
        "module_voltage_state" / cs.Int8ub,
        "discharge_current_state" / cs.Int8ub,
        "status1" / cs.Int8ub,
        "status2" / cs.Int8ub,
        "status3" / cs.Int8ub,
        "status4" / cs.Int8ub,
        "status5" / cs.Int8ub,
        "end" / cs.Tell,
    )
)
"""One module record of a 0x44 reply (§6.2)."""

SYSTEM_PARAMS: Final = _compiled(
    cs.Struct(
        "infoflag" / cs.Int8ub,
        "cell_high_mv" / cs.Int16ub,
        "cell_low_mv" / cs.Int16ub,
        "cell_under_mv" / cs.Int16ub,
        "charge_high_temp_dk" / cs.Int16sb,
        "charge_low_temp_dk" / cs.Int16sb,
        "charge_current_da" / cs.Int16sb,
        "module_high_mv" / cs.Int16ub,
        "module_low_mv" / cs.Int16ub,
        "module_under_mv" / cs.Int16ub,
        "discharge_high_temp_dk" / cs.Int16sb,
        "discharge_low_temp_dk" / cs.Int16sb,
        "discharge_current_da" / cs.Int16sb,
        cs.Terminated,
    )
)
"""0x47 reply (§6.3)."""

MANAGEMENT_BODY: Final = cs.Struct(
    "charge_voltage_mv" / cs.Int16ub,
    "discharge_voltage_mv" / cs.Int16ub,
    "charge_current_da" / cs.Int16sb,
    "discharge_current_da" / cs.Int16sb,
    "status" / cs.Int8ub,
)
MANAGEMENT: Final = _compiled(cs.Struct("command" / cs.Int8ub, "body" / MANAGEMENT_BODY, cs.Terminated))
"""0x92 reply (§6.4)."""
SYSTEM_MANAGEMENT: Final = _compiled(cs.Struct("body" / MANAGEMENT_BODY, cs.Terminated))
"""0x63 reply: 0x92 without the command byte (§7, Battery-Emulator)."""

SERIAL: Final = _compiled(cs.Struct("command" / cs.Int8ub, "serial" / cs.Bytes(16), cs.Terminated))
"""0x93 reply (§6)."""

MANUFACTURER: Final = _compiled(
    cs.Struct(
        "device_name" / cs.Bytes(10),
        "software_version" / cs.Bytes(2),
        "manufacturer" / cs.Bytes(20),
        cs.Terminated,
    )
)
"""0x51 reply (§6)."""

SOFTWARE_VERSION: Final = _compiled(
    cs.Struct("command" / cs.Int8ub, "manufacture" / cs.Bytes(2), "mainline" / cs.Bytes(3), cs.Terminated)
)
"""0x96 reply (§6)."""

_TEMP_STAT: Final = cs.Struct(
    "avg_dk" / cs.Int16sb,
    "max_dk" / cs.Int16sb,
    "max_loc" / cs.Int16ub,
    "min_dk" / cs.Int16sb,
    "min_loc" / cs.Int16ub,
)
SYSTEM_ANALOG: Final = _compiled(
    cs.Struct(
        "voltage_mv" / cs.Int16ub,
        "current_raw" / cs.Int16sb,
        "soc_pct" / cs.Int8ub,
        "avg_cycles" / cs.Int16ub,
        "max_cycles" / cs.Int16ub,
        "avg_soh_pct" / cs.Int8ub,
        "min_soh_pct" / cs.Int8ub,
        "max_cell_mv" / cs.Int16ub,
        "max_cell_loc" / cs.Int16ub,
        "min_cell_mv" / cs.Int16ub,
        "min_cell_loc" / cs.Int16ub,
        "cell_temp" / _TEMP_STAT,
        "mos_temp" / _TEMP_STAT,
        "bms_temp" / _TEMP_STAT,
        cs.Terminated,
    )
)
"""0x61 reply (§7; layout of Battery-Emulator, fits the one real capture byte for byte)."""

SYSTEM_ALARM: Final = _compiled(
    cs.Struct(
        "alarm1" / cs.Int8ub,
        "alarm2" / cs.Int8ub,
        "protect1" / cs.Int8ub,
        "protect2" / cs.Int8ub,
        cs.Terminated,
    )
)
"""0x62 reply (§7; bit meanings unverified, kept raw plus the one emulator's names)."""

COMMAND_BYTE: Final = _compiled(cs.Struct("command" / cs.Int8ub, cs.Terminated))
"""Request INFO of 0x42/0x44/0x92/0x93/0x96 (and optionally 0x47): one byte, ADR or FF."""


# ---------------------------------------------------------------- typed records
def temp_c(raw_dk: int) -> float:
    """0.1 K → °C, one decimal."""
    return round((raw_dk - KELVIN_OFFSET_DK) / 10, 1)


@dataclass(frozen=True, slots=True)
class AnalogModule:
    """One module of a 0x42 reply."""

    cells_mv: tuple[int, ...]
    temps_c: tuple[float, ...]
    """[0] BMS board, [1] cells 1-4, [2] 5-8, [3] 9-12, [4] 13-15/16, [5+] extra (MOSFET)."""
    current_a: float
    """+ charge, − discharge."""
    voltage_mv: int
    remaining_mah: int
    total_mah: int
    cycles: int
    user_defined: int

    @property
    def soc_pct(self) -> int | None:
        """There is no SOC byte in 0x42: remaining / total (§6.1)."""
        return round(100 * self.remaining_mah / self.total_mah) if self.total_mah else None


@dataclass(frozen=True, slots=True)
class AnalogReply:
    infoflag: int
    command: int
    """The requested ADR, or the module count of an ``FF`` reply."""
    modules: tuple[AnalogModule, ...]
    all_modules: bool
    """True when the reply answers ``FF`` (one record per module of the group)."""


STATE_WORDS: Final[dict[int, str]] = {0x00: "normal", 0x01: "below lower limit", 0x02: "above upper limit"}
"""0x44 per-item states (§6.2); 0xF0 and anything else is 'other error'."""

STATUS1_BITS: Final[dict[int, str]] = {
    7: "module under-voltage",
    6: "charge over-temperature",
    5: "discharge over-temperature",
    4: "discharge over-current",
    2: "charge over-current",
    1: "cell under-voltage",
    0: "module over-voltage",
}
"""0x44 Status1 protection bits (§6.2)."""


def state_word(code: int) -> str:
    return STATE_WORDS.get(code, "other error")


@dataclass(frozen=True, slots=True)
class AlarmModule:
    """One module of a 0x44 reply; states are the raw codes (0 normal, 1 low, 2 high, 0xF0 other)."""

    cell_states: tuple[int, ...]
    temp_states: tuple[int, ...]
    charge_current_state: int
    module_voltage_state: int
    discharge_current_state: int
    status: tuple[int, int, int, int, int]

    @property
    def protections(self) -> tuple[str, ...]:
        return tuple(name for bit, name in STATUS1_BITS.items() if self.status[0] >> bit & 1)

    @property
    def cell_errors(self) -> tuple[int, ...]:
        """1-based cells flagged in Status4/Status5 (voltage error: > 4.2 V or < 1 V)."""
        bits = self.status[3] | (self.status[4] << 8)
        return tuple(i + 1 for i in range(16) if bits >> i & 1)

    @property
    def charge_mosfet_on(self) -> bool:
        return bool(self.status[1] & 0x02)

    @property
    def discharge_mosfet_on(self) -> bool:
        return bool(self.status[1] & 0x04)


@dataclass(frozen=True, slots=True)
class AlarmReply:
    dataflag: int
    command: int
    modules: tuple[AlarmModule, ...]
    all_modules: bool


@dataclass(frozen=True, slots=True)
class SystemParameters:
    """0x47: the pack's configured limits (mV, °C, A)."""

    cell_high_mv: int
    cell_low_mv: int
    cell_under_mv: int
    charge_high_temp_c: float
    charge_low_temp_c: float
    charge_current_a: float
    module_high_mv: int
    module_low_mv: int
    module_under_mv: int
    discharge_high_temp_c: float
    discharge_low_temp_c: float
    discharge_current_a: float


MANAGEMENT_BITS: Final[dict[int, str]] = {
    7: "charge enable",
    6: "discharge enable",
    5: "charge immediately 1",
    4: "charge immediately 2",
    3: "full charge request",
}
"""0x92 / 0x63 status bits (§6.4); the same bits as CAN 0x35C byte 0 (can.md §4)."""


@dataclass(frozen=True, slots=True)
class Management:
    """0x92 (per module) or 0x63 (system, ``command`` None): what the BMS asks of the charger."""

    command: int | None
    charge_voltage_mv: int
    discharge_voltage_mv: int
    charge_current_a: float
    discharge_current_a: float
    """Sign as sent (both signs are seen, §6.4); rules use the magnitude."""
    status: int

    @property
    def charge_enable(self) -> bool:
        return bool(self.status & 0x80)

    @property
    def discharge_enable(self) -> bool:
        return bool(self.status & 0x40)

    @property
    def force_charge_1(self) -> bool:
        return bool(self.status & 0x20)

    @property
    def force_charge_2(self) -> bool:
        return bool(self.status & 0x10)

    @property
    def full_charge_request(self) -> bool:
        return bool(self.status & 0x08)


@dataclass(frozen=True, slots=True)
class SerialNumber:
    command: int
    serial: str


@dataclass(frozen=True, slots=True)
class ManufacturerInfo:
    device_name: str
    software_version: tuple[int, int]
    manufacturer: str


@dataclass(frozen=True, slots=True)
class SoftwareVersion:
    command: int
    manufacture: tuple[int, ...]
    mainline: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ProtocolVersion:
    """0x4F: the version is the reply's VER field (§6)."""

    version: int

    @property
    def text(self) -> str:
        return f"{self.version >> 4}.{self.version & 0xF}"


@dataclass(frozen=True, slots=True)
class SystemAnalog:
    """0x61 (V3.5, §7). Locations are kept raw (their meaning is unverified)."""

    voltage_mv: int
    current_raw: int
    """Units unverified (Battery-Emulator: 10 mA)."""
    soc_pct: int
    avg_cycles: int
    max_cycles: int
    avg_soh_pct: int
    min_soh_pct: int
    max_cell_mv: int
    min_cell_mv: int
    temps_c: dict[str, float] = field(default_factory=dict)
    """``cell_avg``, ``cell_max``, ``cell_min``, ``mos_*``, ``bms_*`` in °C."""
    locations: dict[str, int] = field(default_factory=dict)
    """``max_cell``, ``min_cell``, ``cell_max``, ``cell_min``, ``mos_*``, ``bms_*``: raw location words."""


SYSTEM_ALARM_BITS: Final[dict[str, dict[int, str]]] = {
    "alarm1": {
        7: "pack high voltage",
        6: "pack low voltage",
        5: "cell high voltage",
        4: "cell low voltage",
        3: "cell high temperature",
        2: "cell low temperature",
        0: "cell voltage difference",
    },
    "alarm2": {
        7: "temperature sensor difference",
        6: "charge over-current",
        5: "discharge over-current",
        4: "internal comm",
    },
    "protect1": {
        7: "pack high voltage",
        6: "pack low voltage",
        5: "cell high voltage",
        4: "cell low voltage",
        3: "cell high temperature",
        2: "cell low temperature",
    },
    "protect2": {6: "charge over-current", 5: "discharge over-current", 3: "other"},
}
"""0x62 bits as one emulator guesses them (§7, UNVERIFIED): rules give them low confidence."""


@dataclass(frozen=True, slots=True)
class SystemAlarm:
    alarm1: int
    alarm2: int
    protect1: int
    protect2: int

    def names(self, which: str) -> tuple[str, ...]:
        value = getattr(self, which)
        return tuple(n for b, n in SYSTEM_ALARM_BITS[which].items() if value >> b & 1)


@dataclass(frozen=True, slots=True)
class Request:
    """A request as the host sent it; ``target`` is the INFO byte (ADR or 0xFF), None when empty."""

    command: int
    target: int | None
    extra: bytes = b""


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """A reply whose RTN is not 0 (§4)."""

    rtn: int
    text: str


Payload = (
    AnalogReply
    | AlarmReply
    | SystemParameters
    | Management
    | SerialNumber
    | ManufacturerInfo
    | SoftwareVersion
    | ProtocolVersion
    | SystemAnalog
    | SystemAlarm
)


class PayloadError(ValueError):
    """The INFO bytes do not fit the command's layout."""


# ---------------------------------------------------------------- decoding
def _ascii(raw: bytes, pad: bytes = b"\x00 ") -> str:
    return raw.decode("ascii", "replace").rstrip(pad.decode("ascii")).replace("\ufffd", "?")


def _records(struct: cs.Construct, info: bytes, start: int) -> tuple[list[Any], int]:
    """Module records back to back from ``start``; stops at the first that does not fit."""
    out: list[Any] = []
    pos = start
    while pos < len(info):
        try:
            rec = struct.parse(info[pos:])
        except PARSE_ERRORS:
            break
        out.append(rec)
        pos += rec.end
    return out, pos


def _analog(info: bytes) -> AnalogReply:
    if len(info) < 2:
        raise PayloadError("0x42 reply shorter than INFOFLAG + command")
    recs, end = _records(ANALOG_MODULE, info, 2)
    if not recs or end != len(info):
        raise PayloadError(f"0x42 reply: {len(info) - end} byte(s) after {len(recs)} module record(s)")
    mods = tuple(
        AnalogModule(
            cells_mv=tuple(r.cells_mv),
            temps_c=tuple(temp_c(t) for t in r.temps_dk),
            current_a=r.current_da / 10,
            voltage_mv=r.voltage_mv,
            remaining_mah=r.remaining2_mah if r.user_defined > 2 else r.remaining1_mah,
            total_mah=r.total2_mah if r.user_defined > 2 else r.total1_mah,
            cycles=r.cycles,
            user_defined=r.user_defined,
        )
        for r in recs
    )
    return AnalogReply(info[0], info[1], mods, all_modules=len(mods) == info[1] and len(mods) > 1)


ALARM_TRAILING_TOLERATED: Final = 1
"""Bytes: a US2000C single-pack 0x44 reply carries one byte more than V3.3 says (§6.2 quirk)."""


def _alarm(info: bytes) -> AlarmReply:
    if len(info) < 2:
        raise PayloadError("0x44 reply shorter than DATAFLAG + command")
    recs, end = _records(ALARM_MODULE, info, 2)
    if not recs or len(info) - end > ALARM_TRAILING_TOLERATED:
        raise PayloadError(f"0x44 reply: {len(info) - end} byte(s) after {len(recs)} module record(s)")
    mods = tuple(
        AlarmModule(
            cell_states=tuple(r.cell_states),
            temp_states=tuple(r.temp_states),
            charge_current_state=r.charge_current_state,
            module_voltage_state=r.module_voltage_state,
            discharge_current_state=r.discharge_current_state,
            status=(r.status1, r.status2, r.status3, r.status4, r.status5),
        )
        for r in recs
    )
    return AlarmReply(info[0], info[1], mods, all_modules=len(mods) == info[1] and len(mods) > 1)


def _params(info: bytes) -> SystemParameters:
    p = SYSTEM_PARAMS.parse(info)
    return SystemParameters(
        cell_high_mv=p.cell_high_mv,
        cell_low_mv=p.cell_low_mv,
        cell_under_mv=p.cell_under_mv,
        charge_high_temp_c=temp_c(p.charge_high_temp_dk),
        charge_low_temp_c=temp_c(p.charge_low_temp_dk),
        charge_current_a=p.charge_current_da / 10,
        module_high_mv=p.module_high_mv,
        module_low_mv=p.module_low_mv,
        module_under_mv=p.module_under_mv,
        discharge_high_temp_c=temp_c(p.discharge_high_temp_dk),
        discharge_low_temp_c=temp_c(p.discharge_low_temp_dk),
        discharge_current_a=p.discharge_current_da / 10,
    )


def _management(body: Any, command: int | None) -> Management:
    return Management(
        command=command,
        charge_voltage_mv=body.charge_voltage_mv,
        discharge_voltage_mv=body.discharge_voltage_mv,
        charge_current_a=body.charge_current_da / 10,
        discharge_current_a=body.discharge_current_da / 10,
        status=body.status,
    )


_TEMP_GROUPS: Final = ("cell", "mos", "bms")


def _system_analog(info: bytes) -> SystemAnalog:
    p = SYSTEM_ANALOG.parse(info)
    temps: dict[str, float] = {}
    locs: dict[str, int] = {"max_cell": p.max_cell_loc, "min_cell": p.min_cell_loc}
    for g in _TEMP_GROUPS:
        t = p[f"{g}_temp"]
        temps |= {f"{g}_avg": temp_c(t.avg_dk), f"{g}_max": temp_c(t.max_dk), f"{g}_min": temp_c(t.min_dk)}
        locs |= {f"{g}_max": t.max_loc, f"{g}_min": t.min_loc}
    return SystemAnalog(
        voltage_mv=p.voltage_mv,
        current_raw=p.current_raw,
        soc_pct=p.soc_pct,
        avg_cycles=p.avg_cycles,
        max_cycles=p.max_cycles,
        avg_soh_pct=p.avg_soh_pct,
        min_soh_pct=p.min_soh_pct,
        max_cell_mv=p.max_cell_mv,
        min_cell_mv=p.min_cell_mv,
        temps_c=temps,
        locations=locs,
    )


def encode_system_analog(a: SystemAnalog) -> bytes:
    def dk(c: float) -> int:
        return round(c * 10) + KELVIN_OFFSET_DK

    groups = {
        f"{g}_temp": {
            "avg_dk": dk(a.temps_c.get(f"{g}_avg", 0.0)),
            "max_dk": dk(a.temps_c.get(f"{g}_max", 0.0)),
            "max_loc": a.locations.get(f"{g}_max", 0),
            "min_dk": dk(a.temps_c.get(f"{g}_min", 0.0)),
            "min_loc": a.locations.get(f"{g}_min", 0),
        }
        for g in _TEMP_GROUPS
    }
    return _build(
        SYSTEM_ANALOG,
        {
            "voltage_mv": a.voltage_mv,
            "current_raw": a.current_raw,
            "soc_pct": a.soc_pct,
            "avg_cycles": a.avg_cycles,
            "max_cycles": a.max_cycles,
            "avg_soh_pct": a.avg_soh_pct,
            "min_soh_pct": a.min_soh_pct,
            "max_cell_mv": a.max_cell_mv,
            "max_cell_loc": a.locations.get("max_cell", 0),
            "min_cell_mv": a.min_cell_mv,
            "min_cell_loc": a.locations.get("min_cell", 0),
            **groups,
        },
    )


def decode_payload(command: int, info: bytes, ver: int = 0x20) -> Payload:
    """The reply INFO of ``command``; :class:`PayloadError` when it does not fit."""
    try:
        return _decode(command, info, ver)
    except PARSE_ERRORS as exc:
        if isinstance(exc, PayloadError):
            raise
        raise PayloadError(f"0x{command:02X} reply of {len(info)} bytes does not fit its layout") from None


def _decode(command: int, info: bytes, ver: int) -> Payload:
    if command == 0x42:
        return _analog(info)
    if command == 0x44:
        return _alarm(info)
    if command == 0x47:
        return _params(info)
    if command == 0x92:
        m = MANAGEMENT.parse(info)
        return _management(m.body, m.command)
    if command == 0x63:
        return _management(SYSTEM_MANAGEMENT.parse(info).body, None)
    if command == 0x93:
        s = SERIAL.parse(info)
        return SerialNumber(s.command, _ascii(s.serial))
    if command == 0x51:
        m = MANUFACTURER.parse(info)
        return ManufacturerInfo(
            _ascii(m.device_name),
            (m.software_version[0], m.software_version[1]),
            _ascii(m.manufacturer, b"\x00 -"),
        )
    if command == 0x96:
        v = SOFTWARE_VERSION.parse(info)
        return SoftwareVersion(v.command, tuple(v.manufacture), tuple(v.mainline))
    if command == 0x4F:
        if info:
            raise PayloadError("0x4F reply carries no INFO")
        return ProtocolVersion(ver)
    if command == 0x61:
        return _system_analog(info)
    if command == 0x62:
        a = SYSTEM_ALARM.parse(info)
        return SystemAlarm(a.alarm1, a.alarm2, a.protect1, a.protect2)
    raise PayloadError(f"no known reply layout for command 0x{command:02X}")


def _printable(raw: bytes) -> bool:
    return all(32 <= b < 127 or b == 0 for b in raw) and any(b > 32 for b in raw)


_BY_LENGTH: Final[dict[int, int]] = {25: 0x47, 10: 0x92, 9: 0x63, 4: 0x62, 49: 0x61, 6: 0x96}


def infer_command(info: bytes) -> int | None:
    """The command a reply answers, recognised by its INFO shape when no request is at hand.

    Exact layouts first (0x51 32 B with ASCII name, 0x93 17 B ASCII serial), then a 0x42 or 0x44 that
    parses to the last byte, then the fixed lengths of the other replies. None when nothing fits.
    """
    n = len(info)
    if n == 0:
        return 0x4F
    if n == 32 and _printable(info[:10]) and _printable(info[12:]):
        return 0x51
    if n == 17 and _printable(info[1:]):
        return 0x93
    for cmd in (0x42, 0x44):
        try:
            _decode(cmd, info, 0x20)
        except PARSE_ERRORS:
            continue
        return cmd
    return _BY_LENGTH.get(n)


# ---------------------------------------------------------------- encoding (simulator, tests)
def _build(struct: cs.Construct, obj: Any) -> bytes:
    return bytes(struct.build(obj))


def encode_analog(reply: AnalogReply) -> bytes:
    out = bytes([reply.infoflag, reply.command])
    for m in reply.modules:
        big = m.user_defined > 2
        out += _build(
            ANALOG_MODULE,
            {
                "cell_count": len(m.cells_mv),
                "cells_mv": list(m.cells_mv),
                "temp_count": len(m.temps_c),
                "temps_dk": [round(t * 10) + KELVIN_OFFSET_DK for t in m.temps_c],
                "current_da": round(m.current_a * 10),
                "voltage_mv": m.voltage_mv,
                "remaining1_mah": 0xFFFF if big else m.remaining_mah,
                "user_defined": m.user_defined,
                "total1_mah": 0xFFFF if big else m.total_mah,
                "cycles": m.cycles,
                "remaining2_mah": m.remaining_mah if big else None,
                "total2_mah": m.total_mah if big else None,
            },
        )
    return out


def encode_alarm(reply: AlarmReply) -> bytes:
    out = bytes([reply.dataflag, reply.command])
    for m in reply.modules:
        out += _build(
            ALARM_MODULE,
            {
                "cell_count": len(m.cell_states),
                "cell_states": list(m.cell_states),
                "temp_count": len(m.temp_states),
                "temp_states": list(m.temp_states),
                "charge_current_state": m.charge_current_state,
                "module_voltage_state": m.module_voltage_state,
                "discharge_current_state": m.discharge_current_state,
                "status1": m.status[0],
                "status2": m.status[1],
                "status3": m.status[2],
                "status4": m.status[3],
                "status5": m.status[4],
            },
        )
    return out


def encode_params(p: SystemParameters, infoflag: int = 0x11) -> bytes:
    def dk(c: float) -> int:
        return round(c * 10) + KELVIN_OFFSET_DK

    return _build(
        SYSTEM_PARAMS,
        {
            "infoflag": infoflag,
            "cell_high_mv": p.cell_high_mv,
            "cell_low_mv": p.cell_low_mv,
            "cell_under_mv": p.cell_under_mv,
            "charge_high_temp_dk": dk(p.charge_high_temp_c),
            "charge_low_temp_dk": dk(p.charge_low_temp_c),
            "charge_current_da": round(p.charge_current_a * 10),
            "module_high_mv": p.module_high_mv,
            "module_low_mv": p.module_low_mv,
            "module_under_mv": p.module_under_mv,
            "discharge_high_temp_dk": dk(p.discharge_high_temp_c),
            "discharge_low_temp_dk": dk(p.discharge_low_temp_c),
            "discharge_current_da": round(p.discharge_current_a * 10),
        },
    )


def encode_management(m: Management) -> bytes:
    body = {
        "charge_voltage_mv": m.charge_voltage_mv,
        "discharge_voltage_mv": m.discharge_voltage_mv,
        "charge_current_da": round(m.charge_current_a * 10),
        "discharge_current_da": round(m.discharge_current_a * 10),
        "status": m.status,
    }
    if m.command is None:
        return _build(SYSTEM_MANAGEMENT, {"body": body})
    return _build(MANAGEMENT, {"command": m.command, "body": body})


def encode_serial(s: SerialNumber) -> bytes:
    return _build(SERIAL, {"command": s.command, "serial": s.serial.encode("ascii")[:16].ljust(16, b"\x00")})


def encode_manufacturer(m: ManufacturerInfo) -> bytes:
    return _build(
        MANUFACTURER,
        {
            "device_name": m.device_name.encode("ascii")[:10].ljust(10, b"\x00"),
            "software_version": bytes(m.software_version),
            "manufacturer": m.manufacturer.encode("ascii")[:20].ljust(20, b"-"),
        },
    )


def encode_system_alarm(a: SystemAlarm) -> bytes:
    return _build(
        SYSTEM_ALARM, {"alarm1": a.alarm1, "alarm2": a.alarm2, "protect1": a.protect1, "protect2": a.protect2}
    )


def encode_payload(p: Payload) -> bytes:
    """INFO bytes of a reply record (0x4F carries none)."""
    if isinstance(p, AnalogReply):
        return encode_analog(p)
    if isinstance(p, AlarmReply):
        return encode_alarm(p)
    if isinstance(p, SystemParameters):
        return encode_params(p)
    if isinstance(p, Management):
        return encode_management(p)
    if isinstance(p, SerialNumber):
        return encode_serial(p)
    if isinstance(p, ManufacturerInfo):
        return encode_manufacturer(p)
    if isinstance(p, SystemAlarm):
        return encode_system_alarm(p)
    if isinstance(p, SystemAnalog):
        return encode_system_analog(p)
    if isinstance(p, ProtocolVersion):
        return b""
    if isinstance(p, SoftwareVersion):
        return _build(
            SOFTWARE_VERSION,
            {"command": p.command, "manufacture": bytes(p.manufacture), "mainline": bytes(p.mainline)},
        )
    raise TypeError(f"cannot encode {type(p).__name__}")
