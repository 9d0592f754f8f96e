"""The generic event CSV (``shared/spec/case-format.md``): what a person copies from an app's event screen.

::

    time,code,message,severity
    2026-11-18 07:12:40,F58,BMS_Comm_Fail,fault
    2026-11-18 07:31:02,F58,BMS_Comm_Fail cleared,info

Columns are found by header name (any order, any case, ``,`` ``;`` TAB or ``|`` delimited); a few
common synonyms are accepted (``timestamp``, ``date`` + ``time``, ``description``, ``level``...).
Required: a time column and a code or message column — or, for a temperature history
(``temperature_csv``), a time and a temperature column. Optional: ``severity``, ``temperature`` /
``battery_temp_c`` (battery or ambient °C at that time), ``module`` (BMS address). A row with a
temperature but neither code nor message is a reading between events (``InverterLog.temperatures``);
an event's own temperature is ``BatteryEvent.temperature_c``.
Title lines before the header (some app exports have them) are skipped.
"""

from __future__ import annotations

import csv
import re
from typing import Final

from pylondiag.evidence.inverter_log._classify import classify, severity_word
from pylondiag.evidence.inverter_log._context import Context, parse_float
from pylondiag.evidence.inverter_log._text import sniff_delimiter
from pylondiag.evidence.inverter_log._times import parse_times
from pylondiag.evidence.inverter_log.log import InverterLog
from pylondiag.model.console import ParseWarning, Provenance
from pylondiag.model.event import BatteryEvent, TemperatureSample

SHAPE: Final = "generic_csv"
TEMPERATURE_SHAPE: Final = "temperature_csv"
"""The same CSV with a time and a temperature column but no code/message: temperature readings only
(a logger's or monitoring portal's temperature history, for the thermal correlation)."""
HEADER_SEARCH_LINES: Final = 30
"""How many lines from the top a header row may be preceded by (titles, export notes)."""

_SYNONYMS: Final[dict[str, tuple[str, ...]]] = {
    "time": (
        "time",
        "timestamp",
        "datetime",
        "date time",
        "date/time",
        "date & time",
        "occurred",
        "occurrence time",
        "time stamp",
        "event time",
        "alarm time",
        "fault time",
        "start time",
        "happen time",
        "local time",
        "time (local)",
        "time (utc)",
        "date",
    ),
    "clock": ("time", "clock"),
    "code": (
        "code",
        "fault code",
        "error code",
        "event code",
        "alarm code",
        "warning code",
        "id",
        "event id",
        "fault id",
        "alarm id",
        "number",
        "no.",
        "err code",
    ),
    "message": (
        "message",
        "text",
        "description",
        "event",
        "name",
        "alarm",
        "fault",
        "error",
        "info",
        "details",
        "fault name",
        "event name",
        "alarm name",
        "content",
        "msg",
        "fault description",
        "event description",
        "alarm description",
        "fault information",
    ),
    "severity": ("severity", "level", "type", "grade", "category", "alarm level", "event type"),
    "temperature": (
        "temperature",
        "battery_temp_c",
        "temp",
        "battery temperature",
        "battery temp",
        "temp_c",
        "ambient",
        "ambient_temp_c",
        "ambient temperature",
        "battery_temperature",
        "bat temp",
        "temperature (c)",
        "temperature (°c)",
        "battery temperature (°c)",
    ),
    "module": ("module", "module_address", "address", "battery module", "bms address"),
}
MAX_HEADER_CHARS: Final = 4096
"""A header row longer than this (characters) is not a header: not split into fields while searching."""
_NORM: Final = re.compile(r"[\s_]+")


def _norm(name: str) -> str:
    return _NORM.sub(" ", name.strip().strip('"').strip().lower().lstrip("\ufeff"))


def map_header(fields: list[str]) -> dict[str, int] | None:
    """Column index per role for a header row, or None when it is not a generic event header."""
    names = [_norm(f) for f in fields]
    roles: dict[str, int] = {}
    for role, synonyms in _SYNONYMS.items():
        if role == "clock":
            continue
        for syn in map(_norm, synonyms):
            if syn in names and names.index(syn) not in roles.values():
                roles[role] = names.index(syn)
                break
    if "date" in names and "time" in names:  # separate date and time columns
        roles["time"], roles["clock"] = names.index("date"), names.index("time")
    if "time" not in roles or not ({"code", "message", "temperature"} & roles.keys()):
        return None
    return roles


def find_header(lines: list[str]) -> tuple[int, str, dict[str, int]] | None:
    """(index of the header line, delimiter, roles) when the file is a generic event CSV."""
    for i, line in enumerate(lines[:HEADER_SEARCH_LINES]):
        if not line.strip() or len(line) > MAX_HEADER_CHARS:
            continue
        delimiter = sniff_delimiter(line)
        fields = next(csv.reader([line], delimiter=delimiter))
        roles = map_header(fields)
        if roles is not None:
            return i, delimiter, roles
    return None


