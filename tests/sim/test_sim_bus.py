"""The simulator on the bus: RS485 answers and CAN frames consistent with the stack, and bus-only cases of
every scenario whose fault the bus can show diagnose the same as the console cases (and are spec-valid)."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pylondiag.casedir import load_case
from pylondiag.evidence.can import CanIssue, decode, read_can
from pylondiag.evidence.rs485 import Frame, decode_frame, encode_frame, read_rs485
from pylondiag.evidence.rs485.payloads import AnalogReply, ErrorReply, ProtocolVersion
from pylondiag.pipeline import run_case
from pylondiag.sim import list_scenarios, write_case
from pylondiag.sim.bus import Generation, Rs485Responder, can_round, candump_log, figures
from pylondiag.sim.console.session import ConsoleView
from pylondiag.sim.scenarios import run_scenario

NOT_ON_THE_BUS: dict[str, str] = {
    "capacity_fade": "SOH and lifetime counters come from `stat`/`soh` (console); the bus carries no history",
    "capacity_fade_monitor": "same: SOH is a console figure",
    "thermal_intermittent": "trips clustering with the weather need the inverter's event history",
    "charge_limits_story": "a story-only case (no capture, charge voltage unknown): with bus data the OV "
    "protection is seen directly and, without the inverter setting, is read as a module matter",
}
"""Scenarios whose fault the bus cannot show: their bus-only case must still be spec-valid."""


@pytest.fixture(scope="module")
def check_doc(validator: Path) -> Callable[[Path, dict[str, Any]], list[str]]:
    """The spec's own validator (``shared/tools/validate_diagnosis.py``), in-process."""
    spec = importlib.util.spec_from_file_location("pylondiag_validate_diagnosis_bus", validator)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return lambda case, doc: list(mod.check(case, doc))


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list_scenarios())
def test_bus_only_case_diagnoses_like_the_console_case(
    tmp_path: Path, scenario: str, check_doc: Callable[[Path, dict[str, Any]], list[str]]
) -> None:
    case = write_case(scenario, 1, tmp_path / "case", evidence="bus")
    assert not (case / "console").exists() and not (case / "inverter").exists()
    assert list((case / "can").iterdir()) and list((case / "rs485").iterdir())
    doc = json.loads(json.dumps(run_case(case).diagnosis.to_json_dict()))
    assert check_doc(case, doc) == []
    if scenario in NOT_ON_THE_BUS:
        return
    label = json.loads((case / "label.json").read_text())
    got = {k: doc[k] for k in ("outcome", "primary_cause")} | {
        "culprit_modules": sorted(doc["culprit_modules"])
    }
    assert got == label, doc["summary"]
    cited = {e["source"].split("/")[0] for f in doc["findings"] for e in f["evidence"]}
    assert cited <= {"can", "rs485", "case.yaml"}


def test_bus_files_are_read_without_warnings(tmp_path: Path) -> None:
    case = write_case("module_not_communicating", 2, tmp_path / "c", evidence="bus")
    for path in sorted((case / "can").iterdir()):
        log = read_can(path.read_bytes(), path.name)
        assert log.records and not log.warnings
    for path in sorted((case / "rs485").iterdir()):
        log = read_rs485(path.read_bytes(), path.name)
        assert log.records and not log.warnings
    view = load_case(case)
    assert (
        view.bus.module_counts and view.bus.silent_addresses
    )  # the silent module and the probe past the end


@pytest.fixture(scope="module")
def master_view() -> ConsoleView:
    res = run_scenario("module_not_communicating", 1)
    return ConsoleView(res.stack, res.setup.chains[0])


