"""CAN: every frame of ``samples_can_public_sources.txt`` decodes to the values the notes give (read in
place); encode → decode round trips for every DBC message; arbitrary bytes never raise."""

from __future__ import annotations

import re
from pathlib import Path

import can
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pylondiag.evidence.can import CanDecoded, CanIssue, database, decode, encode, read_can
from shared_paths import SHARED

SAMPLES = SHARED / "domain" / "protocols" / "samples_can_public_sources.txt"
SETTINGS = settings(max_examples=150, deadline=None)


def _samples() -> list[tuple[str, int, bytes]]:
    """(source heading, id, data) for every frame line, in the four notations the file uses."""
    if not SAMPLES.exists():
        pytest.skip(f"{SAMPLES} not found")
    out: list[tuple[str, int, bytes]] = []
    section = ""
    for line in SAMPLES.read_text().splitlines():
        if line.startswith("# Source"):
            section = line
        if line.startswith("#") or not line.strip():
            continue
        m = (
            re.match(r"ID: (\w+) Buffer: (.*)", line)
            or re.match(r"0x(\w+) - (.*)", line)
            or re.match(r"Standard ID: 0x(\w+)\s+DLC: \d+\s+Data: (.*)", line)
            or re.match(r"CANId=0x(\w+), FrameLength=\d+, Data=(.*)", line)
        )
        assert m, line
        data = bytes(int(t, 16) for t in m.group(2).replace(",", " ").split())
        out.append((section, int(m.group(1), 16), data))
    return out


def _get(source: str, arb: int, nth: int = 0) -> CanDecoded:
    hits = [d for s, i, d in _samples() if source in s and i == arb]
    got = decode(arb, hits[nth])
    assert isinstance(got, CanDecoded), got
    return got


def test_every_sample_frame_decodes() -> None:
    frames = _samples()
    assert len(frames) >= 30
    for _, arb, data in frames:
        assert isinstance(decode(arb, data), CanDecoded), (hex(arb), data.hex())


def test_setfirelabs_old_firmware_set() -> None:
    s = "Source 1"
    lim = _get(s, 0x351).signals
    assert lim == pytest.approx(
        {"ChargeVoltageLimit": 53.2, "ChargeCurrentLimit": 480.0, "DischargeCurrentLimit": 480.0,
         "DischargeVoltageLimit": 45.0}
    )  # fmt: skip
    assert _get(s, 0x355).signals == {"StateOfCharge": 88, "StateOfHealth": 94}
    assert _get(s, 0x356).signals == pytest.approx(
        {"StackVoltage": 49.86, "StackCurrent": -27.0, "Temperature": 36.3}
    )
    prot = _get(s, 0x359).signals
    assert prot["ModuleCount"] == 6 and prot["Marker"] == 0x4E50  # bytes 'P' 'N'
    assert not any(v for k, v in prot.items() if k.startswith(("Prot", "Alarm")))
    flags = _get(s, 0x35C).signals
    assert flags["ChargeEnable"] == 1 and flags["DischargeEnable"] == 1
    assert not (flags["ForceChargeRequest1"] or flags["ForceChargeRequest2"] or flags["FullChargeRequest"])
    name = _get(s, 0x35E)
    assert name.data.decode("ascii") == "PYLON   "


def test_setfirelabs_new_firmware_set() -> None:
    s = "Source 1"
    assert _get(s, 0x351, 1).signals["ChargeVoltageLimit"] == pytest.approx(52.8)
    soc = _get(s, 0x355, 1).signals
    assert (soc["StateOfCharge"], soc["StateOfHealth"], soc["StateOfChargeHiRes"]) == (84, 96, 0)
    assert _get(s, 0x356, 1).signals == pytest.approx(
        {"StackVoltage": 49.87, "StackCurrent": -27.9, "Temperature": 36.3}
    )
    alarms = _get(s, 0x35A).signals
    assert set(alarms.values()) == {0}  # all "unsupported"
    info = _get(s, 0x35F)
    assert info.data[:2] == b"LI"


