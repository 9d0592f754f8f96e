"""``pylondiag parse FILE... [--format json|text]``: print what the console reader read.

JSON: one document ``{"schema": "pylondiag.console-parse/1", "files": [...], "errors": [...]}`` with every
record (and its provenance) and every warning; for several files, JSON Lines: one such document per file
(its capture or its error), in the order given. ``-`` reads stdin. Text: a rich summary per file. A file
that cannot be read or is not a console capture: a message on stderr and exit status 2 (the others are
still printed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from pylondiag.cli_output import STDIN_LIMIT, progress
from pylondiag.errors import PylondiagError
from pylondiag.evidence.console import read_console
from pylondiag.model.console import (
    BatTable,
    CommandError,
    CommCounters,
    ConsoleCapture,
    EventLog,
    GenericRecord,
    GetPwrRecord,
    HelpRecord,
    InfoRecord,
    PwrDetail,
    PwrSys,
    PwrTable,
    SohTable,
    StatCounters,
    TimeRecord,
)

SCHEMA = "pylondiag.console-parse/1"
KEY_COUNTERS = (
    "CYCLE Times", "SOH", "Bat OV Times", "Bat HV Times", "Bat LV Times", "Bat UV Times", "Pwr OV Times",
    "Pwr HV Times", "SC Times", "Shut Times", "Reset Times", "BMICERR Times", "SOH Times", "Input OV Times",
)  # fmt: skip


def run_parse(files: list[Path], fmt: str) -> int:
    err = Console(stderr=True, soft_wrap=True, highlight=False)  # soft wrap: a path stays on one line
    if fmt not in ("json", "text"):
        err.print(f"[red]error:[/red] --format must be json or text, not {fmt!r}")
        return 2
    if files.count(Path("-")) > 1:
        err.print("[red]error:[/red] `-` (stdin) can be given once")
        return 2
    batch = len(files) > 1
    out = Console(highlight=False)
    failed = False
    captures: list[ConsoleCapture] = []
    errors: list[dict[str, str]] = []
    with progress(len(files) if batch else 0, "parsing") as step:
        for path in files:
            capture, error = _read_one(path)
            step(path.name)
            if error is not None:
                failed = True
                err.print(f"[red]error:[/red] {error['message']}")
            if batch and fmt == "json":  # JSON Lines: one document per file, in the order given
                print(json.dumps(_document([capture] if capture else [], [error] if error else [])))
            elif capture is not None:
                captures.append(capture)
            if error is not None:
                errors.append(error)
    if fmt == "json" and not batch:
        print(json.dumps(_document(captures, errors), indent=1, ensure_ascii=False))
    elif fmt == "text":
        for cap in captures:
            _text(cap, out)
    return 2 if failed else 0


def _read_one(path: Path) -> tuple[ConsoleCapture | None, dict[str, str] | None]:
    """The capture read from ``path`` (``-``: stdin), or the error that stopped it."""
    source = "<stdin>" if path == Path("-") else str(path)
    try:
        data = sys.stdin.buffer.read(STDIN_LIMIT + 1) if path == Path("-") else path.read_bytes()
    except OSError as exc:
        return None, {"source": source, "message": f"{source}: cannot read ({exc.strerror or exc})"}
    if len(data) > STDIN_LIMIT and path == Path("-"):
        return None, {"source": source, "message": f"{source}: over {STDIN_LIMIT} bytes; save it to a file"}
    try:
        return read_console(data, source), None
    except PylondiagError as exc:
        return None, {"source": source, "message": str(exc)}


def _document(captures: list[ConsoleCapture], errors: list[dict[str, str]]) -> dict[str, Any]:
    return {"schema": SCHEMA, "files": [c.model_dump(mode="json") for c in captures], "errors": errors}


def _v(mv: int | None) -> str:
    return "-" if mv is None else f"{mv / 1000:.3f}"


def _t(mc: int | None) -> str:
    return "-" if mc is None else f"{mc / 1000:.1f}"


def _n(x: object) -> str:
    return "-" if x is None else str(x)


def _text(cap: ConsoleCapture, out: Console) -> None:
    when = f", captured {cap.captured_at:%Y-%m-%d %H:%M:%S}" if cap.captured_at else ""
    out.rule(f"[bold]{cap.source}[/bold]")
    out.print(f"{len(cap.records)} record(s), {len(cap.warnings)} warning(s){when}")
    for r in cap.records:
        line = r.provenance.line
        if isinstance(r, PwrTable):
            t = Table(title=f"pwr (line {line}): {sum(not row.absent for row in r.rows)} module(s) present")
            for col in ("addr", "V", "A", "°C", "SOC %", "state", "cell V min", "cell V max", "alarms"):
                t.add_column(col)
            for row in r.rows:
                if row.absent:
                    continue
                states = {row.volt_state, row.curr_state, row.temp_state}
                states |= {row.cell_volt_state, row.cell_temp_state}
                alarms = ", ".join(sorted(s for s in states if s and s != "Normal")) or "-"
                amps = "-" if row.current_ma is None else f"{row.current_ma / 1000:.2f}"
                t.add_row(
                    str(row.address), _v(row.voltage_mv), amps, _t(row.temperature_mc), _n(row.soc_pct),
                    _n(row.base_state), _v(row.cell_voltage_low_mv), _v(row.cell_voltage_high_mv), alarms,
                )  # fmt: skip
            out.print(t)
        elif isinstance(r, BatTable):
            volts = [c.voltage_mv for c in r.cells if c.voltage_mv is not None]
            spread = f", spread {max(volts) - min(volts)} mV" if volts else ""
            off = [c.cell for c in r.cells if c.balancing is False]
            bal = f", BAL N: cells {off}" if off and len(off) < len(r.cells) else ""
            out.print(f"bat {_n(r.address)} (line {line}): {len(r.cells)} cells{spread}{bal}")
            out.print("  mV: " + " ".join(_n(c.voltage_mv) for c in r.cells))
        elif isinstance(r, StatCounters):
            shown = ", ".join(f"{k} {r.counters[k]}" for k in KEY_COUNTERS if k in r.counters)
            out.print(f"stat {_n(r.address)} (line {line}): {len(r.counters)} counters; {shown}")
        elif isinstance(r, InfoRecord):
            out.print(
                f"info (line {line}): address {_n(r.address)}, {_n(r.device_name)}, firmware "
                f"{_n(r.main_soft_version)}, board {_n(r.board_version)}, barcode {_n(r.barcode)}"
            )
        elif isinstance(r, PwrDetail):
            out.print(
                f"pwr {_n(r.address)} (line {line}): {_v(r.voltage_mv)} V, {_n(r.current_ma)} mA, "
                f"{_t(r.temperature_mc)} °C, SOC {_n(r.soc_pct)} %, {_n(r.basic_status)}, "
                f"events bat {_n(r.bat_events)} power {_n(r.power_events)} {' '.join(r.power_event_names)}"
            )
        elif isinstance(r, SohTable):
            bad = [c.cell for c in r.cells if c.soh_status not in (None, "Normal")]
            out.print(f"soh {_n(r.address)} (line {line}): {len(r.cells)} cells, abnormal: {bad or 'none'}")
        elif isinstance(r, PwrSys):
            out.print(
                f"pwrsys (line {line}): system {_n(r.system_state)}, {_n(r.present_num)}/{_n(r.total_num)} "
                f"present, SOC {_n(r.system_soc_pct)} %, SOH {_n(r.system_soh_pct)} %"
            )
        elif isinstance(r, TimeRecord):
            out.print(f"time (line {line}): {_n(r.time)}")
        elif isinstance(r, EventLog):
            out.print(f"{r.command} (line {line}): {len(r.entries)} entries")
            for e in r.entries[:10]:
                out.print(f"  {_n(e.index)} {_n(e.time)} {_n(e.code)} {e.info or e.raw.strip()}")
        elif isinstance(r, GetPwrRecord):
            out.print(f"getpwr (line {line}): {_v(r.voltage_mv)} V, {len(r.cells)} cells")
        elif isinstance(r, HelpRecord):
            out.print(f"help (line {line}): {len(r.commands)} commands")
        elif isinstance(r, CommCounters):
            out.print(f"ci (line {line}): {len(r.counters)} counters, modules seen {_n(r.exist_pack_num)}")
        elif isinstance(r, CommandError):
            out.print(f"[yellow]{r.command}[/yellow] (line {line}): {r.message}")
        elif isinstance(r, GenericRecord):
            out.print(f"{r.command} (line {line}): {len(r.fields)} field(s), {len(r.lines)} other line(s)")
    for w in cap.warnings:
        out.print(f"[yellow]warning[/yellow] {w.source}:{w.line}: {w.message}")
