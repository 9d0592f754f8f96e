"""Inverter event logs, sans-IO: bytes in, :class:`InverterLog` (``BatteryEvent`` list) out.

The shape of a file is recognised by its content (header row or line pattern), never by its name.
Supported shapes, each documented with its public source in ``docs/inverter-logs.md``:

* ``home_assistant_history`` — Home Assistant's History "Download data" CSV (entity_id,state,last_changed);
* ``luxpower_event_list`` — the Lux Power / EG4 portal's event list (JSON);
* ``victron_serialbattery_log`` — the Victron Venus OS dbus-serialbattery driver log;
* ``generic_csv`` — the generic event CSV of the case format (always accepted).

Codes are read with the brand's table (:mod:`pylondiag.domain.inverter_codes`).
"""

from __future__ import annotations

from collections.abc import Callable

from pylondiag.domain.inverter_codes import CodeEntry, canonical_brand, lookup
from pylondiag.errors import NotAnInverterLog
from pylondiag.evidence.inverter_log import (
    generic_csv,
    home_assistant,
    luxpower_events,
    victron_serialbattery,
)
from pylondiag.evidence.inverter_log._context import Context, site_zone
from pylondiag.evidence.inverter_log._text import cite_lines, decode, split_lines
from pylondiag.evidence.inverter_log.log import InverterLog

__all__ = [
    "CodeEntry",
    "InverterLog",
    "looks_like_inverter_log",
    "lookup",
    "read_inverter_log",
]

_SNIFF_BYTES = 64 * 1024

_Detector = Callable[[list[str]], bool]
_Reader = Callable[[Context], InverterLog]

_SHAPES: list[tuple[str, _Detector, _Reader]] = [
    (home_assistant.SHAPE, lambda lines: home_assistant.find_header(lines) is not None, home_assistant.read),
    (luxpower_events.SHAPE, luxpower_events.detect, luxpower_events.read),
    (victron_serialbattery.SHAPE, victron_serialbattery.detect, victron_serialbattery.read),
    (generic_csv.SHAPE, lambda lines: generic_csv.find_header(lines) is not None, generic_csv.read),
]
"""Most specific first: the generic CSV accepts the widest range of headers, so it is tried last."""


def _shape_of(lines: list[str]) -> tuple[str, _Reader] | None:
    for name, detect, reader in _SHAPES:
        if detect(lines):
            return name, reader
    return None


def looks_like_inverter_log(data: bytes) -> bool:
    """True when the start of ``data`` is in one of the supported event-log shapes."""
    text, _ = decode(data[:_SNIFF_BYTES])
    lines = split_lines(text)
    if len(data) > _SNIFF_BYTES and lines:
        lines.pop()  # possibly cut mid-line
    return _shape_of(lines) is not None


def read_inverter_log(
    data: bytes, source: str, *, brand: str | None = None, timezone: str = "Europe/London"
) -> InverterLog:
    """Read an inverter event log.

    ``brand`` (as in ``case.yaml``: ``sunsynk``, ``deye``, ``victron``...) selects the code table; unknown
    or missing, events are classified by their message text. ``timezone`` is the site's IANA zone:
    times without an offset are local to it. Unreadable rows become ``warnings`` (with their line) and
    are skipped; a file in no known shape raises :class:`~pylondiag.errors.NotAnInverterLog`.
    """
    zone = site_zone(timezone, source)
    text, encoding = decode(data)
    lines = split_lines(text)
    found = _shape_of(lines)
    if found is None:
        first = next((ln.strip() for ln in lines if ln.strip()), "")
        raise NotAnInverterLog(
            "not an inverter event log in any supported shape: expected a header row such as "
            "'time,code,message,severity' (generic event CSV) or 'entity_id,state,last_changed' (Home "
            f"Assistant history), see docs/inverter-logs.md (first line: {first[:80]!r})",
            source=source,
            line=1,
        )
    _, reader = found
    cite = cite_lines(data, encoding, lines)
    ctx = Context(
        source=source,
        lines=lines,
        zone=zone,
        brand=canonical_brand(brand),
        encoding=encoding,
        cite_lines=cite,
    )
    return reader(ctx)
