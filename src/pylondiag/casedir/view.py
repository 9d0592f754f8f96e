"""Building the :class:`CaseView` from what the files held: modules (address map), placed console
readings, the one timeline of BMS and inverter events, the one temperature series, and the gaps."""

from __future__ import annotations

import itertools
from datetime import tzinfo
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from pylondiag.casedir import bms_events, gaps
from pylondiag.casedir.addresses import AddressMap
from pylondiag.casedir.bus import merge as merge_bus
from pylondiag.casedir.files import Loaded
from pylondiag.casedir.records import Readings, aware, place_modules, read_captures
from pylondiag.model.case import DEFAULT_TIMEZONE, CaseFile
from pylondiag.model.columns import KIND_INDEX, SEVERITY_INDEX, EventColumns, TemperatureSeries
from pylondiag.model.event import BatteryEvent, EventKind, Severity, TemperatureSample
from pylondiag.model.stack import CaseView, EvidenceGap, StatReading

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
    inverter, status = split_status(loaded.logs)
    bms = timeline([*readings.events, *_stat_rises(readings.stats), *loaded.bus_events], tz)
    events = timeline([*bms, *inverter], tz)
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
        events=events,
        inverter_status=status,
        temperatures=temperature_series(loaded.logs, bms, tz),
        files=loaded.files,
        gaps=[*loaded.gaps, *_identity_gaps(case, amap, readings)],
        address_conflicts=amap.conflicts,
        bus=merge_bus(loaded.bus),
        console_positions=dict(loaded.notes),
    )


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


def split_status(logs: list[LogColumns]) -> tuple[list[BatteryEvent], list[EventColumns]]:
    """Every log's events as objects for the timeline, except status rows, which stay columns."""
    events: list[BatteryEvent] = []
    status: list[EventColumns] = []
    for log in logs:
        import numpy as np  # only with a log

        mask = status_rows(log.events)
        events += log.events.events(np.nonzero(~mask)[0])
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
