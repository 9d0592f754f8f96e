"""Thermal correlation (method step 2): do the battery's trips cluster at temperature extremes?

Facts used (``shared/domain``): the BMS blocks charging below 0 °C and derates near it
(``hardware/field_failures.md`` #5, Victron 45182 [T]); a cold master module can sleep or shut down on
a cold morning and the inverter then reports BMS comms loss (``inverters/codes_deye_sunsynk.md``, F58
"cold-morning sleep/undervoltage shutdown of master module" [T]); hot afternoons and unventilated
cabinets raise over-temperature alarms (same table, F51 [T]). Spec: ``thermal_intermittent`` = trips
that cluster at temperature extremes, outcome ``environment`` when no module is at fault.

The test: time is cut into hours (the exposure); an hour is "cold" when its temperature is in the
coldest quarter of the hours with a temperature reading (or, with no temperature at all, when it is an
early-morning hour 03:00-09:00 local), "hot" likewise at the other end (12:00-18:00). Fisher's exact
test (one-sided, hypergeometric tail) asks whether hours with a trip are over-represented among the
cold (hot) hours. Counting hours, not events, keeps one burst of repeated alarms from looking like a
pattern. Minimum evidence: :data:`MIN_TRIPS` trips on :data:`MIN_TRIP_DAYS` different days over at
least :data:`MIN_EXPOSURE_HOURS` hours, p below :data:`ALPHA` (Bonferroni-corrected for the tests
run) and a rate ratio of at least :data:`MIN_RATE_RATIO`. Evenly spread trips or a handful of them
do not fire.

Which trips count (:data:`TRIP_KINDS`, :data:`COLD_PROXY_KINDS`, :data:`HOT_PROXY_KINDS`): temperature
alarms, BMS comms loss and unspecified BMS protection — not voltage, SOC or current trips, whose causes
(empty at dawn, full at midday, evening loads) share the daily rhythm of temperature. Without
temperatures the afternoon test counts only over-temperature alarms. A significant cluster is
``thermal_intermittent``; temperature alarms that do not reach the bar are warnings
(``under_temperature`` / ``over_temperature``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal
from zoneinfo import ZoneInfo

from pylondiag.diagnosis import cite
from pylondiag.diagnosis import confidence as C
from pylondiag.diagnosis.thresholds import THERMAL_STRONG_P_VALUE
from pylondiag.model.columns import EventColumns, TemperatureSeries
from pylondiag.model.diagnosis import Cause, EvidenceRef, Finding, FindingSeverity
from pylondiag.model.event import BatteryEvent, EventKind
from pylondiag.model.stack import CaseView
from pylondiag.model.timeline import EventQuery, EventRows

# ---------------------------------------------------------------- named thresholds
MIN_TRIPS: Final = 5
"""Trips (events) needed before a cluster is looked for: fewer cannot show a pattern."""
MIN_TRIP_DAYS: Final = 3
"""Distinct days with a trip: one bad morning is an incident, not a pattern."""
MIN_EXPOSURE_HOURS: Final = 48
"""Hours observed (with a temperature, for the temperature test) before a test is run."""
ALPHA: Final = 0.01
"""Family-wise significance level; divided by the number of tests run (Bonferroni)."""
MIN_RATE_RATIO: Final = 2.0
"""Trip-hour rate in the extreme hours must be at least this many times the rate in the other hours."""
EXTREME_QUANTILE: Final = 0.25
"""Coldest / hottest quarter of the observed hours."""
COLD_HOURS: Final = frozenset(range(3, 9))
"""Local hours 03:00-08:59: the coldest part of the day (tool parameter [U]; only without temperatures)."""
HOT_HOURS: Final = frozenset(range(12, 18))
"""Local hours 12:00-17:59: the hottest part of the day (tool parameter [U])."""
TEMP_MATCH_S: Final = 3 * 3600
"""s: a reading this close to an hour still gives that hour its temperature (carried forward)."""

TRIP_KINDS: Final = frozenset(
    {
        EventKind.UNDER_TEMPERATURE,
        EventKind.OVER_TEMPERATURE,
        EventKind.BMS_COMMS_LOST,
        EventKind.BMS_PROTECTION,
    }
)
"""Trips the temperature test counts: temperature alarms, BMS comms loss (a cold master module sleeps or shuts
down, codes_deye_sunsynk.md F58 [T]) and unspecified BMS protection. Voltage, SOC and current trips are left
out on purpose: they follow the state of charge (empty at dawn, full at midday) and the household's loads,
which keep the same daily rhythm as temperature and would fake a thermal pattern; the voltage/current rules
judge them."""
COLD_PROXY_KINDS: Final = frozenset({EventKind.UNDER_TEMPERATURE, EventKind.BMS_COMMS_LOST})
"""Without temperatures, the early-morning (cold) test counts only these."""
HOT_PROXY_KINDS: Final = frozenset({EventKind.OVER_TEMPERATURE})
"""Without temperatures, the afternoon (hot) test counts only over-temperature alarms: afternoons are also
when solar charging fills the battery and loads peak."""

Side = Literal["cold", "hot"]
_SIDES: Final[tuple[Side, Side]] = ("cold", "hot")
if TYPE_CHECKING:  # numpy is imported where a test runs: a case without trips never loads it
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]
    FloatArray = npt.NDArray[np.float64]


# ---------------------------------------------------------------- statistics (pure)
def fisher_greater(a: int, b: int, c: int, d: int) -> float:
    """One-sided Fisher's exact test p-value for the 2x2 table ``[[a, b], [c, d]]``.

    P(X >= a) where X is hypergeometric with the table's margins: the chance of at least ``a``
    trip-hours among the extreme hours if trips fell on hours at random.
    """
    row1, col1, n = a + b, a + c, a + b + c + d
    if n == 0 or row1 == 0 or col1 == 0:
        return 1.0
    lo, hi = max(0, col1 - (n - row1)), min(row1, col1)
    if a <= lo:
        return 1.0

    def logp(k: int) -> float:
        return _lchoose(row1, k) + _lchoose(n - row1, col1 - k) - _lchoose(n, col1)

    terms = [logp(k) for k in range(a, hi + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def _lchoose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


@dataclass(frozen=True)
class ClusterTest:
    """One test: do trip-hours fall in the extreme hours more than chance allows?"""

    side: Side
    basis: Literal["temperature", "time_of_day"]
    extreme_hours: int
    other_hours: int
    trip_hours_extreme: int
    trip_hours_other: int
    trips_extreme: int
    trips_total: int
    p_value: float
    threshold_c: float | None = None
    """Temperature bound of the extreme hours (<= for cold, >= for hot), when by temperature."""
    trip_days: int = 0
    """Distinct local days with a trip among the trips this test counted."""
    observed_hours: int = 0
    """Hours of the observed period (with or without a temperature)."""

    @property
    def enough(self) -> bool:
        """The minimum evidence: :data:`MIN_TRIPS` trips on :data:`MIN_TRIP_DAYS` days over
        :data:`MIN_EXPOSURE_HOURS` hours."""
        return (
            self.trips_total >= MIN_TRIPS
            and self.trip_days >= MIN_TRIP_DAYS
            and self.extreme_hours + self.other_hours >= MIN_EXPOSURE_HOURS
        )

    @property
    def rate_ratio(self) -> float:
        rate_in = self.trip_hours_extreme / self.extreme_hours if self.extreme_hours else 0.0
        rate_out = self.trip_hours_other / self.other_hours if self.other_hours else 0.0
        if rate_out == 0.0:
            return math.inf if rate_in > 0 else 0.0
        return rate_in / rate_out

    def significant(self, n_tests: int = 1) -> bool:
        return self.enough and self.p_value < ALPHA / max(1, n_tests) and self.rate_ratio >= MIN_RATE_RATIO

    def describe(self) -> str:
        total_hours = self.extreme_hours + self.other_hours
        if self.basis == "temperature":
            bound = "≤" if self.side == "cold" else "≥"
            name = "coldest" if self.side == "cold" else "hottest"
            where = f"the {name} quarter of hours ({bound} {self.threshold_c:.1f} °C)"
        else:
            span = "03:00-09:00" if self.side == "cold" else "12:00-18:00"
            where = f"the {'early-morning' if self.side == 'cold' else 'afternoon'} hours ({span} local)"
        rate = (
            "and no trip fell in the other hours"
            if math.isinf(self.rate_ratio)
            else f"{self.rate_ratio:.1f}x the rate of the other hours"
        )
        return (
            f"{self.trips_extreme} of {self.trips_total} trips fell in {where}, which are "
            f"{self.extreme_hours} of the {total_hours} hours observed, {rate} "
            f"(Fisher's exact test, one-sided, p = {self.p_value:.2g})"
        )


def hourly_counts(trip_s: IntArray, start_hour: int, n_hours: int) -> IntArray:
    """Trips per hour; hour ``i`` is ``[start_hour + i, start_hour + i + 1)`` (hours since the epoch, UTC)."""
    import numpy as np

    idx = trip_s // 3600 - start_hour
    idx = idx[(idx >= 0) & (idx < n_hours)]
    counts: IntArray = np.bincount(idx, minlength=n_hours).astype(np.int64)
    return counts


def hourly_temperature(temp_s: IntArray, temp_c: FloatArray, start_hour: int, n_hours: int) -> FloatArray:
    """Mean temperature per hour; hours without a reading take the last reading within
    :data:`TEMP_MATCH_S` (else NaN)."""
    import numpy as np

    out = np.full(n_hours, np.nan)
    if temp_s.size == 0:
        return out
    order = np.argsort(temp_s, kind="stable")
    ts, tc = temp_s[order], temp_c[order]
    ok = np.isfinite(tc)
    ts, tc = ts[ok], tc[ok]
    idx = ts // 3600 - start_hour
    inside = (idx >= 0) & (idx < n_hours)
    sums = np.bincount(idx[inside], weights=tc[inside], minlength=n_hours)
    cnt = np.bincount(idx[inside], minlength=n_hours)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(cnt > 0, sums / np.maximum(cnt, 1), np.nan)
    missing = np.isnan(out)
    if missing.any() and ts.size:
        centres = (np.arange(n_hours, dtype=np.int64) + start_hour) * 3600 + 1800
        j = np.searchsorted(ts, centres, side="right") - 1
        valid = missing & (j >= 0)
        jj = np.clip(j, 0, ts.size - 1)
        near = valid & (centres - ts[jj] <= TEMP_MATCH_S)
        out = np.where(near, tc[jj], out)
    return out


def temperature_test(
    trips: IntArray, hours_temp: FloatArray, side: Side, trips_per_hour: IntArray
) -> ClusterTest | None:
    """Fisher's test of trip-hours among the coldest / hottest quarter of hours that have a temperature."""
    import numpy as np

    known = ~np.isnan(hours_temp)
    if int(known.sum()) < MIN_EXPOSURE_HOURS:
        return None
    temps = hours_temp[known]
    tph = trips_per_hour[known]
    if side == "cold":
        bound = float(np.quantile(temps, EXTREME_QUANTILE))
        extreme = temps <= bound
    else:
        bound = float(np.quantile(temps, 1.0 - EXTREME_QUANTILE))
        extreme = temps >= bound
    if extreme.all() or not extreme.any():
        return None
    return _table(side, "temperature", extreme, tph, int(trips.size), bound)


