"""``pylondiag watch PORT --module N [--every 10m] [--hold 8h] --out CASE_DIR``: follow a rebalancing hold.

The stack is held at 100 % (the owner leaves the inverter charging at the BMS voltage). Every
``--every`` the watch reads ``pwr N`` and ``bat N`` through :mod:`pylondiag.acquire` (read-only) and
keeps each reading as its own console transcript, ``console/watch-mN-<time>.txt`` (timestamped, so
``diagnose`` and the report read them as a series). After each reading the diagnosis rule
:mod:`pylondiag.diagnosis.rebalance_watch` judges the series; the watch ends when the spread is at the
target (balanced), when it stops improving (not converging: a weak cell), or at the hold limit
(hold longer). The verdict and its figures go into ``case.yaml`` as ``history: rebalance_cycle``.
A watch started again on the same CASE_DIR continues the same series.

Exit codes: 0 = a verdict; 2 = no console / bad options; 3 = the stack stopped answering (the series so
far and its verdict are kept); 130 = Ctrl-C (likewise).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer

from pylondiag.cli_output import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_UNUSABLE,
    say,
    show_progress,
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 60.0}
WATCH_PREFIX = "pylondiag watch, module"


def parse_duration(text: str) -> float:
    """``10m`` / ``8h`` / ``90s`` / ``1.5h`` → seconds (a bare number is minutes). Raises ValueError."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a duration like 10m, 8h or 90s")
    seconds = float(m.group(1)) * _UNIT_S[m.group(2)]
    if seconds <= 0:
        raise ValueError(f"{text!r} must be more than zero")
    return seconds


@dataclass
class WatchResult:
    verdict: Any = None
    readings: int = 0
    new_readings: int = 0
    stopped: str | None = None
    interrupted: bool = False
    files: list[Path] = field(default_factory=list)


def _reading_of(path: Path, module: int) -> Any:
    """The ``bat N`` reading in one watch transcript (None when it holds none)."""
    from pylondiag.diagnosis.rebalance_watch import HoldReading
    from pylondiag.evidence.console import read_console
    from pylondiag.model.console import BatTable

    try:
        cap = read_console(path.read_bytes(), path.name)
    except Exception:  # an unreadable reading is left out of the series, not fatal
        return None
    for r in cap.records:
        if isinstance(r, BatTable) and r.address == module and cap.captured_at is not None:
            volts = [c.voltage_mv for c in sorted(r.cells, key=lambda c: c.cell)]
            if not volts or any(v is None for v in volts):
                return None
            socs = [c.soc_pct for c in r.cells if c.soc_pct is not None]
            return HoldReading(
                cap.captured_at, tuple(v for v in volts if v is not None), min(socs) if socs else None
            )
    return None


def series_files(out: Path, module: int) -> list[Path]:
    return sorted((out / "console").glob(f"watch-m{module}-*.txt"))


def run_watch(
    session: Any,
    out: Path,
    *,
    module: int,
    every_s: float,
    hold_s: float,
    port: str,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] | None = None,
) -> WatchResult:
    """Read, judge, record, until a verdict ends the watch. ``clock`` gives the reading times (the
    stack's time scale); ``sleep`` waits between readings (wall clock)."""
    from pylondiag.acquire.capture import Transcript
    from pylondiag.acquire.session import NoAnswer
    from pylondiag.diagnosis.rebalance_watch import judge

    (out / "console").mkdir(parents=True, exist_ok=True)
    result = WatchResult()
    readings = [r for r in (_reading_of(p, module) for p in series_files(out, module)) if r is not None]
    try:
        while True:
            t = clock()
            path = out / "console" / f"watch-m{module}-{t:%Y%m%d-%H%M%S}.txt"
            transcript = Transcript(path, [f"pylondiag watch of module {module} from {port}"])
            try:
                for command in (f"pwr {module}", f"bat {module}"):
                    transcript.write(session.read(command))
            except NoAnswer as exc:
                result.stopped = f"the stack stopped answering ({exc.reason})"
            finally:
                transcript.close()
            reading = _reading_of(path, module)
            if reading is not None:
                readings.append(reading)
                result.new_readings += 1
            if result.stopped:
                break
            elapsed = (clock() - readings[0].time).total_seconds() if readings else 0.0
            verdict = judge(readings, hold_limit_h=hold_s / 3600)
            result.verdict = verdict
            _record(out, module, verdict, readings, port)
            if progress is not None:
                progress(_progress_text(verdict))
            if verdict.verdict != "hold_longer" or elapsed >= hold_s:
                break
            sleep(every_s)
    except KeyboardInterrupt:
        result.stopped = "interrupted (Ctrl-C)"
        result.interrupted = True
    if readings:
        result.verdict = judge(readings, hold_limit_h=hold_s / 3600)
        _record(out, module, result.verdict, readings, port)
    result.readings = len(readings)
    return result


