"""Charts: the right kind for the data, readable at 16 modules, clean inline SVG."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import report_samples as samples

from pylondiag.model.console import Provenance
from pylondiag.model.event import BatteryEvent, EventKind, Severity
from pylondiag.report import charts
from pylondiag.report.data import CellReading, CounterSet, TempReading


def reading(pos: int, volts: tuple[int, ...], bal: tuple[bool, ...] = ()) -> CellReading:
    return CellReading(
        position=pos,
        voltages_mv=volts,
        balancing=bal or (False,) * len(volts),
        cell_ids=tuple(range(len(volts))),
    )


def assert_clean_svg(svg: str) -> None:
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg
    assert "http" not in svg
    assert 'class="chart"' in svg and 'viewBox="' in svg
    assert "<image" not in svg, "heatmaps are vector cells, not embedded rasters"


def test_few_modules_get_bars_with_spread_and_the_low_cell_marked() -> None:
    readings = {p: reading(p, samples.healthy(p)) for p in (1, 2)}
    readings[3] = reading(3, samples.REAL_IMBALANCE_MV, samples.REAL_BAL)
    chart = charts.cell_voltage_chart(readings, models={3: "US3000C"}, culprits=[3])
    assert chart is not None
    assert chart.title == "Cell voltages per module"
    assert_clean_svg(chart.svg)
    assert "spread 124 mV" in chart.svg
    assert "Position 3 · US3000C" in chart.svg
    assert charts.LOW in chart.svg, "the lowest cell of the imbalanced module is coloured"
    assert "balancing (BAL=Y)" in chart.svg


def test_many_modules_switch_to_the_heatmap() -> None:
    n = charts.MAX_BAR_MODULES + 1
    readings = {p: reading(p, samples.healthy(p)) for p in range(1, n + 1)}
    readings[5] = reading(5, samples.REAL_IMBALANCE_MV, samples.REAL_BAL)
    chart = charts.cell_voltage_chart(readings, culprits=[5])
    assert chart is not None
    assert "heatmap" in chart.title
    assert_clean_svg(chart.svg)
    for v in samples.REAL_IMBALANCE_MV:
        assert f">{v}<" in chart.svg, f"cell value {v} written in its heatmap cell"
    assert "124 mV" in chart.svg  # the spread column
    assert f"{n} modules" in chart.caption


def test_exactly_the_bar_limit_still_draws_bars() -> None:
    readings = {p: reading(p, samples.healthy(p)) for p in range(1, charts.MAX_BAR_MODULES + 1)}
    chart = charts.cell_voltage_chart(readings)
    assert chart is not None and chart.title == "Cell voltages per module"


def test_nothing_to_draw_gives_none() -> None:
    assert charts.cell_voltage_chart({}) is None
    assert charts.cell_voltage_chart({1: reading(1, ())}) is None
    assert charts.temperature_chart([]) is None
    assert charts.event_timeline([]) is None
    assert charts.counter_chart([]) is None
    assert charts.counter_chart([CounterSet(1, {"Charge Times": 5, "Bat HV Times": 0})]) is None


def test_protection_level_drawn_only_near_the_cells() -> None:
    near = charts.cell_voltage_chart({1: reading(1, (3400,) * 14 + (3620,))}, models={1: "US5000"})
    far = charts.cell_voltage_chart({1: reading(1, (3300,) * 15)}, models={1: "US5000"})
    assert near is not None and far is not None
    assert near.svg.count(charts.PROTECT) > far.svg.count(charts.PROTECT)


def temp(pos: int, t: datetime | None, c: float) -> TempReading:
    mc = int(c * 1000)
    return TempReading(position=pos, time=t, bms_mc=mc, cell_low_mc=mc - 1000, cell_high_mc=mc + 1000)


def test_temperatures_as_ranges_or_over_time() -> None:
    one = charts.temperature_chart([temp(1, None, 20), temp(2, None, 24)])
    assert one is not None and one.title == "Temperatures"
    start = datetime(2026, 1, 1, tzinfo=UTC)
    series = charts.temperature_chart(
        [temp(1, start + timedelta(hours=h), 5 + h) for h in range(5)], culprits=[1]
    )
    assert series is not None and series.title == "Temperatures over time"
    assert "pos 1" in series.svg


def event(
    i: int, t: datetime, kind: EventKind = EventKind.UNDER_TEMPERATURE, temp_c: float | None = None
) -> BatteryEvent:
    return BatteryEvent(
        time=t,
        origin="inverter",
        kind=kind,
        severity=Severity.FAULT,
        temperature_c=temp_c,
        provenance=Provenance(source="inverter/log.csv", line=i + 2),
    )


def test_timeline_rings_cited_events_and_overlays_temperature_only_when_asked() -> None:
    start = datetime(2026, 1, 1, 6, tzinfo=UTC)
    evs = [event(i, start + timedelta(days=i), temp_c=-2.0 + i) for i in range(10)]
    cited = [("inverter/log.csv", 2), ("inverter/log.csv", 3)]
    plain = charts.event_timeline(evs, cited=cited)
    hot = charts.event_timeline(evs, cited=cited, overlay_temperature=True)
    assert plain is not None and hot is not None
    assert "2 events cited by the findings" in plain.caption
    assert "Temperature" not in plain.caption and "°C" not in plain.svg
    assert "Temperature (orange, right axis)" in hot.caption
    assert "°C" in hot.svg


def test_a_year_of_events_is_binned_and_stays_small() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    evs = [event(i, start + timedelta(hours=i * 1.75), temp_c=5.0) for i in range(5000)]
    chart = charts.event_timeline(evs, overlay_temperature=True)
    assert chart is not None
    assert "too many to draw one by one" in chart.caption
    assert "per 4 days" in chart.caption  # 365 days / 120 bins
    assert len(chart.svg) < 300_000
    assert "daily min–max" in chart.svg


def test_counters_skip_activity_counts_and_show_protections() -> None:
    sets = [
        CounterSet(1, {"Charge Times": 26076, "Bat HV Times": 25, "COC Times": 0, "CYCLE Times": 600}),
        CounterSet(2, {"Charge Times": 100, "Bat HV Times": 0, "COC Times": 2}),
    ]
    chart = charts.counter_chart(sets, culprits=[1])
    assert chart is not None
    assert "Bat HV Times" in chart.svg and "COC Times" in chart.svg
    assert "Charge Times" not in chart.svg and "CYCLE Times" not in chart.svg
    assert ">25<" in chart.svg


def test_chart_ids_do_not_collide_between_charts() -> None:
    d, data = samples.big_stack()
    from pylondiag.report.html import build_charts

    built = build_charts(d, data, set(d.culprit_modules))
    ids = [i for c in built for i in re.findall(r'\sid="([^"]+)"', c.svg)]
    assert len(ids) == len(set(ids))


def test_events_at_one_moment_get_a_readable_window() -> None:
    t = datetime(2026, 11, 20, 7, 12, tzinfo=UTC)
    chart = charts.event_timeline([event(i, t) for i in range(3)])
    assert chart is not None
    assert "07:" in chart.svg or "06:" in chart.svg, "tick labels in hours, not years"
    assert ">2028<" not in chart.svg


def test_caption_names_the_reference_levels_of_each_model_family() -> None:
    readings = {1: reading(1, samples.healthy(1)), 2: reading(2, samples.healthy(2))}
    chart = charts.cell_voltage_chart(readings, models={1: "US2000C", 2: "US5000"})
    assert chart is not None
    assert "US2000 class alarm 3.55/3.05 V, protection 3.70/2.90 V" in chart.caption
    assert "US5000 alarm 3.55/3.05 V, protection 3.65/2.80 V" in chart.caption


def test_heatmap_copes_with_modules_of_different_cell_counts() -> None:
    readings = {p: reading(p, samples.healthy(p)) for p in range(1, 8)}
    readings[8] = reading(8, (3300,) * 16)  # a 16-cell module in the same stack
    readings[9] = CellReading(position=9, voltages_mv=(3300, None, 3310), balancing=(False, None, True))
    chart = charts.cell_voltage_chart(readings)
    assert chart is not None and "heatmap" in chart.title
    assert ">15<" in chart.svg  # the 16th cell's column


def test_bars_cope_with_a_cell_the_console_printed_as_dash() -> None:
    chart = charts.cell_voltage_chart(
        {1: CellReading(position=1, voltages_mv=(3300, None, 3360), balancing=())}
    )
    assert chart is not None
    assert "spread 60 mV" in chart.svg


def test_a_temperature_reported_twice_is_drawn_once():
    """The case reader copies each event's own temperature into the case's series: one reading, one point."""
    from datetime import UTC, datetime

    from pylondiag.model.console import Provenance
    from pylondiag.model.event import BatteryEvent, EventKind
    from pylondiag.report.charts import TemperaturePoint, _temperature_points
    from pylondiag.report.data import EventArrays

    t = datetime(2026, 11, 18, 6, 40, tzinfo=UTC)
    ev = BatteryEvent(
        time=t,
        origin="inverter",
        kind=EventKind.UNDER_TEMPERATURE,
        temperature_c=-2.0,
        provenance=Provenance(source="inverter/e.csv", line=2),
    )
    later = TemperaturePoint(datetime(2026, 11, 18, 7, 40, tzinfo=UTC), 1.0)
    time_us, celsius = _temperature_points(EventArrays.of_events([ev]), [TemperaturePoint(t, -2.0), later])
    walls = time_us.astype("datetime64[us]").tolist()
    assert list(zip(walls, celsius.tolist(), strict=True)) == [
        (t.replace(tzinfo=None), -2.0),
        (later.time.replace(tzinfo=None), 1.0),
    ]


def test_evidence_text_is_drawn_as_plain_text_never_as_a_formula() -> None:
    """Console and case.yaml text such as ``$\\frac{$`` is not mathtext (issue 15 item 6): it used to raise
    in the chart library and break every report of the case."""
    hostile = "$\\frac{$ 50$ and $x^$"
    readings = {1: replace(reading(1, samples.healthy(1)), base_state=hostile, soc_pct=50)}
    chart = charts.cell_voltage_chart(readings, models={1: "$US3000C_{$"})
    assert chart is not None
    assert "$\\frac{$ 50$ and $x^$" in chart.svg and "$US3000C_{$" in chart.svg