def time_of_day_test(
    local_hour: IntArray, trips_per_hour: IntArray, side: Side, n_trips: int
) -> ClusterTest | None:
    """Fisher's test of trip-hours among early-morning (cold) or afternoon (hot) local hours."""
    import numpy as np

    if local_hour.size < MIN_EXPOSURE_HOURS:
        return None
    window = COLD_HOURS if side == "cold" else HOT_HOURS
    extreme = np.isin(local_hour, np.array(sorted(window)))
    return _table(side, "time_of_day", extreme, trips_per_hour, n_trips, None)


def _table(
    side: Side,
    basis: Literal["temperature", "time_of_day"],
    extreme: npt.NDArray[np.bool_],
    tph: IntArray,
    n_trips: int,
    bound: float | None,
) -> ClusterTest:
    has = tph > 0
    a = int((extreme & has).sum())
    b = int((extreme & ~has).sum())
    c = int((~extreme & has).sum())
    d = int((~extreme & ~has).sum())
    return ClusterTest(
        side=side,
        basis=basis,
        extreme_hours=a + b,
        other_hours=c + d,
        trip_hours_extreme=a,
        trip_hours_other=c,
        trips_extreme=int(tph[extreme].sum()),
        trips_total=n_trips,
        p_value=fisher_greater(a, b, c, d),
        threshold_c=bound,
    )


