"""Every reader of user text runs in linear time on adversarial input (issue 15 item 1).

Each case feeds one reader a line built to make a backtracking regex blow up (a token followed by a long
run of one character and an odd character at the end) at 10 kB and at 100 kB. Linear work makes the
second about 10 times the first; the catastrophic patterns these tests were written against took
quadratic (100x) or worse, seconds to minutes at 100 kB. The assertion is on the ratio of times measured
in the same run, never on an absolute time. ``looks_like_*`` / ``sniff`` read only a bounded head, so
their inputs are the adversarial head itself.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pylondiag.casedir import detect
from pylondiag.casedir.caseyaml import parse_case_yaml
from pylondiag.errors import PylondiagError
from pylondiag.evidence.console import looks_like_console, read_console
from pylondiag.evidence.inverter_log import looks_like_inverter_log, read_inverter_log
from pylondiag.service.uploads import safe_relpath

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cases"
CSV = (EXAMPLES / "inv-cold-mornings-deye" / "inverter" / "events.csv").read_text(encoding="utf-8")
HA = (EXAMPLES / "inv-ha-history-goodwe-cold" / "inverter" / "home-assistant-history.csv").read_text(
    encoding="utf-8"
)
CONSOLE = (EXAMPLES / "healthy-us3000c-stack" / "console" / "session.txt").read_text(encoding="utf-8")

SMALL, LARGE = 10_000, 100_000
MAX_RATIO = 40.0
"""Linear is ~10; quadratic is ~100. Allocation-heavy inputs (100 000 tab-separated fields) and a loaded
machine push a linear reader to ~30 at worst with best-of-3 and the garbage collector off."""


def _csv_time(pad: str) -> Callable[[int], object]:
    def run(n: int) -> object:
        cell = "18/11/2026 07:12" + pad * n + "x"
        return read_inverter_log(CSV.replace("2026-11-01 06:41:00", cell, 1).encode(), "e.csv", brand="deye")

    return run


def _csv_named_time(n: int) -> object:
    cell = "18 Nov 2026 07:12" + " " * n + "x"
    return read_inverter_log(CSV.replace("2026-11-01 06:41:00", cell, 1).encode(), "e.csv", brand="deye")


def _csv_message(token: str, pad: str) -> Callable[[int], object]:
    def run(n: int) -> object:
        text = token + pad * n + "x"
        return read_inverter_log(CSV.replace("Battery_comm_warn", text, 1).encode(), "e.csv", brand="deye")

    return run


def _ha_state(n: int) -> object:
    row = HA.splitlines()[1].split(",")
    return read_inverter_log(HA.replace(row[1], '"a' + " " * n + 'x"', 1).encode(), "h.csv")


def _console(pad: str) -> Callable[[int], object]:
    def run(n: int) -> object:
        return read_console((CONSOLE + "pylon>" + pad * n + "x\n").encode(), "c.txt")

    return run


def _sniff(head: str) -> Callable[[int], object]:
    def run(n: int) -> object:
        data = (head * (n // len(head)) + "x").encode()
        return (looks_like_console(data), looks_like_inverter_log(data), detect.sniff(data, "x.txt", None))

    return run


def _case_yaml(n: int) -> object:
    return parse_case_yaml(("schema: pylondiag.case/1\nnotes: 'a" + " " * n + "x'\n").encode())


def _upload_name(n: int) -> object:
    return safe_relpath("console/" + "a" * n + "\x00")


CASES: dict[str, Callable[[int], object]] = {
    "inverter time, spaces": _csv_time(" "),
    "inverter time, tabs": _csv_time("\t"),
    "inverter named time, spaces": _csv_named_time,
    "inverter message, cell____": _csv_message("cell", "_"),
    "inverter message, cleared   ": _csv_message("cleared", " "),
    "inverter message, volt___": _csv_message("volt", "_"),
    "home assistant state, spaces": _ha_state,
    "console, spaces after prompt": _console(" "),
    "console, a> runs": _console("a>"),
    "sniff, blank lines": _sniff("\n"),
    "sniff, spaces": _sniff(" "),
    "sniff, CRLF": _sniff("\r\n"),
    "sniff, @ lines": _sniff("@ \n"),
    "case.yaml, spaces": _case_yaml,
    "upload name": _upload_name,
}


def _best_of(run: Callable[[int], object], n: int, repeat: int = 3) -> float:
    """Best of ``repeat`` timings, the garbage collector off (its passes grow with the objects alive)."""
    best = float("inf")
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            with contextlib.suppress(PylondiagError):  # refusing the input is fine: only its time matters
                run(n)
            best = min(best, time.perf_counter() - start)
    finally:
        gc.enable()
    return best


@pytest.mark.parametrize("name", list(CASES))
def test_reader_is_linear_on_adversarial_input(name: str) -> None:
    run = CASES[name]
    _best_of(run, 100, repeat=1)  # warm caches and imports
    small = max(_best_of(run, SMALL), 1e-3)  # a floor: sub-millisecond timings are mostly noise
    large = _best_of(run, LARGE)
    assert large / small < MAX_RATIO, f"{name}: 10 kB took {small:.4f} s, 100 kB took {large:.4f} s"
