"""Live, read-only bus capture against the simulator: RS485 over a pty and over TCP, CAN on python-can's
``virtual`` interface. The captures land in the case folders and the case reader reads them."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import can
import pytest

from pylondiag.acquire import can as acan
from pylondiag.acquire import rs485 as ars
from pylondiag.casedir import load_case
from pylondiag.evidence.can import read_can
from pylondiag.evidence.rs485 import READ_COMMANDS, decode_frame, read_rs485
from pylondiag.evidence.rs485.frame import Frame
from pylondiag.sim.bus import Rs485Responder
from pylondiag.sim.bus_serve import broadcast_can, serve_rs485_pty, serve_rs485_tcp
from pylondiag.sim.console.session import ConsoleView
from pylondiag.sim.scenarios import run_scenario
from pylondiag.sim.serve import open_pty


@pytest.fixture(scope="module")
def view() -> ConsoleView:
    res = run_scenario("module_not_communicating", 1)
    return ConsoleView(res.stack, res.setup.chains[0])


class SpyResponder(Rs485Responder):
    """Records every request the simulated master receives."""

    def __init__(self, view: ConsoleView) -> None:
        super().__init__(view)
        self.seen: list[bytes] = []

    def answer(self, wire: bytes) -> bytes | None:
        self.seen.append(wire)
        return super().answer(wire)


@pytest.fixture
def tcp_stack(view: ConsoleView) -> Iterator[tuple[str, SpyResponder]]:
    spy = SpyResponder(view)
    stop = threading.Event()
    ready = threading.Event()
    port: list[int] = []

    def on_ready(p: int) -> None:
        port.append(p)
        ready.set()

    t = threading.Thread(
        target=serve_rs485_tcp, args=(spy,), kwargs={"ready": on_ready, "stop": stop}, daemon=True
    )
    t.start()
    assert ready.wait(10)
    yield f"socket://127.0.0.1:{port[0]}", spy
    stop.set()
    t.join(5)


def _check_capture(path: Path, view: ConsoleView) -> None:
    log = read_rs485(path.read_bytes(), path.name)
    assert not log.warnings
    assert log.requests and log.replies
    for r in log.requests:
        assert r.command in READ_COMMANDS
    lines = path.read_text().splitlines()
    assert all(" > ~" in ln or " < ~" in ln for ln in lines)


def test_rs485_capture_over_tcp(
    tmp_path: Path, tcp_stack: tuple[str, SpyResponder], view: ConsoleView
) -> None:
    url, spy = tcp_stack
    port = ars.open_port(url, timeout=0.3)
    try:
        res = ars.capture(port, tmp_path / "case", timeout_s=0.5, name="poll.txt")
    finally:
        port.close()
    silent = [k for k, i in enumerate(view.chain) if not view.stack.modules[i].talking]
    assert res.addresses == [2 + k for k in range(silent[0])]  # discovery stops at the first silent pack
    _check_capture(res.path, view)
    # one request in flight: every request the master saw was a whole, valid frame of a read command
    for wire in spy.seen:
        f = decode_frame(wire)
        assert isinstance(f, Frame) and f.cid2 in READ_COMMANDS
    assert len(spy.seen) == res.requests
    v = load_case(tmp_path / "case")
    assert v.bus.links and v.bus.links[0].battery_frames == res.replies and v.pwr


def test_rs485_capture_over_a_pty(tmp_path: Path, view: ConsoleView) -> None:
    master, path = open_pty()
    stop = threading.Event()
    t = threading.Thread(
        target=serve_rs485_pty, args=(Rs485Responder(view), master), kwargs={"stop": stop}, daemon=True
    )
    t.start()
    try:
        port = ars.open_port(path, baud=9600, timeout=0.3)
        try:
            res = ars.capture(port, tmp_path, timeout_s=0.5, name="pty.txt")
        finally:
            port.close()
    finally:
        stop.set()
        t.join(5)
        os.close(master)
    assert res.replies > 10
    _check_capture(res.path, view)


class _NoPort:
    """A port that fails the test if anything is written to it."""

    timeout: float | None = 0.1

    def write(self, data: bytes) -> int:
        raise AssertionError(f"a byte left: {data!r}")

    def read(self, size: int = 1) -> bytes:
        return b""

    def reset_input_buffer(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.mark.parametrize("command", [0x94, 0x95, 0x60, 0x00, 0xFF, 0x99])
def test_write_commands_are_refused_before_a_byte_leaves(command: int) -> None:
    poller = ars.Poller(_NoPort(), timeout_s=0.05)
    with pytest.raises(ars.RefusedCommand):
        poller.request(2, command, bytes(9))
    assert poller.exchanges == []


def test_silent_port_times_out_without_hanging() -> None:
    class Silent(_NoPort):
        def write(self, data: bytes) -> int:
            return len(data)

    poller = ars.Poller(Silent(), timeout_s=0.05)
    assert poller.discover() == []
    assert len(poller.exchanges) == 1 and poller.exchanges[0].reply is None


def test_can_capture_listen_only_on_virtual(
    tmp_path: Path, view: ConsoleView, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = f"pylondiag-test-{os.getpid()}"
    sim_bus = can.Bus(channel=channel, interface="virtual", receive_own_messages=False)
    spy = can.Bus(channel=channel, interface="virtual", receive_own_messages=False)
    reader = acan.open_bus(channel, "virtual")
    assert not hasattr(reader, "send") and not hasattr(reader, "send_periodic")
    sent_by_reader: list[can.Message] = []
    original = can.interfaces.virtual.VirtualBus.send

    def guarded(self: can.BusABC, msg: can.Message, timeout: float | None = None) -> None:
        if self is reader._bus:
            sent_by_reader.append(msg)
        original(self, msg, timeout)

    monkeypatch.setattr(can.interfaces.virtual.VirtualBus, "send", guarded)
    t = threading.Thread(
        target=broadcast_can, args=(view, sim_bus), kwargs={"seconds": 1.5, "period_s": 0.1}, daemon=True
    )
    t.start()
    try:
        res = acan.capture(reader, tmp_path / "case", seconds=2.0, channel="can0", name="dump.log")
    finally:
        t.join(5)
    heard = []
    while (m := spy.recv(0.05)) is not None:
        heard.append(m)
    for b in (sim_bus, spy):
        b.shutdown()
    reader.shutdown()
    assert sent_by_reader == []
    assert (
        res.frames == len(heard) > 0
    )  # the spy heard exactly what the simulator sent: nothing from the reader
    log = read_can(res.path.read_bytes(), "dump.log")
    assert log.shape == "candump_log" and not log.warnings and len(log.records) == res.frames
    v = load_case(tmp_path / "case")
    assert v.bus.module_counts[-1].count == len(view.chain) - 1


def test_capture_bus_command(tmp_path: Path, tcp_stack: tuple[str, SpyResponder]) -> None:
    from typer.testing import CliRunner

    from pylondiag.cli import app

    url, _ = tcp_stack
    case = tmp_path / "case"
    res = CliRunner().invoke(app, ["capture-bus", str(case), "--rs485", url, "--timeout", "0.5"])
    assert res.exit_code == 0, res.output
    (path,) = (case / "rs485").iterdir()
    assert str(path) in res.output and "packs answering at ADR 0x02" in res.output
    out = CliRunner().invoke(app, ["diagnose", str(case), "--format", "json"])
    assert out.exit_code == 0
    assert CliRunner().invoke(app, ["capture-bus", str(case)]).exit_code == 2
    bad = CliRunner().invoke(
        app, ["capture-bus", str(case), "--can", "nope0", "--interface", "no-such-interface"]
    )
    assert bad.exit_code == 2 and "cannot be opened" in bad.output


def test_capture_reads_console_and_rs485_into_one_case(
    tmp_path: Path, tcp_stack: tuple[str, SpyResponder], validator: Path
) -> None:
    """`capture PORT --rs485 PORT`: the console transcript and the RS485 polls land in one case, which
    diagnoses (spec-valid); only read commands reached the simulated master."""
    from acquire_emulator import tcp_console, validated_diagnosis
    from typer.testing import CliRunner

    from pylondiag.cli import app

    rs485_url, spy = tcp_stack
    case = tmp_path / "case"
    with tcp_console("module_not_communicating", 1) as (url, _live):
        res = CliRunner().invoke(
            app, ["capture", url, "--out", str(case), "--rs485", rs485_url, "--timeout", "0.5"]
        )
    assert res.exit_code in (0, 3), res.output
    assert "Traceback" not in res.output
    assert list((case / "console").iterdir()) and list((case / "rs485").iterdir())
    frames = [decode_frame(wire) for wire in spy.seen]
    assert frames and all(isinstance(f, Frame) and f.cid2 in READ_COMMANDS for f in frames)
    doc = validated_diagnosis(case, validator)
    assert doc["outcome"] != "no_fault"


def test_capture_with_an_unusable_can_channel_says_so(tmp_path: Path) -> None:
    from acquire_emulator import tcp_console
    from typer.testing import CliRunner

    from pylondiag.cli import app

    case = tmp_path / "case"
    with tcp_console("healthy", 1) as (url, _live):
        res = CliRunner().invoke(
            app, ["capture", url, "--out", str(case), "--can", "nope0", "--interface", "no-such-interface"]
        )
    assert res.exit_code == 2 and "cannot be opened" in res.output
    assert (case / "case.yaml").exists()  # the console part of the case is kept
