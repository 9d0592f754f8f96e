"""Live-capture benchmark (not a timed test): a 16-module emulated stack paced at 115200 baud.

In the same run:

* ``pylondiag.acquire`` captures the whole stack (``pwr``, then ``pwr N``/``bat N``/``soh N``/
  ``stat N``/``info N`` per module, ``pwrsys``, ``time``, ``stat``, the paged ``log``, ``data event``)
  from the emulator (``pylondiag sim serve`` in its own process, as a stack is its own device) over
  TCP, the emulator sending at the real console rate (115200 baud, 8N1);
* the wire time of those bytes is computed: bytes exchanged (both directions) ÷ 11,520 bytes/s;
* the ratio capture time ÷ wire time is printed (target ≤ 1.25: no idle waits beyond the console's
  own answer time), and the console's own answer time (command sent → first byte back, here the
  emulator's compute and scheduling latency) with the ratio net of it;
* the Python heap peak (tracemalloc, the capture process only) of captures of an 8- and a 16-module
  stack: memory stays flat (the transcript streams to disk; only the module list grows).

Usage: ``.venv/bin/python bench/capture.py [--modules 16] [--baud 115200]``
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pylondiag.acquire import ConsoleSession
from pylondiag.acquire.capture import run_capture
from pylondiag.sim.scenarios.catalogue import build

BYTES_PER_S = 11_520
"""115200 baud, 10 bits a byte (8N1)."""


def seed_of(n: int) -> int:
    """A seed of the ``healthy`` scenario whose stack has ``n`` modules."""
    for seed in range(10_000):
        if len(build("healthy", seed).modules) == n:
            return seed
    raise SystemExit(f"no healthy scenario seed gives {n} modules")


@contextmanager
def emulator(n: int, baud: int) -> Iterator[str]:
    """The console emulator in its own process (as a real stack is its own device), paced at ``baud``."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pylondiag.cli",
            "sim",
            "serve",
            "--scenario",
            "healthy",
            "--seed",
            str(seed_of(n)),
            "--tcp",
            "127.0.0.1:0",
            "--baud-pace",
            "--baud",
            str(baud),
            "--no-wakeup",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        port = re.search(r":(\d+)\s*$", line)
        if not port:
            raise SystemExit(f"emulator did not start: {line!r}")
        yield f"socket://127.0.0.1:{port.group(1)}"
    finally:
        proc.terminate()
        proc.wait(10)


def capture_once(url: str, out: Path) -> tuple[float, int, int, int, float, float]:
    """(capture seconds, bytes in, bytes out, Python heap peak in bytes, the console's own answer time
    in seconds: from each command sent to its first byte back, this side's idle time in seconds: from
    the end of each answer to the next command) of one capture."""
    with ConsoleSession.open(url) as session:
        session.link.bytes_in = session.link.bytes_out = 0  # count the capture, not the detection
        session.link.idle_s = 0.0
        tracemalloc.start()
        t0 = time.perf_counter()
        result = run_capture(session, out, port=url)
        elapsed = time.perf_counter() - t0
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        if result.gaps:
            print("gaps:", result.gaps, file=sys.stderr)
        return (
            elapsed,
            session.link.bytes_in,
            session.link.bytes_out,
            peak,
            session.answer_wait_s,
            session.link.idle_s,
        )


def run(n: int, baud: int) -> tuple[float, int, int, int, float, float]:
    with emulator(n, baud) as url, tempfile.TemporaryDirectory() as d:
        return capture_once(url, Path(d) / "case")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--modules", type=int, default=16)
    ap.add_argument("--baud", type=int, default=115200)
    args = ap.parse_args()
    print("load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    elapsed, bin_, bout, peak, answer_s, idle_s = run(args.modules, args.baud)
    wire = (bin_ + bout) / (args.baud / 10)
    print(f"{args.modules}-module stack at {args.baud} baud (emulator in its own process)")
    print(f"  bytes exchanged : {bin_ + bout} ({bin_} in, {bout} out)")
    print(f"  capture time    : {elapsed:.2f} s")
    print(f"  wire time       : {wire:.2f} s  (bytes ÷ {args.baud // 10} B/s)")
    print(f"  ratio           : {elapsed / wire:.3f}  (target ≤ 1.25)")
    print(
        f"  console's answer time (command sent → first byte back, all commands): {answer_s:.2f} s; "
        f"ratio without it {(elapsed - answer_s) / wire:.3f}"
    )
    print(
        f"  capture's own idle time (answer end → next command, incl. the 5 ms pause): {idle_s:.2f} s "
        f"= {idle_s / wire:.3f} of the wire time; the rest is the emulator's pacing under this load"
    )
    half = max(2, args.modules // 2)
    p_half = run(half, args.baud)[3]
    print(
        f"  heap peak       : {p_half / 1e6:.2f} MB ({half} modules) vs {peak / 1e6:.2f} MB "
        f"({args.modules} modules), ratio {peak / p_half:.2f}"
    )
    print("load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