def test_ten_module_stack() -> None:
    s = "Source 2"
    lim = _get(s, 0x351).signals
    assert lim["ChargeCurrentLimit"] == pytest.approx(370.0) and lim[
        "DischargeVoltageLimit"
    ] == pytest.approx(46.0)
    assert _get(s, 0x355).signals == {"StateOfCharge": 26, "StateOfHealth": 100}
    assert _get(s, 0x359).signals["ModuleCount"] == 10
    assert _get(s, 0x356, 1).signals == pytest.approx(
        {"StackVoltage": 48.66, "StackCurrent": 0.0, "Temperature": 33.0}
    )


def test_emulators() -> None:
    diy = _get("Source 3", 0x351).signals
    # raw 0xFF9C = -100: -10.0 A at the consensus 0.1 A scale (the sample's note says "-100 A").
    assert diy["DischargeCurrentLimit"] == pytest.approx(-10.0) and diy[
        "ChargeVoltageLimit"
    ] == pytest.approx(58.0)
    assert _get("Source 3", 0x359).signals["ModuleCount"] == 0
    armin = _get("Source 4", 0x351).signals
    assert armin == pytest.approx(
        {
            "ChargeVoltageLimit": 55.2,
            "ChargeCurrentLimit": 50.0,
            "DischargeCurrentLimit": 80.0,
            "DischargeVoltageLimit": 48.0,
        }
    )
    assert _get("Source 4", 0x305).signals["Byte0"] == 0x21
    assert _get("Source 4", 0x359).signals["ModuleCount"] == 1


def test_protection_and_alarm_bits_follow_the_table() -> None:
    bits = {
        (0, 0x02): "ProtCellOverVoltage", (0, 0x04): "ProtCellUnderVoltage", (0, 0x08): "ProtCellOverTemp",
        (0, 0x10): "ProtCellUnderTemp", (0, 0x80): "ProtDischargeOverCurrent", (1, 0x01): "ProtChargeOverCurrent",  # noqa: E501
        (1, 0x08): "ProtSystemError", (2, 0x02): "AlarmCellHighVoltage", (2, 0x04): "AlarmCellLowVoltage",
        (2, 0x08): "AlarmCellHighTemp", (2, 0x10): "AlarmCellLowTemp", (2, 0x80): "AlarmDischargeHighCurrent",
        (3, 0x01): "AlarmChargeHighCurrent", (3, 0x08): "AlarmInternalCommFail",
    }  # fmt: skip
    for (byte, mask), name in bits.items():
        data = bytearray(b"\x00\x00\x00\x00\x03PN")
        data[byte] = mask
        got = decode(0x359, bytes(data))
        assert isinstance(got, CanDecoded)
        assert {k for k, v in got.signals.items() if v and k not in ("ModuleCount", "Marker")} == {name}


def test_issues_not_exceptions() -> None:
    assert isinstance(decode(0x123, b"\x00"), CanIssue)
    short = decode(0x351, b"\x14\x02")
    assert isinstance(short, CanIssue) and "needs at least 6" in short.message
    assert isinstance(decode(0x351, bytes(8), extended=True), CanIssue)
    assert isinstance(decode(0x351, bytes(6)), CanDecoded)  # no discharge voltage limit: still read
    assert isinstance(decode(0x359, bytes(12)), CanDecoded)  # excess bytes ignored


def _raw_signal_values(arb: int) -> st.SearchStrategy[dict[str, float | int]]:
    msg = database().get_message_by_frame_id(arb)
    fields = {}
    for sig in msg.signals:
        lo, hi = (
            (-(1 << (sig.length - 1)), (1 << (sig.length - 1)) - 1)
            if sig.is_signed
            else (0, (1 << sig.length) - 1)
        )
        scale, offset = sig.scale, sig.offset
        fields[sig.name] = st.integers(lo, hi).map(
            lambda r, s=scale, o=offset: r * s + o if s != 1 or o else r
        )
    return st.fixed_dictionaries(fields)


