"""The report's charts: matplotlib drawn to static SVG, inlined in the HTML (and so in the PDF).

One plotting library for every chart. Text stays text (``svg.fonttype = none``, DejaVu Sans), ids are
salted per chart so several charts can share one HTML page, and nothing in the SVG points outside it.
Every function returns a :class:`Chart` or None when there is nothing to draw.
"""

from __future__ import annotations

import io
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Final

import matplotlib
import numpy as np
import numpy.typing as npt
import PIL.Image
from matplotlib import dates as mdates
from matplotlib.artist import Artist, allow_rasterization
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.colors import BoundaryNorm, to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import IdentityTransform

from pylondiag.model.columns import KIND_INDEX, KINDS, SEVERITY_INDEX
from pylondiag.model.event import EventKind, Severity
from pylondiag.report.data import (
    TEMP_DETAIL_LIMIT,
    CellReading,
    CounterSet,
    EventArrays,
    EventLike,
    TempReading,
)
from pylondiag.report.levels import CHARGE_TEMP_MAX_C, CHARGE_TEMP_MIN_C, CellLevels, cell_levels

RENDER_LOCK: Final = threading.RLock()
"""Held while charts are drawn: ``matplotlib.rc_context`` changes process-wide settings, and the web
service renders reports from several threads."""

MAX_BAR_MODULES: Final = 6
"""More modules than this and per-module bar charts become unreadable: draw the stack heatmap instead."""
HEATMAP_CLIP_MV: Final = 50
"""Colour scale of the heatmap: deviation from the module's median cell, clipped at ±50 mV."""
EVENT_DETAIL_LIMIT: Final = 600
"""More events than this and the timeline shows counts per bin and kind instead of single markers."""
MAX_EVENT_BINS: Final = 120
"""At most this many time bins when events are counted (a year → 4-day bins): bounds the SVG's size."""
COUNT_CLASSES: Final = (((1, 1), 7.0), ((2, 3), 16.0), ((4, 9), 30.0), ((10, 29), 50.0), ((30, 10**9), 80.0))
"""Binned event counts → marker area (pt²): 1, 2–3, 4–9, 10–29, 30 or more."""
MIN_TIMELINE_SPAN: Final = timedelta(hours=2)
"""The timeline shows at least this much time, centred on the events (else one instant spans years)."""
HIGHLIGHT_SPREAD_MV: Final = 15
"""Colour the lowest/highest cell only when the spread is at least this (below it, every module has ties)."""
MIN_SERIES_POINTS: Final = 3
"""A module needs this many timed ``pwr`` readings before temperatures are drawn over time."""
PROTECT_NEAR_MV: Final = 100
"""Protection levels are drawn when a cell is within this many mV of them (else they squash the bars)."""

INK: Final = "#1f2933"
MUTED: Final = "#7b8794"
BAR: Final = "#5b7db1"
LOW: Final = "#d9822b"
HIGH: Final = "#8e44ad"
ALARM: Final = "#e0a100"
PROTECT: Final = "#c0392b"
CULPRIT: Final = "#c0392b"
CULPRIT_STYLES: Final = ("-", "--", ":", "-.")
SEVERITY_COLOUR: Final[dict[Severity, str]] = {
    Severity.FAULT: "#c0392b",
    Severity.WARNING: "#e0a100",
    Severity.INFO: "#7b8794",
}

_RC: Final[Any] = {
    "text.parse_math": False,  # evidence text is text: `$\\frac{$` in a console line is not a formula
    "text.usetex": False,
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "axes.titlesize": 8.5,
    "axes.titleweight": "bold",
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.image_inline": True,
}


PNG_DPI: Final = 144
"""Resolution of the PNG charts in the PDF (1.5 image pixels per CSS pixel; the ``<img>`` says so with
``image-resolution``, so a chart prints at the size of its SVG): the 5.3 pt cell values of the heatmap
are ~11 pixels high, sharp when printed at 100 %."""


class Chart:
    """One chart: a title and a one-line caption (both plain text) and its drawing, made from one
    matplotlib figure on first use: inline SVG for the HTML page (:attr:`svg`) and a PNG for the PDF
    (:meth:`png`). WeasyPrint draws an inline SVG element by element (the 16-module heatmap alone has
    ~550 text and path elements) and places a PNG at once, so the PDF takes the PNG."""

    __slots__ = ("_fig", "_png", "_svg", "caption", "height_px", "key", "label", "title", "width_px")

    def __init__(self, key: str, title: str, caption: str, fig: Figure, label: str) -> None:
        self.key = key
        self.title = title
        self.caption = caption
        self.label = label
        """What the chart shows, in a few words (the SVG's ``aria-label``, the PNG's ``alt``)."""
        width_in, height_in = fig.get_size_inches()
        self.width_px = float(width_in) * 96
        """Size in CSS pixels (96 per inch), as the SVG is sized."""
        self.height_px = float(height_in) * 96
        self._fig: Figure | None = fig
        self._svg: str | None = None
        self._png: bytes | None = None

    @property
    def svg(self) -> str:
        """Inline ``<svg>`` markup (drawn once)."""
        with RENDER_LOCK:
            if self._svg is None:
                self._svg = to_svg(self._figure(), self.key, self.label)
                self._drawn()
            return self._svg

    def png(self) -> bytes:
        """The chart as PNG at :data:`PNG_DPI` (drawn once)."""
        with RENDER_LOCK:
            if self._png is None:
                self._png = to_png(self._figure(), self.key)
                self._drawn()
            return self._png

    @property
    def done(self) -> bool:
        """Both drawings are made (and the figure released)."""
        return self._fig is None

    def _figure(self) -> Figure:
        assert self._fig is not None
        return self._fig

    def _drawn(self) -> None:
        fig = self._figure()
        if self._svg is not None and self._png is not None:
            self._fig = None  # both drawn: the figure is not needed any more
        else:
            # The layout is solved: the second drawing keeps it (without an engine, savefig draws once
            # instead of once to solve the layout and once more to render).
            _drop_layout_engine(fig)