def read(ctx: Context) -> InverterLog:
    """Read a generic event CSV; raises nothing (callers check :func:`find_header` first)."""
    found = find_header(ctx.lines)
    assert found is not None, "read() called on a file without a generic header"
    header_index, delimiter, roles = found
    shape = SHAPE if {"code", "message"} & roles.keys() else TEMPERATURE_SHAPE
    return read_rows(ctx, header_index, delimiter, roles, shape)


def read_rows(
    ctx: Context, header_index: int, delimiter: str, roles: dict[str, int], shape: str
) -> InverterLog:
    """Rows after ``header_index`` with the given column roles (shared by shapes that are CSV variants)."""
    warnings: list[ParseWarning] = []
    i_time = roles["time"]
    i_clock = roles.get("clock")
    i_code = roles.get("code")
    i_msg = roles.get("message")
    i_sev = roles.get("severity")
    i_temp = roles.get("temperature")
    i_mod = roles.get("module")
    required = (
        ("time", "clock", "code", "message")
        if {"code", "message"} & roles.keys()
        else ("time", "temperature")
    )
    needed = max(i for r, i in roles.items() if r in required) + 1
    width = max(roles.values()) + 1

    body = ctx.lines[header_index + 1 :]
    reader = csv.reader(body, delimiter=delimiter)
    first_line = header_index + 2  # 1-based line of body[0]
    rows: list[list[str]] = []
    row_lines: list[int] = []
    stamps: list[str] = []
    consumed = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line = first_line + consumed
            warnings.append(
                ParseWarning(
                    source=ctx.source,
                    line=line,
                    message=f"unreadable CSV row: {exc}",
                    raw=ctx.lines[line - 1][:200],
                )
            )
            consumed = reader.line_num
            continue
        line = first_line + consumed
        consumed = reader.line_num
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if len(fields) < needed:
            warnings.append(
                ParseWarning(
                    source=ctx.source,
                    line=line,
                    message=f"{len(fields)} field(s), need {needed} (time, code/message); skipped",
                    raw=ctx.lines[line - 1][:200],
                )
            )
            continue
        if len(fields) < width:
            fields += [""] * (width - len(fields))  # optional trailing columns left out
        stamp = fields[i_time].strip()
        if i_clock is not None:
            stamp = f"{stamp} {fields[i_clock].strip()}"
        rows.append(fields)
        row_lines.append(line)
        stamps.append(stamp)

    column = parse_times(stamps, row_lines, ctx.zone, ctx.source)
    warnings.extend(column.warnings)
    notes = [f"generic event CSV, delimiter {delimiter!r}, header on line {header_index + 1}", *column.notes]

    events: list[BatteryEvent] = []
    temperatures: list[TemperatureSample] = []
    brand = ctx.brand
    lines = ctx.cite_lines if ctx.cite_lines is not None else ctx.lines  # what citations quote
    source = ctx.source
    temp_name = "temperature"
    for fields, line, when in zip(rows, row_lines, column.times, strict=True):
        if when is None:
            continue  # warned by parse_times
        code = fields[i_code].strip() if i_code is not None else ""
        text = fields[i_msg].strip() if i_msg is not None else ""
        temperature = parse_float(fields[i_temp]) if i_temp is not None else None
        if not code and not text:
            if temperature is not None:  # a reading between events: background for thermal correlation
                prov = Provenance(source=source, line=line, raw=lines[line - 1])
                temperatures.append(
                    TemperatureSample(time=when, celsius=temperature, sensor=temp_name, provenance=prov)
                )
            else:
                warnings.append(
                    ParseWarning(
                        source=source,
                        line=line,
                        message="row has neither code nor message",
                        raw=lines[line - 1][:200],
                    )
                )
            continue
        prov = Provenance(source=source, line=line, raw=lines[line - 1])
        c = classify(brand, code, text)
        severity = c.severity
        if i_sev is not None:
            severity = severity_word(fields[i_sev]) or severity
        module = None
        if i_mod is not None and (number := fields[i_mod].strip()).isascii() and number.isdigit():
            module = int(number[:3])
        events.append(
            BatteryEvent(
                time=when,
                origin="inverter",
                brand=brand,
                code=code or None,
                text=text,
                kind=c.kind,
                severity=severity,
                module_address=module,
                code_verified=c.verified,
                temperature_c=temperature,
                classified_by=c.classified_by,
                clears=c.clears,
                provenance=prov,
            )
        )
    warnings.sort(key=lambda w: w.line)
    return InverterLog(
        source=source,
        shape=shape,
        brand=brand,
        encoding=ctx.encoding,
        events=events,
        temperatures=temperatures,
        warnings=warnings,
        notes=notes,
    )