def local_hours(start_hour: int, n_hours: int, zone: ZoneInfo) -> IntArray:
    """Local clock hour (0-23) of each UTC hour ``start_hour + i``."""
    import numpy as np

    out = np.empty(n_hours, dtype=np.int64)
    base = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(hours=start_hour)
    for i in range(n_hours):
        out[i] = (base + timedelta(hours=i)).astimezone(zone).hour
    return out


@dataclass(frozen=True)
class Correlation:
    """The result of :func:`correlate`: the tests run and the most convincing one."""

    tests: tuple[ClusterTest, ...]
    hours: int

    @property
    def enough(self) -> bool:
        """True when at least one test had the minimum evidence."""
        return any(t.enough for t in self.tests)

    def best(self) -> ClusterTest | None:
        """The significant test with the smallest p-value, or None (also when the evidence is too thin)."""
        hits = [t for t in self.tests if t.significant(len(self.tests))]
        return min(hits, key=lambda t: t.p_value) if hits else None


Trips = tuple["IntArray", "IntArray"]
"""(trip times in UTC seconds, their local day numbers)."""


def _days(trips: Trips) -> int:
    import numpy as np

    return int(np.unique(trips[1]).size) if trips[1].size else 0


def correlate(
    trips: Trips,
    temp_s: IntArray,
    temp_c: FloatArray,
    zone: ZoneInfo,
    *,
    span: tuple[int, int],
    cold_proxy: Trips | None = None,
    hot_proxy: Trips | None = None,
) -> Correlation:
    """Cold and hot tests of ``trips`` against temperatures (UTC seconds, °C) over ``span`` (UTC seconds).

    With at least :data:`MIN_EXPOSURE_HOURS` hours that have a temperature, temperature decides which
    hours are extreme and ``trips`` are tested on both sides. Otherwise the local time of day does, and
    the early-morning test counts ``cold_proxy`` trips, the afternoon test ``hot_proxy`` trips (both
    default to ``trips``).
    """
    import numpy as np

    start_hour, end_hour = span[0] // 3600, span[1] // 3600
    n_hours = int(end_hour - start_hour + 1)
    temps = hourly_temperature(
        np.asarray(temp_s, dtype=np.int64), np.asarray(temp_c, dtype=np.float64), int(start_hour), n_hours
    )
    tests: list[ClusterTest] = []
    if int((~np.isnan(temps)).sum()) >= MIN_EXPOSURE_HOURS:
        tph = hourly_counts(trips[0], int(start_hour), n_hours)
        for side in _SIDES:
            t = temperature_test(trips[0], temps, side, tph)
            if t is not None:
                tests.append(replace(t, trip_days=_days(trips), observed_hours=n_hours))
    else:
        lh = local_hours(int(start_hour), n_hours, zone)
        sides: tuple[tuple[Side, Trips], ...] = (("cold", cold_proxy or trips), ("hot", hot_proxy or trips))
        for side, chosen in sides:
            tph = hourly_counts(chosen[0], int(start_hour), n_hours)
            t = time_of_day_test(lh, tph, side, int(chosen[0].size))
            if t is not None:
                tests.append(replace(t, trip_days=_days(chosen), observed_hours=n_hours))
    return Correlation(tuple(tests), n_hours)