def test_responder_answers_like_the_protocol_says(master_view: ConsoleView) -> None:
    r = Rs485Responder(master_view)
    n = len(master_view.chain)
    silent = [k for k, i in enumerate(master_view.chain) if not master_view.stack.modules[i].talking]
    assert silent  # the scenario's dead module

    def ask(adr: int, cid2: int, info: bytes) -> Frame | None:
        wire = r.answer(encode_frame(Frame(0x20, adr, 0x46, cid2, info)))
        if wire is None:
            return None
        f = decode_frame(wire)
        assert isinstance(f, Frame) and f.adr == adr and f.ver == 0x20
        return f

    ff = ask(2, 0x42, b"\xff")
    assert ff is not None and ff.cid2 == 0
    log = read_rs485(encode_frame(Frame(0x20, 2, 0x46, 0x42, b"\xff")) + b"\n" + encode_frame(ff), "x")
    rec = log.records[-1].content
    assert isinstance(rec, AnalogReply) and len(rec.modules) == n - len(silent)
    assert ask(2 + silent[0], 0x42, bytes([2 + silent[0]])) is None  # a dead BMS stays silent
    assert ask(2 + n, 0x42, bytes([2 + n])) is None  # nobody past the end
    bad = ask(2, 0x99, b"")
    assert bad is not None and bad.cid2 == 0x04  # CID2 invalid
    assert ask(2, 0x94, bytes(9)) is not None and ask(2, 0x94, bytes(9)).cid2 == 0x04  # type: ignore[union-attr]
    wire = bytearray(encode_frame(Frame(0x20, 2, 0x46, 0x42, b"\x02")))
    wire[-3] = ord("0") if wire[-3] != ord("0") else ord("1")
    reply = r.answer(bytes(wire))
    assert reply is not None
    f = decode_frame(reply)
    assert isinstance(f, Frame) and f.cid2 == 0x02  # CHKSUM error
    pv = ask(2, 0x4F, b"")
    assert pv is not None
    log = read_rs485(encode_frame(Frame(0x20, 2, 0x46, 0x4F, b"")) + b"\n" + encode_frame(pv), "x")
    assert isinstance(log.records[-1].content, ProtocolVersion)
    assert not isinstance(log.records[-1].content, ErrorReply)


@pytest.mark.parametrize("generation", ["v1.2", "v1.3"])
def test_can_generations(master_view: ConsoleView, generation: Generation) -> None:
    """V1.2 masters send 0x359/0x35C; newer US5000 firmware 0x35A/0x35F and a 6-byte 0x355 (can.md §5).
    The module count on the bus leaves out the module that does not talk."""
    fig = figures(master_view)
    text = candump_log([(1_764_900_000.0 + s, fig) for s in range(3)], generation=generation)
    log = read_can(text.encode(), "can/x.log")
    assert not log.warnings
    seen = {r.arbitration_id for r in log.records}
    assert {0x351, 0x355, 0x356, 0x35E, 0x305} <= seen
    if generation == "v1.2":
        assert {0x359, 0x35C} <= seen and not seen & {0x35A, 0x35F}
        count = next(r for r in log.records if r.arbitration_id == 0x359).decoded.signals["ModuleCount"]
        assert count == len(master_view.chain) - 1
    else:
        assert {0x35A, 0x35F} <= seen and not seen & {0x359, 0x35C}
        assert len(next(r for r in log.records if r.arbitration_id == 0x355).decoded.data) == 6


def test_can_flags_follow_the_bms(master_view: ConsoleView) -> None:
    from dataclasses import replace

    from pylondiag.sim.bms import Flag

    fig = replace(figures(master_view), flags=int(Flag.P_CELL_UV | Flag.A_CHG_LT), ccl_a=0.0)
    old = {a: d for a, d in can_round(fig, "v1.2")}
    assert old[0x359][0] == 0x04 and old[0x359][2] == 0x10 and old[0x35C][0] & 0x80 == 0
    new = {a: d for a, d in can_round(fig, "v1.3")}
    got = decode(0x35A, new[0x35A])
    assert not isinstance(got, CanIssue)
    assert got.signals["AlarmLowVoltage"] == 2 and got.signals["WarnLowTempCharge"] == 2
