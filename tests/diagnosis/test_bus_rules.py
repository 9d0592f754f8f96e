"""Bus-only cases (``can/``, ``rs485/``) get a real diagnosis, with findings citing frame lines; every
document passes the spec's validator (the ``diagnose_case`` fixture runs it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pylondiag.evidence.can import encode
from pylondiag.evidence.rs485 import Frame, encode_frame, encode_payload
from pylondiag.evidence.rs485.payloads import AlarmModule, AlarmReply, AnalogModule, AnalogReply
from pylondiag.model.diagnosis import Cause, Diagnosis, Outcome
from shared_paths import SHARED

T0 = 1_764_900_000.0


def can_round(
    t: float,
    *,
    cvl: float = 53.2,
    ccl: float = 300.0,
    dcl: float = 300.0,
    modules: int = 6,
    prot: bytes = b"\x00\x00\x00\x00",
    heartbeat: bool = True,
    alarm_set: str = "359",
    alarms_35a: dict[str, int] | None = None,
) -> list[str]:
    """One second of traffic as ``candump -l`` prints it."""
    frames: list[tuple[int, bytes]] = [
        (0x351, encode(0x351, {"ChargeVoltageLimit": cvl, "ChargeCurrentLimit": ccl,
                               "DischargeCurrentLimit": dcl, "DischargeVoltageLimit": 45.0})),
        (0x355, encode(0x355, {"StateOfCharge": 80, "StateOfHealth": 98}, dlc=4)),
        (0x356, encode(0x356, {"StackVoltage": 51.2, "StackCurrent": -10.0, "Temperature": 22.0})),
    ]  # fmt: skip
    if alarm_set == "359":
        frames.append((0x359, prot + bytes([modules]) + b"PN"))
        frames.append((0x35C, b"\xc0\x00"))
    elif alarm_set == "35A":
        frames.append((0x35A, encode(0x35A, alarms_35a or {})))
        frames.append((0x35F, b"LI\x01\x03\x3c\x02\xaa\x00"))
    frames.append((0x35E, b"PYLON   "))
    if heartbeat:
        frames.append((0x305, bytes(8)))
    return [f"({t + i * 0.01:.6f}) can0 {a:03X}#{d.hex().upper()}" for i, (a, d) in enumerate(frames)]


def candump(seconds: int, **kw: Any) -> str:
    return "\n".join(line for s in range(seconds) for line in can_round(T0 + s, **kw)) + "\n"


Maker = Callable[..., Path]
Diagnose = Callable[[Path], Diagnosis]


def _cites(d: Diagnosis, code: Cause, source: str) -> list[int]:
    return [e.line for f in d.findings if f.code == code for e in f.evidence if e.source == source and e.line]


def test_healthy_can_stack_is_no_fault(make_case: Maker, diagnose_case: Diagnose, stack_of: Any) -> None:
    case = make_case({"stack": stack_of(6, "US5000"), "inverter": {"brand": "deye", "configured_modules": 6,
                      "charge_voltage_v": 53.2}}, {"can/candump.log": candump(20)})  # fmt: skip
    d = diagnose_case(case)
    # nothing wrong on the bus, but CAN carries the stack's totals and flags, not each module's states:
    # absent module evidence is not normal evidence (diagnosis/coverage.py), so no "no_fault"
    assert d.findings == [] and d.outcome == Outcome.INSUFFICIENT_EVIDENCE
    assert "CAN bus carries the stack's totals and flags only" in d.summary


def test_can_only_case_without_case_yaml_is_diagnosed(make_case: Maker, diagnose_case: Diagnose) -> None:
    d = diagnose_case(make_case(None, {"can/candump.log": candump(20)}))
    assert d.findings == [] and d.outcome == Outcome.INSUFFICIENT_EVIDENCE


def test_inverter_charge_voltage_above_bms_request(make_case: Maker, diagnose_case: Diagnose) -> None:
    case = make_case(
        {"inverter": {"brand": "deye", "charge_voltage_v": 54.0}}, {"can/candump.log": candump(20)}
    )
    d = diagnose_case(case)
    assert d.outcome == Outcome.RECONFIGURE and d.primary_cause == Cause.INVERTER_CHARGE_LIMITS
    assert _cites(d, Cause.INVERTER_CHARGE_LIMITS, "can/candump.log") == [1]


def test_inverter_currents_above_bms_request(make_case: Maker, diagnose_case: Diagnose) -> None:
    prot = b"\x80\x00\x00\x00"  # discharge over-current protection
    case = make_case(
        {"inverter": {"brand": "deye", "max_discharge_current_a": 400, "max_charge_current_a": 350}},
        {"can/candump.log": candump(20, prot=prot)},
    )
    d = diagnose_case(case)
    oc = [f for f in d.findings if f.code == Cause.OVER_CURRENT]
    assert oc and oc[0].severity == "fault" and d.outcome == Outcome.RECONFIGURE
    assert oc[0].evidence[0].key == "inverter.max_discharge_current_a" and "300 A" in oc[0].message
    # the charge setting is above the BMS's request too, but no charge over-current flag: the BMS's request
    # moves with SOC and temperature, so that alone proves nothing
    assert not any(f.code == Cause.INVERTER_CHARGE_LIMITS for f in d.findings)


@pytest.mark.parametrize(
    ("prot", "cause", "outcome"),
    [
        (b"\x04\x00\x00\x00", Cause.CELL_UNDER_VOLTAGE, Outcome.ON_SITE_CHECK),
        (b"\x08\x00\x00\x00", Cause.OVER_TEMPERATURE, Outcome.ENVIRONMENT),
        (b"\x00\x00\x00\x08", Cause.MODULE_NOT_COMMUNICATING, Outcome.MONITOR),
    ],
)
def test_protection_flags_map_to_causes(
    make_case: Maker, diagnose_case: Diagnose, prot: bytes, cause: Cause, outcome: Outcome
) -> None:
    lines = candump(5).splitlines() + can_round(T0 + 5, prot=prot) + can_round(T0 + 6, prot=prot)
    d = diagnose_case(make_case(None, {"can/candump.log": "\n".join(lines) + "\n"}))
    assert d.outcome == outcome and d.primary_cause == cause
    (f,) = [f for f in d.findings if f.code == cause]
    assert f.evidence[0].line == 5 * 7 + 4 and "0x359" in f.message  # first 0x359 of the flagged second


def test_new_firmware_35a_alarm(make_case: Maker, diagnose_case: Diagnose) -> None:
    text = candump(20, alarm_set="35A", alarms_35a={"AlarmLowTempCharge": 2, "WarnHighVoltage": 2})
    d = diagnose_case(make_case(None, {"can/candump.log": text}))
    assert d.primary_cause == Cause.UNDER_TEMPERATURE and d.outcome == Outcome.ENVIRONMENT
    assert any(f.code == Cause.CELL_OVER_VOLTAGE and f.severity == "warning" for f in d.findings)


def test_module_count_on_bus_against_case_and_inverter(
    make_case: Maker, diagnose_case: Diagnose, stack_of: Any
) -> None:
    case = make_case(
        {"stack": stack_of(6, "US5000"), "inverter": {"brand": "deye", "configured_modules": 6}},
        {"can/candump.log": candump(20, modules=5)},
    )
    d = diagnose_case(case)
    codes = {f.code for f in d.findings}
    assert {Cause.MODULE_NOT_COMMUNICATING, Cause.MODULE_COUNT_MISMATCH} <= codes
    assert d.outcome == Outcome.RECONFIGURE


def test_inverter_never_answers(make_case: Maker, diagnose_case: Diagnose) -> None:
    d = diagnose_case(make_case(None, {"can/candump.log": candump(20, heartbeat=False)}))
    assert d.primary_cause == Cause.INVERTER_COMMS_CONFIG and d.outcome == Outcome.RECONFIGURE
    assert any("never answered" in f.message for f in d.findings)


def test_short_capture_without_heartbeat_proves_nothing(make_case: Maker, diagnose_case: Diagnose) -> None:
    d = diagnose_case(make_case(None, {"can/candump.log": candump(2, heartbeat=False)}))
    assert d.findings == []


def test_stack_sending_neither_alarm_set(make_case: Maker, diagnose_case: Diagnose) -> None:
    d = diagnose_case(make_case(None, {"can/candump.log": candump(20, alarm_set="none")}))
    assert d.primary_cause == Cause.INVERTER_COMMS_CONFIG
    assert any("neither alarm frame set" in f.message for f in d.findings)


def test_blf_capture_is_cited_by_file(make_case: Maker, diagnose_case: Diagnose, tmp_path: Path) -> None:
    import can

    path = tmp_path / "x.blf"
    with can.Logger(path) as w:
        for line in candump(20, heartbeat=False).splitlines():
            ts, _, frame = line.split()
            arb, data = frame.split("#")
            w.on_message_received(
                can.Message(timestamp=float(ts[1:-1]), arbitration_id=int(arb, 16), data=bytes.fromhex(data),
                            is_extended_id=False)
            )  # fmt: skip
    d = diagnose_case(make_case(None, {"can/trace.blf": path.read_bytes()}))
    assert d.primary_cause == Cause.INVERTER_COMMS_CONFIG
    assert all(e.line is None for f in d.findings for e in f.evidence if e.source == "can/trace.blf")


# ---------------------------------------------------------------- RS485
def rs485_poll(modules: list[AnalogModule], alarms: list[AlarmModule], t: str = "2026-11-18T07:12:40") -> str:
    """One FF poll of 0x42 and 0x44 as a logger prints it (timestamp, direction, frame)."""

    def line(stamp: str, d: str, f: Frame) -> str:
        return f"{t}.{stamp} {d} {encode_frame(f).decode().strip()}"

    n = len(modules)
    return "\n".join(
        [
            line("100", ">", Frame(0x20, 2, 0x46, 0x42, b"\xff")),
            line(
                "180",
                "<",
                Frame(0x20, 2, 0x46, 0, encode_payload(AnalogReply(0x11, n, tuple(modules), n > 1))),
            ),
            line("300", ">", Frame(0x20, 2, 0x46, 0x44, b"\xff")),
            line(
                "360", "<", Frame(0x20, 2, 0x46, 0, encode_payload(AlarmReply(0x11, n, tuple(alarms), n > 1)))
            ),
        ]
    )


def module(cells: tuple[int, ...] = (3300,) * 15, current: float = -5.0, soc: float = 0.6) -> AnalogModule:
    return AnalogModule(cells, (22.0,) * 5, current, sum(cells), round(74000 * soc), 74000, 120, 4)


OK_ALARM = AlarmModule((0,) * 15, (0,) * 5, 0, 0, 0, (0, 0x0E, 0x40, 0, 0))


def test_rs485_only_healthy(make_case: Maker, diagnose_case: Diagnose, stack_of: Any) -> None:
    text = rs485_poll([module()] * 3, [OK_ALARM] * 3)
    d = diagnose_case(make_case({"stack": stack_of(3, "US3000C")}, {"rs485/poll.txt": text}))
    assert d.outcome == Outcome.NO_FAULT, [f.message for f in d.findings]
    assert [m.position for m in d.modules] == [1, 2, 3]


def test_rs485_module_under_voltage_protection_is_that_module(
    make_case: Maker, diagnose_case: Diagnose
) -> None:
    low = AlarmModule((1,) * 15, (0,) * 5, 0, 1, 0, (0x02, 0x0E, 0x40, 0, 0))
    text = rs485_poll([module(), module((2700,) * 15, soc=0.02), module()], [OK_ALARM, low, OK_ALARM])
    d = diagnose_case(make_case(None, {"rs485/poll.txt": text}))
    assert d.primary_cause == Cause.CELL_UNDER_VOLTAGE and d.culprit_modules == [2]
    assert 4 in _cites(d, Cause.CELL_UNDER_VOLTAGE, "rs485/poll.txt")  # the 0x44 reply line


def test_rs485_cell_imbalance_from_0x42_cells(make_case: Maker, diagnose_case: Diagnose) -> None:
    cells = (3450,) * 10 + (3300,) + (3455,) * 4
    text = rs485_poll([module(), module(cells, current=0.0, soc=1.0)], [OK_ALARM, OK_ALARM])
    d = diagnose_case(make_case(None, {"rs485/poll.txt": text}))
    assert Cause.CELL_IMBALANCE in {f.code for f in d.findings}
    f = next(f for f in d.findings if f.code == Cause.CELL_IMBALANCE)
    assert f.module == 2 and {e.source for e in f.evidence} == {"rs485/poll.txt"}


def test_rs485_missing_module_against_case_yaml(
    make_case: Maker, diagnose_case: Diagnose, stack_of: Any
) -> None:
    text = rs485_poll([module()] * 3, [OK_ALARM] * 3)
    d = diagnose_case(make_case({"stack": stack_of(4, "US3000C")}, {"rs485/poll.txt": text}))
    assert d.primary_cause == Cause.MODULE_NOT_COMMUNICATING


def test_rs485_stack_never_answers(make_case: Maker, diagnose_case: Diagnose) -> None:
    req = encode_frame(Frame(0x20, 2, 0x46, 0x42, b"\xff")).decode().strip()
    text = "\n".join(f"2026-11-18T07:12:{s:02d} > {req}" for s in range(10)) + "\n"
    d = diagnose_case(make_case(None, {"rs485/poll.txt": text}))
    assert d.primary_cause == Cause.INVERTER_COMMS_CONFIG and "not one answer" in d.findings[0].message


def test_real_rs485_samples_as_a_case(make_case: Maker, diagnose_case: Diagnose) -> None:
    """The public sample file, read in place and copied into a case as an owner would send it."""
    src = SHARED / "domain" / "protocols" / "samples_rs485_misc_public_sources.txt"
    if not src.exists():
        pytest.skip("samples not found")
    d = diagnose_case(make_case(None, {"rs485/samples.txt": src.read_bytes()}))
    assert len(d.modules) == 4  # modules seen from the 0x42 / 0x44 replies
    assert any("checksum FC72 is wrong" in g for g in d.evidence_gaps)  # the PDF's bad vector, with its line
    # the captured 4-module alarm reply alone: pack 1 with every cell below its limit and Status1 cell UV
    (line,) = [ln for ln in src.read_text().splitlines() if ln.startswith("RX ~20024600D0F4")]
    d = diagnose_case(make_case(None, {"rs485/alarm.txt": line + "\n"}))
    assert d.primary_cause == Cause.CELL_UNDER_VOLTAGE and d.culprit_modules == [1]
    under = next(f for f in d.findings if f.code == Cause.CELL_UNDER_VOLTAGE)
    assert (under.evidence[0].source, under.evidence[0].line) == ("rs485/alarm.txt", 1)
