"""Building the :class:`CaseView` from what the files held: modules (address map), placed console
readings, the one timeline of BMS and inverter events, the one temperature series, and the gaps."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from pylondiag.casedir import bms_events, gaps, repeats
from pylondiag.casedir.addresses import AddressMap
from pylondiag.casedir.files import Loaded
from pylondiag.casedir.records import Readings, aware, place_modules, read_captures
from pylondiag.model.bus import BusFacts
from pylondiag.model.case import DEFAULT_TIMEZONE, CaseFile
from pylondiag.model.columns import KIND_INDEX, SEVERITY_INDEX, EventColumns, TemperatureSeries, wall_time
from pylondiag.model.event import BatteryEvent, EventKind, Severity, TemperatureSample
from pylondiag.model.stack import CaseView, EvidenceGap, StatReading
from pylondiag.model.timeline import Timeline

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from pylondiag.evidence.inverter_log.columns import LogColumns


def zone_of(case: CaseFile | None) -> ZoneInfo:
    """The site's timezone (``case.yaml`` ``site.timezone``, else the default)."""
    return ZoneInfo(case.site.timezone if case else DEFAULT_TIMEZONE)


def build_view(case_id: str, root: str, case: CaseFile | None, loaded: Loaded) -> CaseView:
    """The one normalized view every rule reads."""
    tz = zone_of(case)
    observed = case.observed_at if case else None
    if observed is not None and observed.tzinfo is None:
        observed = observed.replace(tzinfo=tz)
    amap = AddressMap.from_case(case)
    readings = read_captures(loaded.captures, loaded.notes, amap, tz)
    place_modules(amap, readings)
    logs, repeated = repeats.once(loaded.logs)
    inverter, status = split_status(logs)
    bms = timeline([*readings.events, *_stat_rises(readings.stats), *loaded.bus_events], tz)
    window = plausible_window(observed)
    bms_kept, dropped = within(bms, window)
    inverter, dropped_events = columns_within(inverter, window, _wall_time)
    status, dropped_status = columns_within(status, window)
    temperatures, dropped_temps = series_within(temperature_series(logs, bms, tz), window)
    outside = [
        *((e.provenance.source, e.provenance.line, e.time) for e in dropped),
        *dropped_events,
        *dropped_status,
        *dropped_temps,
    ]
    return CaseView(
        case_id=case_id,
        root=root,
        case=case,
        timezone=tz.key,
        observed_at=observed,
        modules=amap.views(),
        pwr=readings.pwr,
        bat=readings.bat,
        pwr_detail=readings.details,
        stats=readings.stats,
        soh=readings.sohs,
        infos=readings.infos,
        pwrsys=readings.pwrsys,
        logs=readings.logs,
        events=Timeline.ordered(bms_kept, inverter),
        inverter_status=status,
        temperatures=temperatures,
        files=loaded.files,
        gaps=[*loaded.gaps, *repeated, *_identity_gaps(case, amap, readings), *_window_gaps(outside, window)],
        address_conflicts=amap.conflicts,
        bus=_bus_facts(loaded.bus),
        console_positions=dict(loaded.notes),
        console_unused=list(readings.unused_commands),
        console_refused=dict(readings.refused_commands),
    )


PLAUSIBLE_FROM: Final = datetime(2010, 1, 1, tzinfo=UTC)
"""No Pylontech US2000/US3000/US5000 or the inverters that talk to them logged before this: an earlier
date is a clock that was never set (or a forged row)."""
FUTURE_SLACK: Final = timedelta(days=366)
"""Rows up to this far past the later of now and ``observed_at`` stay: a clock set a few months ahead
(or a simulated case dated ahead of the machine that reads it) still reads; a row a year or more ahead is
not a real event. The window stays a few decades at most either way."""

Window = tuple[datetime, datetime]
Outside = tuple[str, int, datetime | None]
"""A row left out: its file, line and time."""


def _bus_facts(parts: list[BusFacts]) -> BusFacts:
    """The bus facts of every bus capture of the case (empty without any)."""
    if not parts:
        return BusFacts()
    from pylondiag.casedir.bus import merge  # cantools and construct: only for a case with bus captures

    return merge(parts)