# ---------------------------------------------------------------- the rule family
def _trips(view: CaseView, kinds: frozenset[EventKind]) -> EventRows:
    """Events of ``kinds`` with an exact time (a ``stat`` counter rise is known only between two
    readings, so it cannot be placed in an hour)."""
    return view.events.where(EventQuery(kinds=kinds, exact=True, not_info=True))


def _epoch(t: datetime, zone: ZoneInfo) -> int:
    return int((t if t.tzinfo is not None else t.replace(tzinfo=zone)).timestamp())


def _span(view: CaseView, zone: ZoneInfo, temp_s: IntArray) -> tuple[int, int]:
    """(first, last) s since 1970 UTC of everything timed in the case: events, inverter status rows and
    temperature readings."""
    import numpy as np

    times = [_epoch(e.time, zone) for e in view.events.objects if e.time is not None]
    columns = [c.utc_s.astype(np.int64) for c in (*view.events.parts, *view.inverter_status) if len(c)]
    if temp_s.size:
        columns.append(temp_s)
    lows = [min(times)] if times else []
    highs = [max(times)] if times else []
    return min(lows + [int(c.min()) for c in columns]), max(highs + [int(c.max()) for c in columns])


def findings(view: CaseView) -> list[Finding]:
    """Trips clustered at cold or hot extremes → ``thermal_intermittent`` (stack-level: outcome
    ``environment``); otherwise low/high-temperature alarms from the inverter log as warnings."""
    zone = ZoneInfo(view.timezone)
    trips = _trips(view, TRIP_KINDS)
    if not trips:
        return []

    # view.temperatures is the case's one temperature series: readings between events and every event's
    # own recorded temperature (the case reader puts both there), so nothing is read twice or missed.
    series = view.temperatures
    temp_s = series.seconds()
    temp_c = series.values()
    span = _span(view, zone, temp_s)
    groups = {"all": trips, "cold": trips.of_kinds(COLD_PROXY_KINDS), "hot": trips.of_kinds(HOT_PROXY_KINDS)}
    arrays = {k: _as_trips(v, zone) for k, v in groups.items()}
    result = correlate(
        arrays["all"],
        temp_s,
        temp_c,
        zone,
        span=span,
        cold_proxy=arrays["cold"],
        hot_proxy=arrays["hot"],
    )
    best = result.best()
    if best is not None:
        counted = groups["all"] if best.basis == "temperature" else groups[best.side]
        return [_cluster_finding(view, best, counted, zone)]
    return _direct_alarms(view, trips, result)


