"""Live-capture benchmark (not a timed test): a 16-module emulated stack paced at 115200 baud.

In the same run:

* ``pylondiag.acquire`` captures the whole stack (``pwr``, then ``pwr N``/``bat N``/``soh N``/
  ``stat N``/``info N`` per module, ``pwrsys``, ``time``, ``stat``, the paged ``log``, ``data event``)
  from the emulator over TCP, the emulator sending at the real console rate (115200 baud, 8N1);
* the wire time of those bytes is computed: bytes exchanged (both directions) ÷ 11,520 bytes/s;
* the ratio capture time ÷ wire time is printed (target ≤ 1.25: no idle waits beyond the console's
  own answer time);
* the Python heap peak (tracemalloc) of captures of an 8- and a 16-module stack: memory stays flat
  (the transcript streams to disk; nothing grows with the stack but the module list).

Usage: ``.venv/bin/python bench/capture.py [--modules 16] [--baud 115200]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

from pylondiag.acquire import ConsoleSession
from pylondiag.acquire.capture import run_capture
from pylondiag.sim import serve as srv
from pylondiag.sim.scenarios import simulate
from pylondiag.sim.scenarios.catalogue import build

BYTES_PER_S = 11_520
"""115200 baud, 10 bits a byte (8N1)."""


def stack_of(n: int) -> srv.LiveStack:
    """A healthy US-series stack of ``n`` modules, simulated for one hour (no planned captures)."""
    for seed in range(10_000):
        setup = build("healthy", seed)
        if len(setup.modules) == n:
            setup = replace(setup, hours=1.0, captures=[])
            return srv.LiveStack(simulate(setup, seed))
    raise SystemExit(f"no healthy scenario seed gives {n} modules")


def capture_once(live: srv.LiveStack, baud: int, out: Path) -> tuple[float, int, int]:
    """(capture seconds, bytes in, bytes out) of one capture over TCP, paced at ``baud``."""
    ready = threading.Event()
    ports: list[int] = []
    stop = threading.Event()

    def on_ready(p: int) -> None:
        ports.append(p)
        ready.set()

    t = threading.Thread(
        target=srv.serve_tcp,
        args=(live, "127.0.0.1", 0),
        kwargs={"ready": on_ready, "stop": stop, "pace": baud, "require_wakeup": False},
        daemon=True,
    )
    t.start()
    ready.wait(30)
    url = f"socket://127.0.0.1:{ports[0]}"
    with ConsoleSession.open(url) as session:
        session.link.bytes_in = session.link.bytes_out = 0  # count the capture, not the detection
        t0 = time.perf_counter()
        result = run_capture(session, out, port=url)
        elapsed = time.perf_counter() - t0
        if result.gaps:
            print("gaps:", result.gaps, file=sys.stderr)
        bytes_in, bytes_out = session.link.bytes_in, session.link.bytes_out
    stop.set()
    t.join(5)
    return elapsed, bytes_in, bytes_out


def heap_peak(n: int, baud: int) -> int:
    live = stack_of(n)
    with tempfile.TemporaryDirectory() as d:
        tracemalloc.start()
        capture_once(live, baud, Path(d) / "case")
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--modules", type=int, default=16)
    ap.add_argument("--baud", type=int, default=115200)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    live = stack_of(args.modules)
    with tempfile.TemporaryDirectory() as d:
        elapsed, bin_, bout = capture_once(live, args.baud, Path(d) / "case")
    wire = (bin_ + bout) / (args.baud / 10)
    print(f"{args.modules}-module stack at {args.baud} baud")
    print(f"  bytes exchanged : {bin_ + bout} ({bin_} in, {bout} out)")
    print(f"  capture time    : {elapsed:.2f} s")
    print(f"  wire time       : {wire:.2f} s  (bytes ÷ {args.baud // 10} B/s)")
    print(f"  ratio           : {elapsed / wire:.3f}  (target ≤ 1.25)")
    half = max(2, args.modules // 2)
    p_half, p_full = heap_peak(half, args.baud), heap_peak(args.modules, args.baud)
    print(
        f"  heap peak       : {p_half / 1e6:.2f} MB ({half} modules) vs {p_full / 1e6:.2f} MB "
        f"({args.modules} modules), ratio {p_full / p_half:.2f}"
    )


if __name__ == "__main__":
    main()
