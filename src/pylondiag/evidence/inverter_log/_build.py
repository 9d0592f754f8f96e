"""Building normalized events and warnings from what a shape reader found on a line."""

from __future__ import annotations

from datetime import datetime

from pylondiag.evidence.inverter_log._classify import classify
from pylondiag.evidence.inverter_log._context import Context
from pylondiag.model.console import ParseWarning, Provenance
from pylondiag.model.event import BatteryEvent, EventKind, Severity

_RAW_MAX = 200


def provenance(ctx: Context, line: int) -> Provenance:
    return Provenance(source=ctx.source, line=line, raw=ctx.cited(line))


def warning(ctx: Context, line: int, message: str) -> ParseWarning:
    raw = ctx.cited(line)[:_RAW_MAX]
    return ParseWarning(source=ctx.source, line=line, message=message, raw=raw)


def event(
    ctx: Context,
    when: datetime,
    line: int,
    code: str,
    text: str,
    *,
    severity: Severity | None = None,
    cleared: bool = False,
    temperature_c: float | None = None,
    module: int | None = None,
) -> BatteryEvent:
    """An inverter event classified with the context's brand table (``cleared``: the end of that event)."""
    c = classify(ctx.brand, code, text)
    kind, sev, clears = c.kind, severity or c.severity, c.clears
    if cleared and kind is not EventKind.CLEARED:
        kind, sev, clears = EventKind.CLEARED, Severity.INFO, c.kind
    return BatteryEvent(
        time=when,
        origin="inverter",
        brand=ctx.brand,
        code=code or None,
        text=text,
        kind=kind,
        severity=sev,
        module_address=module,
        code_verified=c.verified,
        temperature_c=temperature_c,
        classified_by=c.classified_by,
        clears=clears,
        provenance=provenance(ctx, line),
    )