def _as_trips(events: EventRows, zone: ZoneInfo) -> Trips:
    """(UTC s, local day ordinal) of each trip (every trip has an exact time)."""
    return events.epochs(zone), events.local_ordinals(zone)


def _in_extreme(best: ClusterTest, trips: EventRows, series: TemperatureSeries, zone: ZoneInfo) -> EventRows:
    """The trips that fell in the extreme hours of ``best``."""
    import numpy as np

    if best.basis == "time_of_day":
        window = COLD_HOURS if best.side == "cold" else HOT_HOURS
        return trips.subset(np.isin(trips.local_hours(zone), np.fromiter(window, np.int64)))
    assert best.threshold_c is not None
    if not len(series):
        return trips.subset([False] * len(trips))
    rs = series.seconds()
    rc = series.values()
    order = np.argsort(rs)
    rs, rc = rs[order], rc[order]
    s = trips.epochs(zone)
    j = np.searchsorted(rs, s, side="right") - 1
    found = (j >= 0) & (s - rs[np.maximum(j, 0)] <= TEMP_MATCH_S)
    t = rc[np.maximum(j, 0)]
    extreme = t <= best.threshold_c if best.side == "cold" else t >= best.threshold_c
    return trips.subset(found & extreme)


def _cluster_finding(view: CaseView, best: ClusterTest, trips: EventRows, zone: ZoneInfo) -> Finding:
    """``thermal_intermittent``: the spec's cause for trips that cluster at temperature extremes (the
    pattern); a low/high-temperature protection active now is the BMS-state rules' under/over_temperature."""
    import numpy as np

    series = view.temperatures
    clustered = _in_extreme(best, trips, series, zone) or trips
    temp_kind = EventKind.UNDER_TEMPERATURE if best.side == "cold" else EventKind.OVER_TEMPERATURE
    n_temp = clustered.count_kind(temp_kind)
    what = (
        f" {n_temp} of them are {'low' if best.side == 'cold' else 'high'}-temperature alarms"
        + (" (the BMS blocks charging below 0 °C)." if best.side == "cold" else ".")
        if n_temp
        else ""
    )
    where = "cold" if best.side == "cold" else "hot"
    advice = (
        "Keep the stack above about 5 °C: move it indoors or out of the garage's coldest corner, insulate "
        "the cabinet, or add a thermostatic heater; Pylontech modules stop charging below 0 °C."
        if best.side == "cold"
        else "Keep the stack below about 35 °C: ventilate the cabinet, keep it out of direct sun and away "
        "from the inverter's exhaust."
    )
    unverified = sorted(clustered.unverified_codes())
    caveat = (
        f" Some codes rest on unverified code-table entries ({', '.join(unverified)})." if unverified else ""
    )
    evidence = [cite.line(e.provenance) for e in clustered[:4]]
    if best.basis == "temperature":  # the coldest (first of equals) or hottest (last of equals) reading
        c = series.values()
        j = int(np.argmin(c)) if best.side == "cold" else len(c) - 1 - int(np.argmax(c[::-1]))
        evidence.append(cite.line(series.provenance(j)))
    modules = clustered.modules()
    module = view.position_of(next(iter(modules))) if len(modules) == 1 and None not in modules else None
    return Finding(
        code=Cause.THERMAL_INTERMITTENT,
        severity=FindingSeverity.FAULT,
        module=module,
        confidence=C.NEAR_CERTAIN if best.p_value < THERMAL_STRONG_P_VALUE else C.LIKELY,
        message=(
            f"The battery's trips cluster when it is {where}: {best.describe()}.{what} "
            f"This is the surroundings, not a failing module.{caveat} {advice}"
        ),
        evidence=evidence,
    )