def _drop_layout_engine(fig: Figure) -> None:
    """Keep the figure's axes where they are now: no layout engine any more."""
    with matplotlib.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)


# ------------------------------------------------------------------ SVG output
_ID_RE: Final = re.compile(r'\sid="([^"]+)"')
_REF_RE: Final = re.compile(r"#([A-Za-z_][\w.-]*)")


def to_svg(fig: Figure, key: str, label: str) -> str:
    """The figure as an inline ``<svg>`` element: no XML prolog, no namespaces, no unused ids."""
    buf = io.StringIO()
    with matplotlib.rc_context(_salted(key)):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", svg)
    svg = re.sub(r"<defs>\s*<style[^<]*</style>\s*</defs>", "", svg)
    svg = svg.replace("<svg", f'<svg class="chart" role="img" aria-label="{_attr(label)}"', 1)
    referenced = set(_REF_RE.findall(svg))
    svg = _ID_RE.sub(lambda m: m.group(0) if m.group(1) in referenced else "", svg)
    # Path data: drop the line breaks matplotlib puts between commands (smaller file, same drawing).
    svg = re.sub(r" \n(?=[LMCQZz] |z)", " ", svg)
    return svg.strip()


def to_png(fig: Figure, key: str) -> bytes:
    """The figure as an RGB PNG at :data:`PNG_DPI` (no alpha channel, no metadata).

    Without alpha: WeasyPrint splits an RGBA PNG into colour and mask and compresses both again; an RGB
    one it compresses once. Every pixel is opaque (the figure's white background), so nothing is lost.
    Compressed lightly: WeasyPrint compresses it again for the PDF anyway."""
    buf = io.BytesIO()
    with matplotlib.rc_context(_salted(key)):
        _solve_layout(fig, PNG_DPI)
        fig.savefig(buf, format="rgba", dpi=PNG_DPI)
    width_in, height_in = fig.get_size_inches()
    size = (int(width_in * PNG_DPI), int(height_in * PNG_DPI))
    rgba = PIL.Image.frombuffer("RGBA", size, buf.getvalue(), "raw", "RGBA", 0, 1)
    out = io.BytesIO()
    rgba.convert("RGB").save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _solve_layout(fig: Figure, dpi: float) -> None:
    """Solve the figure's layout (constrained) for an Agg drawing at ``dpi`` and drop the engine.

    What savefig does itself, without its extra pass: with a layout engine it draws the whole figure
    once with drawing disabled (~30 % of a chart's PNG) only to run the engine, then draws it again.
    The engine measures text with the same Agg renderer at the same dpi either way, so the axes land
    on the same pixels."""
    engine = fig.get_layout_engine()
    if engine is None:
        return
    FigureCanvasAgg(fig)  # the engine measures text with the canvas' renderer (Agg at the figure's dpi)
    figure_dpi = fig.dpi
    fig.dpi = dpi
    try:
        engine.execute(fig)
    finally:
        fig.dpi = figure_dpi
    _drop_layout_engine(fig)


def _salted(key: str) -> Any:
    return {**_RC, "svg.hashsalt": f"pylondiag-{key}"}


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _figure(width_in: float, height_in: float) -> Figure:
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width_in, height_in), layout="constrained")


# ------------------------------------------------------------------ cell values
class CellLabels(Artist):
    """Short labels centred on grid cells (a heatmap's values: ~300 of them on a 16-module stack), as one
    artist: ``cells`` are (x, y, label, colour) in data coordinates, all of one font ``size`` (points).

    In vector output (the SVG) each is ordinary text (a ``Text`` made when drawn). In a raster drawing
    (the PDF's PNG) each distinct label, colour and size is rendered once (:func:`_stamp`) and copied to
    every cell that shows it, at the nearest whole pixel — at most half a pixel (1/288 inch at
    :data:`PNG_DPI`) from where ``Text`` puts it. Agg otherwise lays out and rasterises every glyph of
    every label, ~0.2 s for the heatmap; and one artist instead of one ``Text`` per cell saves making
    ~300 of them for a drawing that does not use them (~0.03 s)."""

    zorder = 3  # where Text is drawn

    def __init__(self, cells: Sequence[tuple[float, float, str, str]], *, size: float) -> None:
        super().__init__()
        self.cells = tuple(cells)
        self._font = FontProperties(size=size)  # the family of the charts' rc settings (_RC)
        self.set_in_layout(False)  # inside their cells: the layout need not measure them

    def texts(self) -> list[Text]:
        """The labels as matplotlib draws text (the SVG's)."""
        figure = self.get_figure(root=False)
        texts = []
        for x, y, label, colour in self.cells:
            text = Text(x, y, label, color=colour, fontproperties=self._font, ha="center", va="center")
            text.set_parse_math(False)  # a number, never a formula
            text.set_clip_on(False)
            if figure is not None:
                text.set_figure(figure)
            text.set_transform(self.get_transform())
            texts.append(text)
        return texts

    @allow_rasterization  # type: ignore[untyped-decorator]
    def draw(self, renderer: RendererBase) -> None:
        """Draw as text, or in Agg as the cached image of each label."""
        if not self.get_visible():
            return
        if not isinstance(renderer, RendererAgg):
            for text in self.texts():
                text.draw(renderer)
            return
        figure = self.get_figure(root=True)
        assert figure is not None
        centres = self.get_transform().transform([(x, y) for x, y, _, _ in self.cells])
        gc = renderer.new_gc()
        for (_, _, label, colour), (cx, cy) in zip(self.cells, centres, strict=True):
            if label:
                pixels, left, bottom = _stamp(label, to_rgba(colour), self._font, figure.dpi)
                renderer.draw_image(gc, round(cx) + left, round(cy) + bottom, pixels)
        gc.restore()


