"""A year of inverter log at one row a minute in each accepted shape, for ``bench/year_case.py --shape``.

Every shape carries the same year (:func:`bench.inverter_log.build`'s rows: a battery temperature each
minute, about 1 % BMS-comms trips, most on cold mornings), written as that shape writes it:

* ``generic`` — the generic event CSV, ISO local times (``2026-01-01 00:00:00``);
* ``dayfirst`` — the same CSV dated day first (``01/01/2026 00:00:00``, a UK app's export);
* ``offset`` — the same CSV with each time's UTC offset (``2026-01-01T00:00:00+00:00``);
* ``home_assistant`` — Home Assistant's History download: a battery-temperature row each minute, the
  fault sensor's state (``F58``) at a trip and its clearing (empty state) the minute after (UTC ``Z`` times);
* ``victron`` — the dbus-serialbattery driver log (``tai64nlocal`` times): a poll line each minute, an
  ``ERROR`` at a trip and ``Connection established`` the minute after;
* ``lux`` — the Lux Power portal's event list (JSON), one row per trip with its end; a year of portal
  pages concatenated (at one row a minute a year is 525,600 rows).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from inverter_log import build

ZONE = ZoneInfo("Europe/London")
INDENT: int | None = 1
"""The Lux list's JSON indent (the portal sends it compact: None)."""


def _rows(rows: int) -> Iterator[tuple[datetime, str, str, str, str]]:
    """(local time, code, message, severity, °C) of each row of the year (:func:`build`'s rows)."""
    data, _ = build(rows)
    for line in data.decode().splitlines()[1:]:
        stamp, code, message, severity, temp = line.split(",")
        yield datetime.fromisoformat(stamp), code, message, severity, temp


def _csv(rows: int, stamp: Callable[[datetime], str]) -> bytes:
    out = ["time,code,message,severity,temperature"]
    out += [f"{stamp(t)},{c},{m},{s},{temp}" for t, c, m, s, temp in _rows(rows)]
    return ("\n".join(out) + "\n").encode()


def _trip(code: str) -> bool:
    return code in ("W31", "F58")


def _home_assistant(rows: int) -> bytes:
    out = ["entity_id,state,last_changed"]
    tripped = False
    for t, code, _, _, temp in _rows(rows):
        utc = f"{t.replace(tzinfo=ZONE).astimezone(UTC):%Y-%m-%dT%H:%M:%S}.000Z"
        if _trip(code):
            out.append(f"sensor.ss_fault,{code},{utc}")
            tripped = True
        elif tripped:
            out.append(f"sensor.ss_fault,,{utc}")
            tripped = False
        else:
            out.append(f"sensor.battery_temperature,{temp},{utc}")
    return ("\n".join(out) + "\n").encode()


def _victron(rows: int) -> bytes:
    out = []
    tripped = False
    for t, code, _, _, temp in _rows(rows):
        stamp = f"{t:%Y-%m-%d %H:%M:%S}.126892500"
        if _trip(code):
            out.append(f"{stamp} ERROR:SerialBattery:>>> No reply from BMS, restarting")
            tripped = True
        elif tripped:
            out.append(f"{stamp} INFO:SerialBattery:Connection established to Daly")
            tripped = False
        else:
            out.append(f"{stamp} INFO:SerialBattery:Battery temperature {temp} C")
    return ("\n".join(out) + "\n").encode()


def _lux(rows: int) -> bytes:
    events = []
    for t, code, message, _, _ in _rows(rows):
        end = t + timedelta(minutes=1)
        kind = ("W000", "WARNING") if code == "W31" else ("E000", "FAULT")
        if not _trip(code):
            kind, message = ("W001", "WARNING"), "Grid connected"
        events.append(
            {
                "serialNum": "1234567890",
                "event": kind[0],
                "eventType": kind[1],
                "eventText": message,
                "startTime": f"{t:%Y-%m-%d %H:%M:%S}",
                "renormalTime": f"{end:%Y-%m-%d %H:%M:%S}",
                "status": "CLOSE",
            }
        )
    doc = {"success": True, "total": len(events), "rows": events}
    return json.dumps(doc, indent=INDENT).encode()


SHAPES: dict[str, tuple[str, Callable[[int], bytes]]] = {
    "generic": ("events.csv", lambda n: build(n)[0]),
    "dayfirst": ("events.csv", lambda n: _csv(n, lambda t: f"{t:%d/%m/%Y %H:%M:%S}")),
    "offset": ("events.csv", lambda n: _csv(n, lambda t: t.replace(tzinfo=ZONE).isoformat())),
    "home_assistant": ("history.csv", _home_assistant),
    "victron": ("dbus-serialbattery.log", _victron),
    "lux": ("lux-events.json", _lux),
}
"""Shape → (file name in the case's ``inverter/`` folder, builder of its bytes for ``rows`` minutes)."""