def _progress_text(v: Any) -> str:
    spread = "-" if v.end_spread_mv is None else f"{v.end_spread_mv} mV"
    return f"{v.readings} reading(s), {v.hours:.1f} h, spread {spread}: {v.verdict.replace('_', ' ')}"


def _record(out: Path, module: int, verdict: Any, readings: list[Any], port: str) -> None:
    """Write the verdict into ``case.yaml`` as ``history: rebalance_cycle`` (replacing this module's
    earlier watch entry); a ``case.yaml`` the owner wrote keeps everything else."""
    import yaml

    path = out / "case.yaml"
    doc: dict[str, Any]
    if path.exists():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc = loaded if isinstance(loaded, dict) else {"schema": "pylondiag.case/1"}
    else:
        doc = {
            "schema": "pylondiag.case/1",
            "case_id": out.resolve().name,
            "notes": f"Rebalancing hold followed live by `pylondiag watch` from {port}.",
        }
    first: date = min(r.time for r in readings).date() if readings else date.today()
    entry = {"date": first.isoformat(), "event": "rebalance_cycle", "detail": verdict.detail(module)}
    history = [
        h
        for h in doc.get("history") or []
        if not (isinstance(h, dict) and str(h.get("detail", "")).startswith(f"{WATCH_PREFIX} {module}:"))
    ]
    doc["history"] = [*history, entry]
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    tmp.replace(path)


def watch_cmd(
    port: str = typer.Argument(
        ..., help="Serial port or URL: /dev/ttyUSB0, socket://HOST:PORT, rfc2217://..."
    ),
    module: int = typer.Option(..., "--module", min=1, max=16, help="BMS address of the module to follow."),
    out: Path = typer.Option(  # noqa: B008
        ..., "--out", help="Case directory (created; a second run continues the series)."
    ),
    every: str = typer.Option("10m", "--every", help="Interval between readings, e.g. 10m."),
    hold: str = typer.Option("8h", "--hold", help="Longest hold to follow, e.g. 8h."),
    time_scale: float = typer.Option(
        1.0,
        "--time-scale",
        help="For an emulator run faster than life: waits shrink and times stretch by this.",
    ),
    timeout: float = typer.Option(3.0, "--timeout", help="Seconds of silence before an answer is retried."),
) -> None:
    """Follow a rebalancing hold on one module: balanced / hold longer / not converging (weak cell)."""
    raise typer.Exit(run_watch_cli(port, module, out, every, hold, time_scale, timeout))


def run_watch_cli(
    port: str, module: int, out: Path, every: str, hold: str, time_scale: float, timeout: float
) -> int:
    from pylondiag.extras import MissingExtra, require

    try:
        require("bus", "pylondiag watch")
    except MissingExtra as exc:
        say(f"error: {exc}")
        return EXIT_UNUSABLE
    from pylondiag.acquire import ConsoleSession, NoConsole, PortUnavailable

    try:
        every_s, hold_s = parse_duration(every), parse_duration(hold)
    except ValueError as exc:
        say(f"error: {exc}.")
        return EXIT_UNUSABLE
    if time_scale <= 0:
        say("error: --time-scale must be more than zero.")
        return EXIT_UNUSABLE
    if out.exists() and not out.is_dir():
        say(f"error: {out} exists and is not a directory.")
        return EXIT_UNUSABLE
    t0_wall, t0 = time.monotonic(), datetime.now().replace(microsecond=0)

    def clock() -> datetime:
        from datetime import timedelta

        return (t0 + timedelta(seconds=(time.monotonic() - t0_wall) * time_scale)).replace(microsecond=0)

    try:
        session = ConsoleSession.open(port, timeout_s=timeout, clock=clock)
    except PortUnavailable as exc:
        say(f"error: {exc.message}. Nothing was written.")
        return EXIT_UNUSABLE
    except NoConsole as exc:
        say(f"error: {port}: {exc.message}")
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    try:
        result = run_watch(
            session,
            out,
            module=module,
            every_s=every_s,
            hold_s=hold_s,
            port=port,
            clock=clock,
            sleep=lambda s: time.sleep(s / time_scale),
            progress=say if show_progress() else None,
        )
    finally:
        session.close()
    return _summary(result, module)


def _summary(result: WatchResult, module: int) -> int:
    v = result.verdict
    if v is not None:
        say(f"module {module}: {v.detail(module)}")
        say(_owner_words(v.verdict))
    if result.interrupted:
        say("stopped by Ctrl-C: the readings so far are kept; run the same command again to continue.")
        return EXIT_INTERRUPTED
    if result.stopped:
        say(f"watch stopped: {result.stopped}. The readings so far are kept; run again to continue.")
        return EXIT_UNAVAILABLE
    return EXIT_OK


def _owner_words(verdict: str) -> str:
    return {
        "balanced": "Balanced: the cells have come back together; the stack can go back to normal use.",
        "hold_longer": "Still improving: keep the stack at 100 % longer and run the watch again.",
        "not_converging": (
            "Not converging: one cell stays behind however long the stack is held - a weak cell; "
            "the module needs replacing."
        ),
    }.get(verdict, verdict)