@lru_cache(maxsize=512)
def _stamp(
    text: str, colour: tuple[float, float, float, float], font: FontProperties, dpi: float
) -> tuple[Any, int, int]:
    """``text`` centred on a whole pixel of a transparent Agg canvas, as Text draws it: the RGBA pixels
    of the part with ink (bottom row first, as ``draw_image`` takes them), and their left and bottom edge
    relative to the centre (pixels)."""
    size = int(font.get_size_in_points() * dpi / 72 * (len(text) + 2)) // 2 * 2 + 2
    canvas = RendererAgg(size, size, dpi)  # type: ignore[no-untyped-call]
    label = Text(size / 2, size / 2, text, color=colour, fontproperties=font, ha="center", va="center")
    label.set_transform(IdentityTransform())
    label.set_figure(Figure(dpi=dpi))
    label.draw(canvas)
    rgba = np.asarray(canvas.buffer_rgba())  # type: ignore[no-untyped-call]
    rows, cols = np.nonzero(rgba[:, :, 3])
    if not len(rows):
        return np.zeros((1, 1, 4), np.uint8), 0, 0
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    pixels = np.ascontiguousarray(rgba[top:bottom, left:right][::-1])
    return pixels, int(left) - size // 2, size // 2 - int(bottom)


# ------------------------------------------------------------------ cell voltages
def cell_voltage_chart(
    readings: Mapping[int, CellReading],
    *,
    models: Mapping[int, str | None] | None = None,
    culprits: Iterable[int] = (),
) -> Chart | None:
    """Per-module cell-voltage bars (≤ 6 modules) or the stack heatmap (more), from ``bat N`` tables."""
    usable = {p: r for p, r in sorted(readings.items()) if any(v is not None for v in r.voltages_mv)}
    if not usable:
        return None
    models = models or {}
    culprit_set = set(culprits)
    if len(usable) > MAX_BAR_MODULES:
        return _cell_heatmap(usable, culprit_set)
    return _cell_bars(usable, models, culprit_set)


def _cell_bars(
    readings: Mapping[int, CellReading], models: Mapping[int, str | None], culprits: set[int]
) -> Chart:
    n = len(readings)
    cols = 1 if n == 1 else 2
    rows = (n + cols - 1) // cols
    with matplotlib.rc_context(_RC):
        fig = _figure(7.2, 2.3 * rows)
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        for ax, (pos, reading) in zip(axes.flat, readings.items(), strict=False):
            _one_module_bars(ax, pos, reading, models.get(pos), pos in culprits)
        fig.legend(
            handles=[
                Line2D([], [], color=ALARM, ls="--", lw=1, label="alarm level"),
                Line2D([], [], color=PROTECT, ls="-", lw=1, label="protection level"),
                Line2D([], [], color=LOW, marker="s", ls="", label="lowest cell"),
                Line2D([], [], color=HIGH, marker="s", ls="", label="highest cell"),
                Line2D([], [], color=INK, marker="v", ls="", ms=4, label="balancing (BAL=Y)"),
            ],
            loc="outside lower center",
            ncols=5,
            frameon=False,
            fontsize=7,
        )
    caption = (
        "Each bar is one cell as the console printed it (index as printed). The shaded band is the "
        "spread between the lowest and highest cell; dashed lines are the model's alarm levels, solid "
        "lines its protection levels (drawn when a cell comes near them). Reference levels: "
        + "; ".join(_levels_text(cell_levels(models.get(p))) for p in _distinct_families(readings, models))
        + " (Pylontech's published levels; the 3.55 V alarm level is not confirmed by a datasheet)."
    )
    return Chart("cells", "Cell voltages per module", caption, fig, "Cell voltages per module")


def _distinct_families(readings: Mapping[int, CellReading], models: Mapping[int, str | None]) -> list[int]:
    """One position per model family present, in position order (for the caption's reference levels)."""
    seen: dict[str, int] = {}
    for pos in readings:
        seen.setdefault(cell_levels(models.get(pos)).family, pos)
    return list(seen.values())


def _levels_text(levels: CellLevels) -> str:
    return (
        f"{levels.family} alarm {levels.high_alarm_mv / 1000:.2f}/{levels.low_alarm_mv / 1000:.2f} V, "
        f"protection {levels.over_protect_mv / 1000:.2f}/{levels.under_protect_mv / 1000:.2f} V"
    )


