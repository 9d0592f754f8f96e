"""Report data from the normalized ``CaseView`` (``pylondiag.model.stack``): a plain copy, no judgement."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pylondiag.model.columns import EventColumns, TemperatureSeries
from pylondiag.model.console import InfoRecord, PwrRow, StatCounters
from pylondiag.model.stack import CaseView
from pylondiag.model.timeline import Timeline
from pylondiag.report.data import (
    TEMP_DETAIL_LIMIT,
    CounterSet,
    EventArrays,
    EventLike,
    ModuleFacts,
    ReportData,
    TempReading,
    cell_reading,
    merge_modules,
    temp_reading,
)
from pylondiag.report.photos import case_photos


def from_view(view: CaseView) -> ReportData:
    observed = [
        ModuleFacts(
            position=m.position,
            address=m.address,
            model=m.model,
            serial=m.serial,
            installed=m.installed,
            led=m.led.value if m.led else None,
            dip=m.dip,
            role=m.role.value if m.role else None,
            group=m.group,
            notes=m.notes,
            firmware=m.firmware,
        )
        for m in view.modules
    ]
    info: dict[int, InfoRecord] = {i.position: i.info for i in view.infos if i.position is not None}
    stat: dict[int, StatCounters] = {s.position: s.stat for s in view.stats if s.position is not None}
    temps: list[TempReading] = []
    latest_row: dict[int, PwrRow] = {}
    for snap in view.pwr:
        for row in snap.present_rows():
            pos = view.position_of(row.address)
            if pos is None:
                continue
            temps.append(temp_reading(row, pos, snap.time))
            latest_row[pos] = row
    cells = tuple(
        cell_reading(b.table, b.position, b.time)
        for b in view.bat
        if b.position is not None and b.table.cells
    )
    counters = tuple(
        CounterSet(s.position, dict(s.stat.counters), s.source, s.stat.provenance.line)
        for s in view.stats
        if s.position is not None
    )
    return ReportData(
        modules=merge_modules(observed, info, stat, latest_row),
        cells=cells,
        temps=tuple(temps),
        counters=counters,
        events=event_marks(view.events),
        temperature_series=temperature_points(view.temperatures),
        temperature_readings=len(view.temperatures) if len(view.temperatures) > TEMP_DETAIL_LIMIT else 0,
        inverter=_inverter(view),
        site=_site(view),
        observed_at=view.observed_at,
        notes=view.case.notes if view.case else None,
        symptoms=tuple(s.value.replace("_", " ") for s in view.symptoms),
        history=tuple(
            (h.date.isoformat(), h.event.value.replace("_", " "), h.detail or "") for h in view.history
        ),
        files=tuple((f.source, f.kind, "read" if f.used else "not used", f.note or "") for f in view.files),
        photos=case_photos(
            Path(view.root) if view.root else None, [f.source for f in view.files if f.kind == "photo"]
        ),
    )


_INVERTER_LABELS: tuple[tuple[str, str, str], ...] = (
    ("brand", "Brand", ""),
    ("model", "Model", ""),
    ("firmware", "Firmware", ""),
    ("battery_type", "Battery type", ""),
    ("battery_protocol", "BMS protocol", ""),
    ("configured_modules", "Modules configured", ""),
    ("configured_capacity_ah", "Capacity configured", " Ah"),
    ("charge_voltage_v", "Charge voltage", " V"),
    ("max_charge_current_a", "Max charge current", " A"),
    ("max_discharge_current_a", "Max discharge current", " A"),
    ("replaced_on", "Inverter replaced on", ""),
    ("firmware_updated_on", "Firmware updated on", ""),
)


def _inverter(view: CaseView) -> tuple[tuple[str, str], ...]:
    inv = view.inverter
    if inv is None:
        return ()
    out = []
    for attr, label, unit in _INVERTER_LABELS:
        value = getattr(inv, attr)
        if value is None:
            continue
        text = value.value if hasattr(value, "value") else str(value)
        out.append((label, f"{text}{unit}"))
    return tuple(out)


def _site(view: CaseView) -> tuple[tuple[str, str], ...]:
    if view.case is None:
        return ()
    site = view.case.site
    out = [("Time zone", site.timezone)]
    if site.location:
        out.append(("Location", site.location))
    if site.ambient_c is not None:
        out.append(("Ambient when observed", f"{site.ambient_c:g} °C"))
    return tuple(out)


def temperature_points(series: TemperatureSeries) -> tuple[tuple[datetime, float], ...]:
    """(time, °C) of the readings a chart draws: all of them, or of a series longer than
    :data:`TEMP_DETAIL_LIMIT` each day's lowest and highest (a year at one a minute: 730 of 525,600)."""
    if len(series) <= TEMP_DETAIL_LIMIT:
        return tuple(series.points())
    return tuple(series.take(series.daily_extremes()).points())


def event_marks(events: Timeline) -> tuple[EventLike, ...] | EventArrays:
    """The case's events for the timeline chart, in timeline order: the event objects when there are
    only objects, else arrays (:class:`EventArrays`: no object per row of an inverter log)."""
    if not events.parts:
        return tuple(events)
    import numpy as np

    arrays = EventArrays.concat([EventArrays.of_events(events.objects), *map(_arrays, events.parts)])
    return arrays.take(np.asarray(events.rows_in_order(), dtype=np.int64))


def _arrays(c: EventColumns) -> EventArrays:
    """The rows of ``c`` as the chart draws them: site wall-clock time, kind, severity, line, °C."""
    import numpy as np

    return EventArrays(
        time_us=c.local_us,
        kind=c.kind,
        severity=c.severity,
        bms=np.zeros(len(c), dtype=np.bool_),
        source=np.zeros(len(c), dtype=np.int32),
        line=c.line,
        temperature_c=c.temperature_c,
        sources=(c.source,),
    )