def _in_bms_log(e: BatteryEvent, log_lines: set[tuple[str, int]]) -> bool:
    """A BMS event read from a module's own ``log`` (not a live ``pwr`` state seen at a capture)."""
    return e.origin == "bms" and (e.provenance.source, e.provenance.line) in log_lines


def _every_row(c: EventColumns, rows: IntArray) -> IntArray:
    """1 for each of ``rows``: a flag true of every inverter-log row."""
    import numpy as np

    return np.ones(rows.shape[0], dtype=np.int64)


def _no_row(c: EventColumns, rows: IntArray) -> IntArray:
    """0 for each of ``rows``: a flag false of every inverter-log row."""
    import numpy as np

    return np.zeros(rows.shape[0], dtype=np.int64)


def _one_per_time(events: EventRows) -> list[int]:
    """Indexes of one event per minute, oldest first: the inverter's record and each module's log of
    one alarm count once (the inverter's line is kept first, it names the battery as a whole)."""
    at, origin = events.values("seconds"), events.values("origin")
    seen: dict[float, int] = {}
    for i in sorted(range(len(events)), key=lambda i: origin[i] != "inverter"):
        seen.setdefault(at[i] // 60, i)  # the minute; every zone's offset is whole minutes since 2010
    return sorted(seen.values(), key=at.__getitem__)


@dataclass(frozen=True)
class _Recorded:
    """The temperature at each of some events: their own, else a reading of the series within
    :data:`TEMP_MATCH_S` before them."""

    celsius: FloatArray
    """°C per event, NaN where none is known."""
    reading: IntArray
    """Index of the series reading used, -1 where the event's own temperature is (or none is known)."""

    def extreme(self, lowest: bool) -> int:
        """Index of the event with the lowest (highest) temperature, the first of equals."""
        import numpy as np

        known = np.flatnonzero(~np.isnan(self.celsius))
        values = self.celsius[known]
        return int(known[int(np.argmin(values) if lowest else np.argmax(values))])


def _temperatures_at(view: CaseView, events: EventRows, zone: ZoneInfo) -> _Recorded:
    """The temperature at each of ``events`` (every one has an exact time)."""
    import numpy as np

    series = view.temperatures
    own = np.asarray(events.temperatures_c(), dtype=np.float64)
    reading = np.full(len(events), -1, dtype=np.int64)
    missing = np.flatnonzero(np.isnan(own))
    if missing.size and len(series):
        times = series.seconds()
        s = events.epochs(zone)[missing]
        j = np.searchsorted(times, s, side="right") - 1
        found = (j >= 0) & (s - times[np.maximum(j, 0)] <= TEMP_MATCH_S)
        reading[missing[found]] = j[found]
        own[missing[found]] = np.asarray(series.celsius, dtype=np.float64)[j[found]]
    return _Recorded(own, reading)


def _recorded_ref(view: CaseView, events: EventRows, recorded: _Recorded, k: int) -> EvidenceRef:
    """Where the temperature of event ``k`` was read: its own line, or the series reading's."""
    j = int(recorded.reading[k])
    return cite.line(events[k].provenance if j < 0 else view.temperatures.provenance(j))


def _direct_alarms(view: CaseView, trips: EventRows, result: Correlation) -> list[Finding]:
    """Low/high-temperature alarms of the inverter log and of the modules' own BMS ``log`` (one merged
    timeline; the same alarm seen by several modules and the inverter counts once per minute) when the
    trips show no significant cluster.

    A temperature alarm *is* the battery saying it is too cold/hot, so no test is needed to read it:
    alarms on :data:`MIN_TRIP_DAYS` or more different days are a recurring thermal problem
    (``thermal_intermittent``); fewer are ``under_temperature`` / ``over_temperature`` — a fault when the
    inverter logged it as one (the BMS blocked charging or discharging), else a warning.
    """
    import numpy as np

    zone = ZoneInfo(view.timezone)
    log_lines = view.bms_log_lines()
    out: list[Finding] = []
    for kind, code, word, fix in (
        (
            EventKind.UNDER_TEMPERATURE,
            Cause.UNDER_TEMPERATURE,
            "low-temperature",
            "keep the stack above about 5 °C (indoors, insulated cabinet or a thermostatic heater)",
        ),
        (
            EventKind.OVER_TEMPERATURE,
            Cause.OVER_TEMPERATURE,
            "high-temperature",
            "keep the stack below about 35 °C (ventilation, out of the sun and the inverter's exhaust)",
        ),
    ):
        of_kind = trips.of_kinds(frozenset({kind}))
        found = of_kind.subset(
            of_kind.gather(lambda e: e.origin == "inverter" or _in_bms_log(e, log_lines), _every_row) > 0
        )
        if not found:
            continue
        days = sorted(found.dates(zone))
        temps = _temperatures_at(view, found, zone)
        bms = found.gather(lambda e: e.origin == "bms", _no_row) > 0
        origins = {o for o, present in (("bms", bms.any()), ("inverter", (~bms).any())) if present}
        where = " and ".join(
            w for w, o in (("the inverter log", "inverter"), ("the modules' BMS logs", "bms")) if o in origins
        )
        kept = _one_per_time(found)
        verified, fault = found.values("verified"), found.values("fault")
        celsius = temps.celsius[~np.isnan(temps.celsius)]
        at = f", at {celsius.min():.1f} to {celsius.max():.1f} °C where recorded" if celsius.size else ""
        unverified = (
            " (the code rests on an unverified code-table entry)"
            if not all(verified[i] for i in kept)
            else ""
        )
        evidence = [cite.line(found[i].provenance) for i in kept[:3]]
        if celsius.size:  # the most extreme temperature quoted, where it was recorded
            k = temps.extreme(lowest=kind is EventKind.UNDER_TEMPERATURE)
            extreme = _recorded_ref(view, found, temps, k)
            if all((r.source, r.line) != (extreme.source, extreme.line) for r in evidence):
                evidence.append(extreme)
        if len(days) >= MIN_TRIP_DAYS:
            out.append(
                Finding(
                    code=Cause.THERMAL_INTERMITTENT,
                    severity=FindingSeverity.FAULT,
                    module=None,
                    confidence=C.STRONG,
                    message=(
                        f"{len(kept)} {word} alarms in {where} on {len(days)} different days "
                        f"({days[0]} to {days[-1]}{at}){unverified}: the battery's surroundings take it out "
                        f"of its temperature range again and again. This is the environment, not a failing "
                        f"module: {fix}."
                    ),
                    evidence=evidence,
                )
            )
            continue
        fault_seen = any(fault[i] for i in kept)
        why = f"{len(kept)} {word} alarm(s) in {where}{at}" + (
            f" — too few to test for a pattern (needs {MIN_TRIPS} trips on {MIN_TRIP_DAYS} days)"
            if not result.enough
            else " — the trips do not cluster significantly at temperature extremes"
        )
        out.append(
            Finding(
                code=code,
                severity=FindingSeverity.FAULT if fault_seen else FindingSeverity.WARNING,
                module=None,
                confidence=C.FAIR if fault_seen else C.EVEN,
                message=f"{why}{unverified}. {fix[0].upper()}{fix[1:]}; re-check after the next cold/hot "
                "spell with the battery temperature logged.",
                evidence=evidence,
            )
        )
    return out


SHORT_LOG_DAYS: Final = 7
"""days: a log with trips that spans less than this and cannot be tested is too short, not quiet: ask for
weeks (tool parameter [U]; a month with two trips is rare trouble, a morning with two is unknown)."""


def too_short(view: CaseView) -> str | None:
    """Why the inverter log's trips cannot be tested for a thermal pattern, when the log is short: it
    spans less than :data:`SHORT_LOG_DAYS` and holds too few trips, trip days or hours
    (:data:`MIN_TRIPS`, :data:`MIN_TRIP_DAYS`, :data:`MIN_EXPOSURE_HOURS`). None otherwise.

    Evidence not supplied is not evidence of health: a log of one morning with two comms trips says
    nothing about whether they come every cold morning (found by cutting the cold-mornings example's
    month of log to its first day: monitor, and no word that the log was too short to judge).
    """
    import numpy as np

    trips = view.events.where(EventQuery(kinds=TRIP_KINDS, exact=True, not_info=True, origin="inverter"))
    if not trips:
        return None
    zone = ZoneInfo(view.timezone)
    first, last = _span(view, zone, np.empty(0, dtype=np.int64))
    hours = (last - first) // 3600 + 1
    days = int(np.unique(trips.local_ordinals(zone)).size)
    if hours >= SHORT_LOG_DAYS * 24 or (
        len(trips) >= MIN_TRIPS and days >= MIN_TRIP_DAYS and hours >= MIN_EXPOSURE_HOURS
    ):
        return None
    return (
        f"{len(trips)} trip(s) on {days} day(s) over {hours} h of log: too little to tell whether the trips "
        f"follow cold mornings, hot afternoons or neither (the test needs at least {MIN_TRIPS} trips on "
        f"{MIN_TRIP_DAYS} days over {MIN_EXPOSURE_HOURS} h)"
    )