def _one_module_bars(ax: Axes, pos: int, reading: CellReading, model: str | None, culprit: bool) -> None:
    levels = cell_levels(model)
    ids = reading.cell_ids or tuple(range(len(reading.voltages_mv)))
    volts = [v for v in reading.voltages_mv if v is not None]
    lo, hi = min(volts), max(volts)
    mark = hi - lo >= HIGHLIGHT_SPREAD_MV
    colours = [LOW if mark and v == lo else HIGH if mark and v == hi else BAR for v in reading.voltages_mv]
    heights = [v if v is not None else np.nan for v in reading.voltages_mv]
    bottom = min(lo - 40, levels.low_alarm_mv - 30)
    top = max(hi + 40, levels.high_alarm_mv + 30)
    if lo - levels.under_protect_mv < PROTECT_NEAR_MV:
        bottom = min(bottom, levels.under_protect_mv - 30)
    if levels.over_protect_mv - hi < PROTECT_NEAR_MV:
        top = max(top, levels.over_protect_mv + 30)
    x = np.arange(len(heights))
    ax.bar(x, [h - bottom for h in heights], bottom=bottom, color=colours, width=0.75)
    ax.axhspan(lo, hi, color=HIGH, alpha=0.08, lw=0)
    for level, colour, style in (
        (levels.high_alarm_mv, ALARM, "--"),
        (levels.low_alarm_mv, ALARM, "--"),
        (levels.over_protect_mv, PROTECT, "-"),
        (levels.under_protect_mv, PROTECT, "-"),
    ):
        if bottom <= level <= top:
            ax.axhline(level, color=colour, ls=style, lw=0.9)
    bal_x = [i for i, b in enumerate(reading.balancing) if b]
    if bal_x:
        ax.plot(bal_x, [hi + 15] * len(bal_x), "v", color=INK, ms=3.5)
    ax.set_ylim(bottom, top)
    ax.set_xticks(x, [str(i) for i in ids], fontsize=6.5)
    ax.set_ylabel("mV")
    ax.tick_params(axis="y", labelsize=7)
    head = f"Position {pos}" + (f" · {model}" if model else "") + f" · spread {hi - lo} mV"
    state = [f"SOC {reading.soc_pct}%"] if reading.soc_pct is not None else []
    if reading.base_state:
        state.append(reading.base_state)
    if reading.current_ma:
        state.append(f"{reading.current_ma / 1000:+.1f} A")
    ax.set_title(head, color=CULPRIT if culprit else INK, loc="left", fontsize=8)
    if state:
        ax.text(
            1.0,
            1.01,
            " · ".join(state),
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=6.5,
            color=MUTED,
        )
    if culprit:
        for spine in ax.spines.values():
            spine.set_color(CULPRIT)
            spine.set_linewidth(1.4)


def _cell_heatmap(readings: Mapping[int, CellReading], culprits: set[int]) -> Chart:
    positions = list(readings)
    width = max(len(r.voltages_mv) for r in readings.values())
    volts = np.full((len(positions), width), np.nan)
    dev = np.full((len(positions), width), np.nan)
    for row, pos in enumerate(positions):
        vals = np.array([np.nan if v is None else v for v in readings[pos].voltages_mv], dtype=float)
        volts[row, : len(vals)] = vals
        dev[row, : len(vals)] = vals - np.nanmedian(vals)
    with matplotlib.rc_context(_RC):
        fig = _figure(7.6, 0.9 + 0.3 * len(positions))
        ax = fig.subplots()
        # Discrete 10 mV steps: easier to read than a continuous scale, and a vector colour bar.
        norm = BoundaryNorm(np.arange(-HEATMAP_CLIP_MV, HEATMAP_CLIP_MV + 1, 10), ncolors=256)
        img = _grid(ax, np.clip(dev, -HEATMAP_CLIP_MV + 0.1, HEATMAP_CLIP_MV - 0.1), cmap="RdBu_r", norm=norm)
        values: list[tuple[float, float, str, str]] = []
        for r, pos in enumerate(positions):
            reading = readings[pos]
            for c, v in enumerate(volts[r]):
                if np.isnan(v):
                    continue
                strong = abs(dev[r, c]) > HEATMAP_CLIP_MV * 0.6
                values.append((c, r, f"{int(v)}", "white" if strong else INK))
            for c, flag in enumerate(reading.balancing):
                if flag:
                    ax.plot(c + 0.36, r - 0.3, "v", color=INK, ms=2.2)
        ax.add_artist(CellLabels(values, size=5.3))
        longest = max(readings.values(), key=lambda r: len(r.voltages_mv))
        ids = longest.cell_ids if len(longest.cell_ids) == width else tuple(range(width))
        ax.set_xticks(range(width), [str(i) for i in ids], fontsize=6.5)
        ax.set_xlabel("cell (index as printed)")
        ax.set_yticks(range(len(positions)), [f"pos {p}" for p in positions], fontsize=6.5)
        for label, pos in zip(ax.get_yticklabels(), positions, strict=True):
            if pos in culprits:
                label.set_color(CULPRIT)
                label.set_fontweight("bold")
        spreads = [readings[p].spread_mv for p in positions]
        ax2 = ax.secondary_yaxis("right")
        ax2.set_yticks(
            range(len(positions)), [f"{s} mV" if s is not None else "–" for s in spreads], fontsize=6.5
        )
        ax2.set_ylabel("spread")
        ax.spines[:].set_visible(False)
        ax.tick_params(length=0)
        bar = fig.colorbar(img, ax=ax, location="bottom", shrink=0.5, aspect=40, pad=0.02)
        if bar.solids is not None:
            bar.solids.set_rasterized(False)  # vector, like the rest: no embedded PNG
        bar.set_label("mV from the module's median cell", fontsize=7)
        bar.ax.tick_params(labelsize=6.5)
    caption = (
        f"{len(positions)} modules: one row per module (position), one column per cell, value in mV. "
        "Colour is the distance from that module's median cell (red above, blue below); ▾ marks a "
        "balancing cell (BAL=Y); the right-hand column gives each module's spread."
    )
    return Chart("cells", "Cell voltages — stack heatmap", caption, fig, "Cell voltage heatmap")