@SETTINGS
@given(
    st.sampled_from([m.frame_id for m in database().messages]).flatmap(
        lambda a: st.tuples(st.just(a), _raw_signal_values(a))
    )
)
def test_encode_decode_round_trip_every_message(item: tuple[int, dict[str, float | int]]) -> None:
    arb, values = item
    data = encode(arb, values)
    got = decode(arb, data)
    assert isinstance(got, CanDecoded)
    assert got.signals == pytest.approx(values)


@SETTINGS
@given(st.integers(0, 0x1FFFFFFF), st.binary(max_size=16), st.booleans())
def test_decode_arbitrary_never_raises(arb: int, data: bytes, ext: bool) -> None:
    assert isinstance(decode(arb, data, extended=ext), CanDecoded | CanIssue)


candumpish = st.lists(
    st.sampled_from([b"(1700000000.100000) ", b"can0 ", b"351#", b"359#", b"1402C0", b"  can0  351   [8]  ", b"14 02 ",  # noqa: E501
                     b"\n", b"\r", b"R", b"##1", b"date Sat", b"base hex", b"LOGG", b"[", b"]", b"ZZ"])
    | st.binary(max_size=5),
    max_size=40,
).map(b"".join)  # fmt: skip


@SETTINGS
@given(candumpish)
def test_reading_arbitrary_text_never_raises(data: bytes) -> None:
    log = read_can(data, "fuzz")
    n = len(data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    assert all(r.line is None or 1 <= r.line <= n for r in log.records)


def _write(tmp_path: Path, fmt: str, messages: list[can.Message]) -> bytes:
    """A file as python-can's own writer makes it."""
    path = tmp_path / f"x.{fmt}"
    with can.Logger(path) as writer:
        for m in messages:
            writer.on_message_received(m)
    return path.read_bytes()


MSGS = [(0x351, "1402C012C012C201"), (0x999, "00"), (0x359, "00000000064E50")]


@pytest.mark.parametrize("fmt", ["log", "asc", "blf"])
def test_python_can_writers_are_read_with_line_numbers(tmp_path: Path, fmt: str) -> None:
    msgs = [
        can.Message(
            timestamp=1_700_000_000 + i, arbitration_id=a, data=bytes.fromhex(d), is_extended_id=False
        )
        for i, (a, d) in enumerate(MSGS)
    ]
    data = _write(tmp_path, fmt, msgs)
    log = read_can(data, f"can/x.{fmt}")
    assert log.shape == {"log": "candump_log", "asc": "asc", "blf": "blf"}[fmt]
    assert [r.arbitration_id for r in log.records] == [0x351, 0x359]
    assert len(log.warnings) == 1 and "0x999" in log.warnings[0].message
    if fmt == "blf":
        assert all(r.line is None for r in log.records)
        assert log.records[0].time is not None and log.records[0].time.timestamp() == pytest.approx(
            1_700_000_000
        )
        return
    lines = data.decode().replace("\r\n", "\n").split("\n")
    for r in log.records:
        assert r.line is not None and r.raw in lines[r.line - 1]
    w = log.warnings[0]
    assert w.line is not None and "999" in lines[w.line - 1]


def test_candump_console_forms() -> None:
    data = (
        b"  can0  351   [8]  14 02 C0 12 C0 12 C2 01\n"
        b" (1700000000.250000)  can0  359   [7]  00 00 00 00 06 50 4E\n"
        b" (2023-11-14 22:13:20.500000)  can0  35C   [2]  C0 00\n"
        b" (000.100000)  can0  305   [8]  00 00 00 00 00 00 00 00\n"
        b"  can0  356   [6]  7A 13\n"
    )
    log = read_can(data, "can/console.txt")
    assert log.shape == "candump"
    assert [(r.line, r.arbitration_id) for r in log.records] == [
        (1, 0x351),
        (2, 0x359),
        (3, 0x35C),
        (4, 0x305),
    ]
    assert log.records[0].time is None and log.records[1].time is not None and log.records[2].time is not None
    assert log.records[3].time is None  # relative stamp
    assert [w.line for w in log.warnings] == [5, 5]  # DLC mismatch, then too short to read
