"""Bus benchmark (not a timed test): a day of CAN and a day of RS485 polls, decoded, against a same-run
baseline.

CAN: a ``candump -l`` file of one day at six frames a second (the battery's 0x351/0x355/0x356/0x359/0x35C/
0x35E set once a second, values drifting, a protection episode in the afternoon): 518,400 lines. Timed, in
the same run, on the same bytes:

* baseline — python-can's own ``CanutilsLogReader`` merely reading the file into ``can.Message`` objects;
* ``iter_can`` — our reader: parse every line and decode every frame with cantools (the shipped DBC);
* ``read_can_case`` — the whole case step: decode + the facts (requests, flags, alarm episodes, counts, link).

RS485: one poll round every 10 s for a day (``FF`` 0x42 and 0x44 of a 4-module stack, with requests;
34,560 lines, timestamps and direction). Baseline: reading the lines and hex-decoding each frame
(``bytes.fromhex``); python-can has no RS485 reader. Timed: ``read_rs485`` (checksums + construct payloads)
and ``read_rs485_case``.

Prints frames/s and the ratio to the baseline (target: decoding ≤ 3x reading). CPU time (``process_time``),
best of ``--repeat`` runs. Usage: ``.venv/bin/python bench/bus.py [--seconds 86400] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import io
import math
import os
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

import can

from pylondiag.casedir.bus import read_can_case, read_rs485_case
from pylondiag.evidence.can import CanLog, encode, iter_can
from pylondiag.evidence.rs485 import Frame, encode_frame, encode_payload, read_rs485
from pylondiag.evidence.rs485.payloads import AlarmModule, AlarmReply, AnalogModule, AnalogReply

T0 = 1_764_892_800.0  # 2025-12-05 00:00 UTC
NL = b"\n"


def can_day(seconds: int) -> bytes:
    out = io.StringIO()
    for s in range(seconds):
        t = T0 + s
        soc = 50 + 40 * math.sin(s / 86400 * 2 * math.pi)
        prot = b"\x04" if 50_000 <= s < 50_600 else b"\x00"
        frames = (
            (0x351, encode(0x351, {"ChargeVoltageLimit": 53.2, "ChargeCurrentLimit": 150.0 if soc < 90 else 30.0,  # noqa: E501
                                   "DischargeCurrentLimit": 300.0, "DischargeVoltageLimit": 45.0})),
            (0x355, encode(0x355, {"StateOfCharge": round(soc), "StateOfHealth": 97}, dlc=4)),
            (0x356, encode(0x356, {"StackVoltage": 50.0 + soc / 50, "StackCurrent": -20.0 + (s % 400) / 10,
                                   "Temperature": 20.0 + (s % 3600) / 3600})),
            (0x359, prot + b"\x00\x00\x00\x04PN"),
            (0x35C, b"\xc0\x00"),
            (0x35E, b"PYLON   "),
        )  # fmt: skip
        for j, (arb, data) in enumerate(frames):
            out.write(f"({t + 0.002 * j:.6f}) can0 {arb:03X}#{data.hex().upper()}\n")
    return out.getvalue().encode()


def rs485_day(seconds: int, every: int = 10) -> bytes:
    mods = 4
    out = io.StringIO()
    req42 = encode_frame(Frame(0x20, 2, 0x46, 0x42, b"\xff")).decode().strip()
    req44 = encode_frame(Frame(0x20, 2, 0x46, 0x44, b"\xff")).decode().strip()
    alarm = AlarmReply(
        0x11, mods, (AlarmModule((0,) * 15, (0,) * 5, 0, 0, 0, (0, 0x0E, 0x40, 0, 0)),) * mods, True
    )
    rep44 = encode_frame(Frame(0x20, 2, 0x46, 0, encode_payload(alarm))).decode().strip()
    from datetime import datetime

    for s in range(0, seconds, every):
        t = datetime.fromtimestamp(T0 + s, ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S")
        cells = tuple(3300 + (s // 60 + c) % 7 for c in range(15))
        module = AnalogModule(cells, (21.0,) * 5, -5.0, sum(cells), 40000, 74000, 100, 4)
        rep42 = encode_frame(
            Frame(0x20, 2, 0x46, 0, encode_payload(AnalogReply(0x11, mods, (module,) * mods, True)))
        )
        out.write(
            f"{t}.000 > {req42}\n{t}.040 < {rep42.decode().strip()}\n{t}.100 > {req44}\n{t}.140 < {rep44}\n"
        )
    return out.getvalue().encode()


def best(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    times = []
    n = 0
    for _ in range(repeat):
        t = time.process_time()
        n = fn()
        times.append(time.process_time() - t)
    return min(times), n


def python_can_read(data: bytes) -> int:
    return sum(1 for _ in can.CanutilsLogReader(io.StringIO(data.decode())))


def ours_decode(data: bytes) -> int:
    return sum(1 for _ in iter_can(data, CanLog("can/day.log")))


def ours_case(data: bytes) -> int:
    facts, _ = read_can_case(data, "can/day.log")
    return facts.links[0].frames


def hex_read(data: bytes) -> int:
    n = 0
    for line in data.decode().splitlines():
        bytes.fromhex(line[line.index("~") + 1 :])
        n += 1
    return n


def rs485_decode(data: bytes) -> int:
    return len(read_rs485(data, "rs485/day.txt").records)


def rs485_case(data: bytes) -> int:
    facts, _, _, _ = read_rs485_case(data, "rs485/day.txt", ZoneInfo("UTC"))
    return facts.links[0].frames


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=86400)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    canb = can_day(a.seconds)
    print(f"CAN: {len(canb) / 1e6:.1f} MB, {canb.count(NL)} frames")
    base, n = best(lambda: python_can_read(canb), a.repeat)
    print(f"  python-can CanutilsLogReader (read only) {base:7.2f} s  {n / base:10,.0f} frames/s  1.00x")
    for label, fn in (
        ("iter_can (parse + cantools decode)", ours_decode),
        ("read_can_case (decode + facts)", ours_case),
    ):
        t, m = best(lambda fn=fn: fn(canb), a.repeat)
        print(f"  {label:38s} {t:7.2f} s  {m / t:10,.0f} frames/s  {t / base:.2f}x")
    rsb = rs485_day(a.seconds)
    print(f"RS485: {len(rsb) / 1e6:.1f} MB, {rsb.count(NL)} frames")
    base, n = best(lambda: hex_read(rsb), a.repeat)
    print(f"  lines + bytes.fromhex (read only)      {base:7.2f} s  {n / base:10,.0f} frames/s  1.00x")
    for label, fn in (
        ("read_rs485 (checksums + construct)", rs485_decode),
        ("read_rs485_case (+ pwr/bat facts)", rs485_case),
    ):
        t, m = best(lambda fn=fn: fn(rsb), a.repeat)
        print(f"  {label:38s} {t:7.2f} s  {m / t:10,.0f} frames/s  {t / base:.2f}x")


if __name__ == "__main__":
    main()
