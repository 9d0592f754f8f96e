"""Victron Venus OS: the dbus-serialbattery driver's log (``/data/log/dbus-serialbattery.*/current``).

Shape, from public issue threads that quote it (mr-manuel/venus-os_dbus-serialbattery#71, #264, #267;
Louisvdw/dbus-serialbattery#877): one multilog line per message, either as written (TAI64N label) or
after ``tai64nlocal`` (local time with nanoseconds)::

    @4000000064c530260678d27c INFO:SerialBattery:Starting dbus-serialbattery
    2025-06-02 03:25:23.126892500 ERROR:SerialBattery:>>> Battery did not recover in 1200 s. Restarting...

``ERROR`` / ``WARNING`` / ``CRITICAL`` lines of the driver are events, classified by their text
(no code numbers in this log); ``INFO`` lines are kept only when they say the connection came back
(``Connection established``), as the end of a BMS-comms loss. Lines of other programs in the same
log are skipped. A TAI64N label is converted to UTC (label - 2^62 - 10 s, the daemontools rule).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final

from pylondiag.evidence.inverter_log import _build
from pylondiag.evidence.inverter_log._context import Context
from pylondiag.evidence.inverter_log._times import parse_times
from pylondiag.evidence.inverter_log.log import InverterLog
from pylondiag.model.event import BatteryEvent, EventKind, Severity

SHAPE: Final = "victron_serialbattery_log"
_LINE: Final = re.compile(
    r"^(?:@(?P<tai>[0-9a-f]{24})|(?P<local>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.\d+)?)\s+"
    r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL):(?P<logger>[\w.]+):(?P<msg>.*)$"
)
_LEVELS: Final = {"WARNING": Severity.WARNING, "ERROR": Severity.FAULT, "CRITICAL": Severity.FAULT}
_RECOVERED: Final = re.compile(r"connection established|connected to dbus", re.I)
_MIN_MATCHING: Final = 2
_TAI_BASE: Final = 2**62 + 10


def detect(lines: list[str]) -> bool:
    hits = sum(1 for ln in lines[:200] if (m := _LINE.match(ln)) and m["logger"] == "SerialBattery")
    return hits >= _MIN_MATCHING or (hits >= 1 and len([ln for ln in lines[:200] if ln.strip()]) == hits)


def _tai64n(label: str) -> datetime:
    return datetime.fromtimestamp(int(label[:16], 16) - _TAI_BASE, UTC)


def read(ctx: Context) -> InverterLog:
    if ctx.brand is None:  # a Venus OS log: Victron's table applies
        ctx = replace(ctx, brand="victron")
    picked: list[tuple[re.Match[str], int]] = []
    for i, ln in enumerate(ctx.lines):
        m = _LINE.match(ln)
        if m is None or m["logger"] != "SerialBattery":
            continue
        level, msg = m["level"], m["msg"].strip()
        if level in _LEVELS or (level == "INFO" and _RECOVERED.search(msg)):
            picked.append((m, i + 1))
    local = [(m["local"], line) for m, line in picked if m["local"]]
    column = parse_times([s for s, _ in local], [ln for _, ln in local], ctx.zone, ctx.source)
    local_time = dict(zip((ln for _, ln in local), column.times, strict=True))
    events: list[BatteryEvent] = []
    for m, line in picked:
        when = _tai64n(m["tai"]) if m["tai"] else local_time.get(line)
        if when is None:
            continue
        msg = m["msg"].strip().lstrip(">|- ").strip()
        if m["level"] == "INFO":
            ev = _build.event(ctx, when, line, "", "BMS communication lost", cleared=True)
        else:
            ev = _build.event(ctx, when, line, "", msg, severity=_LEVELS[m["level"]])
            if ev.kind is EventKind.OTHER and re.search(
                r"no reply|not recover|timeout|did not respond", msg, re.I
            ):
                ev = ev.model_copy(update={"kind": EventKind.BMS_COMMS_LOST})
        events.append(ev)
    return InverterLog(
        source=ctx.source,
        shape=SHAPE,
        brand=ctx.brand,
        encoding=ctx.encoding,
        events=events,
        warnings=column.warnings,
        notes=["Victron dbus-serialbattery driver log", *column.notes],
    )