def plausible_window(observed: datetime | None, now: datetime | None = None) -> Window:
    """The span evidence times may lie in: from :data:`PLAUSIBLE_FROM` to the later of now and when the
    owner looked, plus :data:`FUTURE_SLACK` (a year). Every series and span the rules compute lies inside
    it, so one row dated 0001 or 9999 cannot make an hourly series of millions of hours."""
    now = now or datetime.now(UTC)
    latest = max(now, observed) if observed is not None else now
    return PLAUSIBLE_FROM, latest + FUTURE_SLACK


def within(events: list[BatteryEvent], window: Window) -> tuple[list[BatteryEvent], list[BatteryEvent]]:
    """``events`` split into those dated inside ``window`` (or undated) and those outside it."""
    lo, hi = window
    kept: list[BatteryEvent] = []
    out: list[BatteryEvent] = []
    for e in events:
        inside = all(t is None or lo <= t <= hi for t in (e.time, e.occurred_after))
        (kept if inside else out).append(e)
    return kept, out


def _inside(utc_s: npt.NDArray[np.float64], window: Window) -> npt.NDArray[np.bool_]:
    mask: npt.NDArray[np.bool_] = (utc_s >= window[0].timestamp()) & (utc_s <= window[1].timestamp())
    return mask


def columns_within(
    parts: list[EventColumns],
    window: Window,
    when: Callable[[EventColumns, int], datetime | None] | None = None,
) -> tuple[list[EventColumns], list[Outside]]:
    """Rows inside ``window``, and the file/line/time of those outside it (the time ``when(columns,
    row)`` gives; by default the UTC instant)."""
    kept: list[EventColumns] = []
    out: list[Outside] = []
    if not parts:
        return parts, out
    import numpy as np  # only with a log

    time_of = when or (lambda c, i: _utc(c.utc_s[i]))
    for c in parts:
        inside = _inside(c.utc_s, window)
        out += [(c.source, int(c.line[i]), time_of(c, int(i))) for i in np.nonzero(~inside)[0]]
        kept.append(c if inside.all() else c.take(inside))
    return kept, out


def _wall_time(c: EventColumns, i: int) -> datetime | None:
    """Row ``i``'s time as its event object has it (the site's wall clock), None when out of range."""
    try:
        return wall_time(int(c.local_us[i]), float(c.utc_s[i]), c.zone)
    except (ValueError, OverflowError):
        return None


def series_within(series: TemperatureSeries, window: Window) -> tuple[TemperatureSeries, list[Outside]]:
    """Readings inside ``window``, and the file/line/time of those outside it."""
    if len(series) == 0:
        return series, []  # no temperature at all: numpy is not even loaded
    import numpy as np

    inside = _inside(series.utc_s, window)
    if inside.all():
        return series, []
    out = [
        (series.origins[int(series.origin[i])].source, int(series.line[i]), _utc(series.utc_s[i]))
        for i in np.nonzero(~inside)[0]
    ]
    return series.take(np.nonzero(inside)[0]), out