def _grid(ax: Axes, values: Any, **kwargs: Any) -> Any:
    """A heatmap as vector cells (no embedded raster), row 0 at the top, cell (r, c) centred on (c, r)."""
    rows, cols = values.shape
    mesh = ax.pcolormesh(
        np.arange(cols + 1) - 0.5,
        np.arange(rows + 1) - 0.5,
        np.ma.masked_invalid(values),
        edgecolors="white",
        linewidth=0.6,
        **kwargs,
    )
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    return mesh


# ------------------------------------------------------------------ temperatures
def temperature_chart(temps: Sequence[TempReading], *, culprits: Iterable[int] = ()) -> Chart | None:
    """Module temperatures from ``pwr`` rows: a time series when there are several snapshots, else ranges."""
    usable = [t for t in temps if _celsius(t.cell_low_mc, t.cell_high_mc, t.bms_mc, t.mos_mc)]
    if not usable:
        return None
    culprit_set = set(culprits)
    times: dict[int, set[datetime]] = defaultdict(set)
    for t in usable:
        if t.time is not None:
            times[t.position].add(t.time)
    if max((len(v) for v in times.values()), default=0) >= MIN_SERIES_POINTS:
        return _temperature_series(usable, culprit_set)
    latest: dict[int, TempReading] = {}
    for t in usable:
        latest[t.position] = t
    return _temperature_ranges(dict(sorted(latest.items())), culprit_set)


def _celsius(*values: int | None) -> list[float]:
    return [v / 1000 for v in values if v is not None]


def _temperature_ranges(latest: Mapping[int, TempReading], culprits: set[int]) -> Chart:
    positions = list(latest)
    with matplotlib.rc_context(_RC):
        fig = _figure(7.2, 2.4)
        ax = fig.subplots()
        x = np.arange(len(positions))
        for i, pos in enumerate(positions):
            t = latest[pos]
            colour = CULPRIT if pos in culprits else BAR
            if t.cell_low_mc is not None and t.cell_high_mc is not None:
                ax.vlines(i, t.cell_low_mc / 1000, t.cell_high_mc / 1000, color=colour, lw=5, alpha=0.7)
            if t.bms_mc is not None:
                ax.plot(i, t.bms_mc / 1000, "o", color=INK, ms=3.5)
            if t.mos_mc is not None:
                ax.plot(i, t.mos_mc / 1000, "x", color=HIGH, ms=4)
        _temp_reference(ax)
        ax.set_xticks(x, [f"pos {p}" for p in positions], fontsize=7)
        ax.set_ylabel("°C")
        ax.set_xlim(-0.7, len(positions) - 0.3)
        ax.legend(
            handles=[
                Line2D([], [], color=BAR, lw=5, alpha=0.7, label="cell range (low–high)"),
                Line2D([], [], color=INK, marker="o", ls="", ms=3.5, label="BMS temperature"),
                Line2D([], [], color=HIGH, marker="x", ls="", ms=4, label="MOSFET"),
                Line2D([], [], color=PROTECT, ls=":", lw=1, label="charge window 0–50 °C"),
            ],
            fontsize=6.5,
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
        )
    caption = "Latest pwr reading per module: cell temperature range, BMS and MOSFET temperature."
    return Chart("temps", "Temperatures", caption, fig, "Module temperatures")


