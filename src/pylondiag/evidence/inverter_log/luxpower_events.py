"""Lux Power / EG4 web portal event list (JSON): what ``/WManage/api/analyze/event/list`` returns.

Shape, from joyfulhouse/pylxpweb @ 10c2beaaea51cc43791d71ef806157ae5779ddf5,
``src/pylxpweb/endpoints/analytics.py`` (``get_event_list``, response shape validated live by its authors)::

    {"success": true, "total": 2, "rows": [
      {"serialNum": "...", "event": "W000", "eventType": "WARNING",
       "eventText": "Battery communication failure", "startTime": "2026-11-18 07:12:40",
       "renormalTime": "2026-11-18 07:31:02", "status": "CLOSE", ...}]}

``event`` is the code (``E###`` fault, ``W###`` warning); ``startTime`` / ``renormalTime`` are portal-local
naive times (``YYYY-MM-DD HH:MM:SS``; ``renormalTime`` null while the event is open). A bare list of rows
is accepted too. Each row gives its event and, when it has ended, a ``cleared`` event; the line cited is
the row's ``startTime`` / ``renormalTime`` line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Final

from pylondiag.evidence.inverter_log import _build
from pylondiag.evidence.inverter_log._context import Context
from pylondiag.evidence.inverter_log._times import parse_times
from pylondiag.evidence.inverter_log.log import InverterLog
from pylondiag.model.console import ParseWarning
from pylondiag.model.event import BatteryEvent, Severity

SHAPE: Final = "luxpower_event_list"
_KEY: Final = re.compile(r'"(startTime|renormalTime)"\s*:')
_TYPES: Final = {"FAULT": Severity.FAULT, "WARNING": Severity.WARNING, "INFO": Severity.INFO}


def _rows(text: str, hook: Callable[[dict[str, Any]], Any] | None = None) -> list[Any] | None:
    """The list of event rows; ``hook`` is given each JSON object as ``json`` makes it (a dict, the last of
    repeated keys winning) and returns what stands for it (``json``'s ``object_hook``)."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped.startswith(("{", "[")) or '"startTime"' not in text or '"event' not in text:
        return None
    try:
        doc = json.loads(stripped, object_hook=hook)
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        return None
    rows = doc.get("rows") if isinstance(doc, dict) else doc
    return rows if isinstance(rows, list) else None


def time_key_lines(text: str) -> dict[str, list[int]]:
    """Line of each ``startTime`` / ``renormalTime`` key, in document order (json keeps no positions).
    Lines are counted from the previous key on, so the whole file is scanned once (counting from the
    start for every key took minutes on an 8 MiB list)."""
    key_lines: dict[str, list[int]] = {"startTime": [], "renormalTime": []}
    line, pos = 1, 0
    for m in _KEY.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        key_lines[m[1]].append(line)
    return key_lines


def detect(lines: list[str]) -> bool:
    head = "\n".join(lines[:50])
    return head.lstrip("\ufeff \t").startswith(("{", "[")) and '"startTime"' in head and '"event' in head


def read(ctx: Context) -> InverterLog:
    if ctx.brand is None:  # the portal is Lux Power's own: its code table applies
        ctx = replace(ctx, brand="luxpower")
    text = "\n".join(ctx.lines)
    rows = _rows(text)
    warnings: list[ParseWarning] = []
    if rows is None:
        return InverterLog(
            source=ctx.source,
            shape=SHAPE,
            brand=ctx.brand,
            encoding=ctx.encoding,
            warnings=[_build.warning(ctx, 1, "not valid JSON with a 'rows' list of events")],
        )
    key_lines = time_key_lines(text)
    starts, ends = iter(key_lines["startTime"]), iter(key_lines["renormalTime"])
    pending: list[tuple[dict[str, Any], int, int | None]] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            warnings.append(_build.warning(ctx, 1, f"row {i + 1} is not an object"))
            continue
        start_line = next(starts, 1) if "startTime" in row else 1
        end_line = next(ends, None) if "renormalTime" in row else None
        pending.append((row, start_line, end_line))

    stamps = [str(r.get("startTime") or "") for r, _, _ in pending]
    column = parse_times(stamps, [s for _, s, _ in pending], ctx.zone, ctx.source)
    ended = [(r, e) for r, _, e in pending if r.get("renormalTime") and e is not None]
    end_column = parse_times(
        [str(r["renormalTime"]) for r, _ in ended], [e for _, e in ended], ctx.zone, ctx.source
    )
    end_at = {id(r): (t, e) for (r, e), t in zip(ended, end_column.times, strict=True)}
    warnings += column.warnings + end_column.warnings
    events: list[BatteryEvent] = []
    for (row, line, _), when in zip(pending, column.times, strict=True):
        if when is None:
            continue
        code = str(row.get("event") or "").strip()
        message = str(row.get("eventText") or "").strip()
        severity = _TYPES.get(str(row.get("eventType") or "").upper())
        events.append(_build.event(ctx, when, line, code, message, severity=severity))
        end = end_at.get(id(row))
        if end is not None and end[0] is not None:
            events.append(_build.event(ctx, end[0], end[1], code, message, cleared=True))
    events.sort(key=lambda e: (e.time is None, e.time))
    warnings.sort(key=lambda w: w.line)
    return InverterLog(
        source=ctx.source,
        shape=SHAPE,
        brand=ctx.brand,
        encoding=ctx.encoding,
        events=events,
        warnings=warnings,
        notes=["Lux Power / EG4 portal event list (JSON)"],
    )