def _utc(seconds: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(seconds), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _window_gaps(outside: list[Outside], window: Window) -> list[EvidenceGap]:
    """One gap per file whose rows were left out for being dated outside the plausible window."""
    by_source: dict[str, list[Outside]] = {}
    for row in outside:
        by_source.setdefault(row[0], []).append(row)
    out = []
    for source, rows in by_source.items():
        _, line, when = min(rows, key=lambda r: r[1])
        day = when.date().isoformat() if when is not None else "a date out of range"
        out.append(
            EvidenceGap(
                text=gaps.out_of_window(source, len({r[1] for r in rows}), line, day, window), source=source
            )
        )
    return out


def _identity_gaps(case: CaseFile | None, amap: AddressMap, r: Readings) -> list[EvidenceGap]:
    """What keeps console readings from being placed with certainty, in the order an engineer fixes it."""
    texts = [gaps.address_conflict(c) for c in amap.conflicts]
    console = bool(r.pwr or r.bat or r.stats)
    if amap.cross_group and console:
        texts.append(gaps.cross_group(amap.cross_group))
    if case and case.stack and not amap.have_addresses and console and len(case.stack) > 1:
        texts.append(gaps.no_addresses())
    if r.assumed_sources:
        texts.append(gaps.assumed_address(r.assumed_sources, amap.plain_module[0]))
    return [EvidenceGap(text=t) for t in texts]


def timeline(events: list[BatteryEvent], tz: tzinfo) -> list[BatteryEvent]:
    """BMS and inverter events as ONE timeline: every time aware (a naive time — a BMS ``log`` entry,
    a module clock — is taken in the site's timezone), oldest first; events without a time last, in
    the order read. Sorting is stable, so events at the same instant keep their reading order."""
    made_aware = [
        e
        if (e.time is None or e.time.tzinfo is not None)
        and (e.occurred_after is None or e.occurred_after.tzinfo is not None)
        else e.model_copy(update={"time": aware(e.time, tz), "occurred_after": aware(e.occurred_after, tz)})
        for e in events
    ]
    return sorted(made_aware, key=lambda e: (e.time is None, e.time.timestamp() if e.time else 0.0))


_OTHER: Final = KIND_INDEX[EventKind.OTHER]
_INFO: Final = SEVERITY_INDEX[Severity.INFO]


def status_rows(c: EventColumns) -> npt.NDArray[np.bool_]:
    """Rows that say nothing about the battery: kind ``other``, severity ``info`` and no entry in the
    brand's code table (the inverter's "Grid connected", "Status normal" heartbeat)."""
    import numpy as np

    undocumented = np.array([p.classified_by != "table" for p in c.pairs] or [False], dtype=np.bool_)
    mask: npt.NDArray[np.bool_] = (c.kind == _OTHER) & (c.severity == _INFO) & undocumented[c.pair]
    return mask


def split_status(logs: list[LogColumns]) -> tuple[list[EventColumns], list[EventColumns]]:
    """Every log's rows as columns: (its events for the timeline, its status rows), one part each."""
    events: list[EventColumns] = []
    status: list[EventColumns] = []
    for log in logs:
        mask = status_rows(log.events)
        if not mask.all():
            events.append(log.events if not mask.any() else log.events.take(~mask))
        if mask.any():
            status.append(log.events.take(mask))
    return events, status


def temperature_series(logs: list[LogColumns], bms: list[BatteryEvent], tz: ZoneInfo) -> TemperatureSeries:
    """Every temperature of the case as one series, oldest first: the logs' readings between events
    and each event's own recorded temperature (``BatteryEvent.temperature_c``, cited at the event's
    line). One reading per (source, line); readings at the same instant keep this order: the logs'
    readings, the BMS events' temperatures, the inverter events' temperatures (file and row order)."""
    bms_temps = [
        TemperatureSample(
            time=e.time, celsius=e.temperature_c, sensor=f"{e.origin} event", provenance=e.provenance
        )
        for e in bms
        if e.temperature_c is not None and e.time is not None and e.occurred_after is None
    ]
    if not logs and not bms_temps:
        return TemperatureSeries(zone=tz)  # no temperature at all: numpy is not even loaded
    import numpy as np

    parts = [
        *(log.readings for log in logs),
        TemperatureSeries.from_samples(bms_temps, tz),
        *(log.events.temperatures("inverter event") for log in logs),
    ]
    series = TemperatureSeries.concat(parts, tz)
    once = series.first_per_line()
    order = np.argsort(series.utc_s[once], kind="stable")
    return series.take(once[order])


def _stat_rises(stats: list[StatReading]) -> list[BatteryEvent]:
    """``stat`` counters that rose between consecutive readings of one module, as timeline events."""
    out: list[BatteryEvent] = []
    by_pos: dict[tuple[int | None, int | None], list[StatReading]] = {}
    for st in stats:
        if st.position is not None or st.address is not None:
            by_pos.setdefault((st.position, st.address), []).append(st)
    for series in by_pos.values():
        for a, b in itertools.pairwise(series):
            out += bms_events.from_stat_rise(a.stat, b.stat, b.source, a.time, b.time, b.address)
    return out