def _temperature_series(temps: Sequence[TempReading], culprits: set[int]) -> Chart:
    series: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    for t in temps:
        if t.time is None:
            continue
        values = _celsius(t.cell_high_mc, t.bms_mc)
        if values:
            series[t.position].append((t.time, values[0]))
    with matplotlib.rc_context(_RC):
        fig = _figure(7.2, 2.5)
        ax = fig.subplots()
        for pos, points in sorted(series.items()):
            points.sort()
            xs, ys = zip(*points, strict=True)
            culprit = pos in culprits
            style = CULPRIT_STYLES[sorted(culprits).index(pos) % len(CULPRIT_STYLES)] if culprit else "-"
            ax.plot(
                xs,
                ys,
                ls=style,
                color=CULPRIT if culprit else BAR,
                lw=1.4 if culprit else 0.7,
                alpha=1.0 if culprit else 0.55,
                label=f"pos {pos}" if culprit else None,
            )
        _temp_reference(ax)
        _date_axis(ax)
        ax.set_ylabel("°C (highest cell)")
        if any(p in culprits for p in series):
            ax.legend(fontsize=6.5, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    caption = (
        f"Highest cell temperature of each module over time ({len(series)} modules); culprit modules in red, "
        "dotted lines at the 0–50 °C charge window."
    )
    return Chart("temps", "Temperatures over time", caption, fig, "Module temperatures over time")


def _temp_reference(ax: Axes) -> None:
    lo, hi = ax.get_ylim()
    for level in (CHARGE_TEMP_MIN_C, CHARGE_TEMP_MAX_C):
        if lo - 8 <= level <= hi + 8:
            ax.axhline(level, color=PROTECT, ls=":", lw=1)


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.tick_params(axis="x", labelsize=7)


# ------------------------------------------------------------------ rebalancing hold
WATCH_SOURCE: Final = "watch-m"
"""Readings written by ``pylondiag watch`` (``console/watch-mN-<time>.txt``): one module followed
through a rebalancing hold."""
HOLD_TARGET_MV: Final = 50
"""The hold's target spread, drawn as a line (diagnosis.thresholds.CELL_SPREAD_WARN_MV; the watch's
"balanced" line)."""


def rebalance_chart(cells: Sequence[CellReading]) -> Chart | None:
    """Each cell's voltage and the spread over a rebalancing hold, for each module ``watch`` followed."""
    series: dict[int, list[CellReading]] = defaultdict(list)
    for r in cells:
        if r.time is not None and WATCH_SOURCE in r.source and all(v is not None for v in r.voltages_mv):
            series[r.position].append(r)
    series = {p: sorted(rs, key=lambda r: r.time or datetime.min) for p, rs in series.items() if len(rs) >= 2}
    if not series:
        return None
    with matplotlib.rc_context(_RC):
        fig = _figure(7.2, 1.9 * len(series) + 1.4)
        axes = fig.subplots(2 * len(series), 1, sharex=True, height_ratios=[3, 1.6] * len(series))
        for k, (pos, rs) in enumerate(sorted(series.items())):
            _hold_panels(axes[2 * k], axes[2 * k + 1], pos, rs)
        _date_axis(axes[-1])
    mods = ", ".join(f"position {p}" for p in sorted(series))
    caption = (
        f"Rebalancing hold of {mods}: every cell's voltage at each reading (the lowest cell in orange) and "
        f"the spread between the highest and lowest cell; the dotted line is the {HOLD_TARGET_MV} mV target."
    )
    return Chart("rebalance", "Rebalancing hold", caption, fig, "Cell voltages over the hold")


def _hold_panels(ax: Axes, ax_spread: Axes, pos: int, rs: Sequence[CellReading]) -> None:
    times = _num([_naive(r.time) for r in rs])
    volts = np.array([[v or 0 for v in r.voltages_mv] for r in rs], dtype=float)
    low = int(np.argmin(volts[-1]))
    for c in range(volts.shape[1]):
        ax.plot(
            times,
            volts[:, c],
            color=LOW if c == low else BAR,
            lw=1.4 if c == low else 0.6,
            alpha=1.0 if c == low else 0.6,
            label=f"cell {c} (lowest)" if c == low else None,
        )
    ax.set_ylabel("cell mV")
    ax.set_title(f"Position {pos}", loc="left")
    ax.legend(fontsize=6.5, frameon=False, loc="lower right")
    spread = volts.max(axis=1) - volts.min(axis=1)
    ax_spread.plot(times, spread, color=INK, lw=1.2, marker="o", ms=2)
    ax_spread.axhline(HOLD_TARGET_MV, color=PROTECT, ls=":", lw=1)
    ax_spread.set_ylabel("spread mV")
    ax_spread.set_ylim(bottom=0)


# ------------------------------------------------------------------ events
@dataclass(frozen=True)
class TemperaturePoint:
    time: datetime
    celsius: float


def event_timeline(
    events: Sequence[EventLike] | EventArrays,
    *,
    cited: Iterable[tuple[str, int]] = (),
    temperatures: Sequence[TemperaturePoint] = (),
    overlay_temperature: bool = False,
    temperature_readings: int = 0,
) -> Chart | None:
    """Events over time, one row per kind, colour by severity, shape by origin.

    ``events``: event objects, or :class:`EventArrays` (an inverter log's rows: drawn from the arrays,
    no object per row). ``cited`` are (source, line) pairs the diagnosis' findings quote: those events
    are ringed and their time span shaded (the cluster a rule found). With ``overlay_temperature`` the
    temperatures (from the events themselves and from ``temperatures``) are drawn on a second axis.
    ``temperature_readings``: how many readings the case's series had when ``temperatures`` holds only
    each day's lowest and highest of them
    (:meth:`~pylondiag.model.columns.TemperatureSeries.daily_extremes`), else 0.
    """
    given = events if isinstance(events, EventArrays) else EventArrays.of_events(events)
    if not len(given):
        return None
    ev = given.take(np.argsort(given.time_us, kind="stable"))  # oldest first, ties in the order given
    times = ev.time_us.astype("datetime64[us]")
    kinds = sorted({KINDS[k].value for k in np.unique(ev.kind).tolist()}, key=lambda k: (k == "other", k))
    row_of = np.zeros(len(KINDS), dtype=np.int64)
    row_of[[KIND_INDEX[EventKind(k)] for k in kinds]] = np.arange(len(kinds))
    rows = row_of[ev.kind]
    first, last = _wall(ev.time_us[0]), _wall(ev.time_us[-1])
    aggregated = len(ev) > EVENT_DETAIL_LIMIT
    bin_days = _bin_days(first, last)
    with matplotlib.rc_context(_RC):
        fig = _figure(7.2, 1.3 + 0.28 * len(kinds))
        ax = fig.subplots()
        if aggregated:
            _events_binned(ax, ev, rows, bin_days)
        else:
            for bms, marker in ((True, "s"), (False, "o")):
                for sev, colour in SEVERITY_COLOUR.items():
                    pts = (ev.bms == bms) & (ev.severity == SEVERITY_INDEX[sev])
                    if pts.any():
                        ax.scatter(
                            _num(times[pts]),
                            rows[pts],
                            s=14,
                            marker=marker,
                            color=colour,
                            alpha=0.8,
                            lw=0,
                            clip_on=False,  # markers lie inside the axes; unclipped SVG is far lighter
                        )
        hits = _cited(ev, cited)
        if hits.any():
            xs = _num(times[hits])
            ax.scatter(
                xs,
                rows[hits],
                s=42,
                facecolors="none",
                edgecolors=INK,
                lw=0.9,
                clip_on=False,
            )
            if hits.sum() > 1:
                ax.axvspan(min(xs), max(xs), color=ALARM, alpha=0.12, lw=0)
        ax.set_yticks(range(len(kinds)), [k.replace("_", " ") for k in kinds], fontsize=6.5)
        ax.set_ylim(-0.7, len(kinds) - 0.3)
        if last - first < MIN_TIMELINE_SPAN:  # events at one moment: a readable window around them
            pad = (MIN_TIMELINE_SPAN - (last - first)) / 2
            ax.set_xlim(_num(first - pad), _num(last + pad))
        _date_axis(ax)
        ax.grid(axis="y", color="#e4e7eb", lw=0.6)
        handles = [
            Line2D([], [], color=SEVERITY_COLOUR[Severity.FAULT], marker="o", ls="", label="fault"),
            Line2D([], [], color=SEVERITY_COLOUR[Severity.WARNING], marker="o", ls="", label="warning"),
            Line2D([], [], color=SEVERITY_COLOUR[Severity.INFO], marker="o", ls="", label="info"),
            Line2D([], [], color=MUTED, marker="s", ls="", label="BMS"),
            Line2D([], [], color=MUTED, marker="o", ls="", label="inverter"),
        ]
        if hits.any():
            handles.append(
                Line2D([], [], color=INK, marker="o", mfc="none", ls="", label="cited by a finding")
            )
        temps = _temperature_points(ev, temperatures) if overlay_temperature else _NO_TEMPS
        if len(temps[0]):
            ax_t = ax.twinx()
            ax_t.spines["right"].set_visible(True)
            temp_label = _temperature_overlay(ax_t, *temps, daily=temperature_readings > 0)
            ax.set_zorder(ax_t.get_zorder() + 1)  # events in front of the temperature
            ax.patch.set_visible(False)
            ax_t.set_ylabel("°C", color=LOW)
            ax_t.tick_params(axis="y", colors=LOW, labelsize=7)
            _temp_reference(ax_t)
            handles.append(
                Line2D(
                    [],
                    [],
                    color=LOW,
                    lw=3 if "band" in temp_label or "–" in temp_label else 1,
                    label=temp_label,
                )
            )
        fig.legend(
            handles=handles, loc="outside lower center", ncols=len(handles), frameon=False, fontsize=6.5
        )
    caption = f"{len(ev)} events from {first:%Y-%m-%d} to {last:%Y-%m-%d}"
    if aggregated:
        per = "day" if bin_days == 1 else f"{bin_days} days"
        caption += (
            f" (too many to draw one by one: marker size is the number of events per {per}: "
            "1, 2–3, 4–9, 10–29, 30 or more)"
        )
    caption += "."
    if hits.any():
        caption += f" {int(hits.sum())} events cited by the findings are ringed; their span is shaded."
    if len(temps[0]):
        caption += " Temperature (orange, right axis) is overlaid because a thermal finding was made"
        if temperature_readings or len(temps[0]) > TEMP_DETAIL_LIMIT:
            readings = max(temperature_readings, len(temps[0]))
            caption += f"; of its {readings:,} readings, each day's lowest and highest are drawn, as a band"
        caption += "."
    return Chart("events", "Event timeline", caption, fig, "Event timeline")


_DAY_US: Final = 86_400_000_000
_NO_TEMPS: Final = (np.empty(0, np.int64), np.empty(0))


def _wall(us: Any) -> datetime:
    """A wall-clock time in µs since 1970 as a naive datetime."""
    return _EPOCH + timedelta(microseconds=int(us))


_EPOCH: Final = datetime(1970, 1, 1)


def _cited(ev: EventArrays, cited: Iterable[tuple[str, int]]) -> Any:
    """Mask of the events whose (source, line) a finding quotes."""
    lines_of: dict[str, list[int]] = defaultdict(list)
    for source, line in cited:
        lines_of[source].append(line)
    mask = np.zeros(len(ev), dtype=np.bool_)
    for k, source in enumerate(ev.sources):
        if source in lines_of:
            mask |= (ev.source == k) & np.isin(ev.line, lines_of[source])
    return mask


def _bin_days(first: datetime, last: datetime) -> int:
    """Days per bin so that the span from ``first`` to ``last`` fits in at most ``MAX_EVENT_BINS`` bins
    (1 day up to 90 days)."""
    span = (last - first).days + 1
    return max(1, -(-span // MAX_EVENT_BINS))


def _events_binned(ax: Axes, ev: EventArrays, rows: Any, days: int) -> None:
    """Events counted per (bin of ``days`` days, kind, severity), drawn as one marker sized by the count;
    ``ev`` in time order. Markers in the order their bins first appear."""
    day = ev.time_us // _DAY_US
    start = int(day[0])
    key = (((day - start) // days) * 256 + rows) * 8 + ev.severity
    keys, first, counts = np.unique(key, return_index=True, return_counts=True)
    seen = np.argsort(first, kind="stable")
    keys, counts = keys[seen], counts[seen]
    bins, kind_rows, sevs = keys // 2048, (keys // 8) % 256, keys % 8
    centre = (start + bins * days) * _DAY_US + days * _DAY_US // 2
    for sev in (Severity.INFO, Severity.WARNING, Severity.FAULT):
        mine = sevs == SEVERITY_INDEX[sev]
        # One scatter per size class: matplotlib writes one SVG path per distinct marker size.
        for (low, high), size in COUNT_CLASSES:
            cls = mine & (counts >= low) & (counts <= high)
            if cls.any():
                ax.scatter(
                    _num(centre[cls].astype("datetime64[us]")),
                    kind_rows[cls],
                    s=size,
                    color=SEVERITY_COLOUR[sev],
                    alpha=0.7,
                    lw=0,
                    clip_on=False,  # markers lie inside the axes; unclipped SVG is far lighter
                )


def _temperature_overlay(ax: Axes, time_us: Any, celsius: Any, *, daily: bool = False) -> str:
    """Temperatures (wall-clock µs, °C, in time order) on ``ax``: the samples when few, else (or with
    ``daily``: they are only each day's extremes) the daily min–max band. Returns a legend label."""
    if len(time_us) <= TEMP_DETAIL_LIMIT and not daily:
        ax.plot(_num(time_us.astype("datetime64[us]")), celsius, color=LOW, lw=0.9, marker=".", ms=2)
        return "temperature"
    day = time_us // _DAY_US
    by_day = np.argsort(day, kind="stable")
    days, starts = np.unique(day[by_day], return_index=True)
    values = celsius[by_day]
    xs = _num((days * _DAY_US + _DAY_US // 2).astype("datetime64[us]"))
    lows, highs = np.minimum.reduceat(values, starts), np.maximum.reduceat(values, starts)
    ax.fill_between(xs, lows, highs, color=LOW, alpha=0.3, lw=0, step="mid")
    return "temperature (daily min–max)"


def _temperature_points(ev: EventArrays, extra: Sequence[TemperaturePoint]) -> tuple[Any, Any]:
    """Event temperatures and the case's temperature series as (wall-clock µs, °C) arrays, each
    reading once, in time order (readings at one time in the order given).

    The case reader already copies every event's own temperature into the series, so the same
    reading can arrive from both sides; it is drawn once (same instant, same value).
    """
    own = ~np.isnan(ev.temperature_c)
    us = timedelta(microseconds=1)
    time_us = np.concatenate(
        [ev.time_us[own], np.array([(_naive(p.time) - _EPOCH) // us for p in extra], dtype=np.int64)]
    )
    celsius = np.concatenate([ev.temperature_c[own], np.array([p.celsius for p in extra], dtype=np.float64)])
    if not time_us.size:
        return _NO_TEMPS
    order = np.lexsort((celsius, time_us))  # stable: the first of equal readings leads its run
    same = (time_us[order][1:] == time_us[order][:-1]) & (celsius[order][1:] == celsius[order][:-1])
    once = np.sort(order[np.concatenate(([True], ~same))])  # first of each reading, in the order given
    keep = once[np.argsort(time_us[once], kind="stable")]
    return time_us[keep], celsius[keep]


def _num(times: Sequence[datetime] | datetime | npt.NDArray[Any]) -> Any:
    """Matplotlib date numbers (floats), which its typed API accepts."""
    return mdates.date2num(times)  # type: ignore[no-untyped-call]


def _naive(t: datetime | None) -> datetime:
    """Local wall time for drawing (events already carry the site's offset)."""
    assert t is not None
    return t.replace(tzinfo=None)


# ------------------------------------------------------------------ stat counters
NON_EVENT_COUNTERS: Final = frozenset(
    {
        "Data Items",
        "HisData Items",
        "Charge Cnt.",
        "Discharge Cnt.",
        "Charge Times",
        "Status Cnt.",
        "Idle Times",
        "CYCLE Times",
        "SOH",
        "Pwr Percent",
        "Pwr Coulomb",
        "Dsg Cap",
        "Device address",
    }
)
"""``stat`` labels that count activity or hold a level, not alarm/protection events (HRAB stat [C])."""


def counter_chart(counters: Sequence[CounterSet], *, culprits: Iterable[int] = ()) -> Chart | None:
    """Lifetime ``stat`` alarm/protection counters: a counters × modules grid with the counts written in."""
    latest: dict[int, CounterSet] = {}
    for cs in counters:
        latest[cs.position] = cs
    if not latest:
        return None
    positions = sorted(latest)
    labels = sorted(
        {k for c in latest.values() for k, v in c.counters.items() if v and k not in NON_EVENT_COUNTERS}
    )
    if not labels:
        return None
    grid = np.array([[latest[p].counters.get(k, 0) for p in positions] for k in labels], dtype=float)
    culprit_set = set(culprits)
    with matplotlib.rc_context(_RC):
        fig = _figure(min(7.6, 2.2 + 0.42 * len(positions)), 0.8 + 0.22 * len(labels))
        ax = fig.subplots()
        _grid(ax, np.log1p(grid), cmap="Oranges", vmin=0)
        peak = float(np.log1p(grid.max())) or 1.0
        counts: list[tuple[float, float, str, str]] = []
        for r in range(len(labels)):
            for col in range(len(positions)):
                v = int(grid[r, col])
                dark = np.log1p(v) > peak * 0.6
                counts.append((col, r, str(v), "white" if dark else INK))
        ax.add_artist(CellLabels(counts, size=6))
        ax.set_yticks(range(len(labels)), labels, fontsize=6.5)
        ax.set_xticks(range(len(positions)), [f"pos {p}" for p in positions], fontsize=6.5, rotation=0)
        ax.xaxis.tick_top()
        for label, pos in zip(ax.get_xticklabels(), positions, strict=True):
            if pos in culprit_set:
                label.set_color(CULPRIT)
                label.set_fontweight("bold")
        ax.spines[:].set_visible(False)
        ax.tick_params(length=0)
    caption = "Lifetime alarm and protection counters from stat (only counters that are not zero somewhere)."
    return Chart("counters", "BMS event counters (stat)", caption, fig, "stat counters")
