"""What the PDF draws: the charts as PNG images of the figures drawn for the HTML (WeasyPrint lays out a
PNG at once, an inline SVG element by element), and a year of temperatures as each day's range."""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import report_samples
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from pylondiag.model.columns import SeriesOrigin, TemperatureSeries
from pylondiag.report import charts, html, render_html
from pylondiag.report.data import TEMP_DETAIL_LIMIT
from pylondiag.report.view import temperature_points

_IMG = re.compile(
    r'<img class="chart" src="data:image/png;base64,([^"]+)" alt="([^"]+)" width="(\d+)" height="(\d+)"'
)


def test_the_pdf_layout_carries_each_chart_as_a_png_of_the_svg_s_size() -> None:
    diagnosis, data = report_samples.big_stack()
    page = render_html(diagnosis, data)
    printed = render_html(diagnosis, data, png_charts=True)
    assert "<svg" not in printed
    images = _IMG.findall(printed)
    assert len(images) == page.count('<svg class="chart"') >= 3
    for b64, alt, width, height in images:
        png = Image.open(io.BytesIO(base64.b64decode(b64)))
        assert png.format == "PNG" and png.mode == "RGB"  # no alpha: WeasyPrint compresses it once
        # PNG_DPI pixels per inch, and the <img> is as large as the SVG (96 CSS pixels per inch)
        assert abs(png.width - int(width) * charts.PNG_DPI / 96) <= 2
        assert abs(png.height - int(height) * charts.PNG_DPI / 96) <= 2
        assert alt in page  # the SVG's aria-label
    assert f"image-resolution: {charts.PNG_DPI / 96:g}dppx" in printed


def test_a_chart_is_drawn_from_one_figure_and_released_when_both_drawings_exist() -> None:
    diagnosis, data = report_samples.big_stack()
    (first, *_) = html.build_charts(diagnosis, data, set(diagnosis.culprit_modules))
    svg = first.svg
    png = first.png()
    assert first.svg is svg and first.png() is png  # drawn once each
    assert first._fig is None  # the figure is not kept once both drawings exist


def _month_of_minutes() -> TemperatureSeries:
    rng = np.random.default_rng(3)
    n = 30 * 24 * 60
    celsius = np.round(12 + 6 * np.sin(np.arange(n) / 1440 * 2 * np.pi) + rng.normal(0, 1, n), 1)
    celsius[n // 2] = -9.5  # a cold spike of one minute
    return TemperatureSeries(
        zone=ZoneInfo("Europe/London"),
        utc_s=datetime(2026, 1, 5, tzinfo=UTC).timestamp() + 60.0 * np.arange(n),
        celsius=celsius,
        origin=np.zeros(n, dtype=np.int32),
        line=np.arange(2, n + 2, dtype=np.int32),
        origins=(SeriesOrigin("inverter/log.csv", "battery"),),
    )


def test_a_long_series_is_drawn_from_each_day_s_extremes_with_the_same_drawing() -> None:
    series = _month_of_minutes()
    kept = temperature_points(series)
    assert len(series) > TEMP_DETAIL_LIMIT and len(kept) <= 2 * 31
    assert min(c for _, c in kept) == -9.5  # the spike stays
    _, data = report_samples.environment(events=120, days=30)
    every = [charts.TemperaturePoint(t, c) for t, c in series.points()]
    daily = [charts.TemperaturePoint(t, c) for t, c in kept]
    full = charts.event_timeline(data.events, temperatures=every, overlay_temperature=True)
    reduced = charts.event_timeline(
        data.events, temperatures=daily, overlay_temperature=True, temperature_readings=len(series)
    )
    assert full is not None and reduced is not None
    assert reduced.svg == full.svg  # the same band: each day's lowest to highest reading
    assert f"of its {len(series):,} readings, each day's lowest and highest are drawn" in reduced.caption


def test_a_short_series_is_drawn_reading_by_reading() -> None:
    series = _month_of_minutes().take(np.arange(0, 300))
    assert len(temperature_points(series)) == 300


def _agg_pixels(label: Artist) -> np.ndarray:
    """``label`` alone at (0.37, 0.53) of a 1 × 0.5 inch figure, at the PNG's resolution (grey levels)."""
    fig = Figure(figsize=(1, 0.5), dpi=charts.PNG_DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.add_artist(label)
    FigureCanvasAgg(fig).draw()
    return np.asarray(fig.canvas.buffer_rgba())[:, :, :3].astype(float).mean(axis=2)  # type: ignore[attr-defined]


def _blurred(a: np.ndarray) -> np.ndarray:
    """3 × 3 box blur: what is left of a difference in glyph anti-aliasing is small, a misplaced or
    flipped glyph stays."""
    return sum(np.roll(np.roll(a, dy, axis=0), dx, axis=1) for dx in (-1, 0, 1) for dy in (-1, 0, 1)) / 9


def test_a_heatmap_value_in_the_png_is_the_text_matplotlib_draws_within_a_pixel() -> None:
    # Each distinct value is rasterised once and copied (charts.CellLabels); it must land where Text puts
    # it (to the nearest whole pixel) and look the same: not flipped, not offset, not another colour.
    # Measured: 0.15 as drawn; 0.33 with the stamp upside down or one pixel to the right.
    for colour in (charts.INK, "#c0392b"):
        text = Text(0.37, 0.53, "3341", color=colour, fontsize=5.3, ha="center", va="center")
        expected = _agg_pixels(text)
        drawn = _agg_pixels(charts.CellLabels([(0.37, 0.53, "3341", colour)], size=5.3))
        ink = (255 - expected).sum()
        assert ink > 40 * 255
        assert np.abs(_blurred(drawn) - _blurred(expected)).sum() / ink < 0.22


def test_heatmap_values_stay_text_in_the_svg_and_do_not_enter_the_layout() -> None:
    readings = report_samples.big_stack(events=10)[1].latest_cells()
    chart = charts.cell_voltage_chart(readings)
    assert chart is not None and chart._fig is not None
    (values,) = [a for a in chart._fig.axes[0].get_children() if isinstance(a, charts.CellLabels)]
    assert len(values.cells) == sum(v is not None for r in readings.values() for v in r.voltages_mv)
    assert not values.get_in_layout()  # inside their cells: the layout skips them
    svg = chart.svg
    assert svg.count("<text ") >= len(values.cells)
    for text in values.texts()[:20]:
        assert f">{text.get_text()}<" in svg  # ordinary SVG text, as before
