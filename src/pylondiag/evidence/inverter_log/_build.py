"""Building normalized events and warnings from what a shape reader found on a line."""

from __future__ import annotations

from datetime import datetime

from pylondiag.evidence.inverter_log._classify import Classified, classify
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
    m = meaning(ctx.brand, code, text, severity, cleared)
    return BatteryEvent(
        time=when,
        origin="inverter",
        brand=ctx.brand,
        code=code or None,
        text=text,
        kind=m.kind,
        severity=m.severity,
        module_address=module,
        code_verified=m.verified,
        temperature_c=temperature_c,
        classified_by=m.classified_by,
        clears=m.clears,
        provenance=provenance(ctx, line),
    )


def meaning(
    brand: str | None, code: str, text: str, severity: Severity | None = None, cleared: bool = False
) -> Classified:
    """Kind, severity and grade of an event as :func:`event` gives them (``severity``: as the file says;
    ``cleared``: the end of that event)."""
    c = classify(brand, code, text)
    if severity is not None:
        c = c._replace(severity=severity)
    if cleared and c.kind is not EventKind.CLEARED:
        c = c._replace(kind=EventKind.CLEARED, severity=Severity.INFO, clears=c.kind)
    return c
