"""Issue 11 items 1 and 3, end to end (every document checked by the spec's validator):

- absent evidence is not normal evidence: ``no_fault`` only when every known module's states were read
  and the stack is known; ``info`` / ``soh`` / ``pwrsys``-only captures say what they hold;
- every owner-reported LED is answered on its own module.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pylondiag.model.diagnosis import Cause, Outcome, Verdict

NORMAL_STATES = "report normal states"


@pytest.mark.parametrize(
    ("prefix", "holds", "known"),
    [
        ("info__US2000C-B67.5.0", "`info`", "US2000C, firmware B67.5.0"),
        ("soh__US2KBPL-B66.6", "`soh`", "15 cells, every cell Normal"),
        ("pwrsys__US2000C-B67.5.0", "`pwrsys`", "5 modules, 5 present"),
    ],
)
def test_a_capture_without_module_states_is_used_for_what_it_holds(
    captures_dir: Path, make_case, diagnose_case, prefix, holds, known
):
    (src,) = captures_dir.glob(f"{prefix}__*.txt")
    d = diagnose_case(make_case(None, {"console/c.txt": src.read_bytes()}))
    assert d.outcome == Outcome.INSUFFICIENT_EVIDENCE and d.findings == []
    assert f"no module states were read: the console capture holds only {holds}" in d.summary
    assert known in d.summary
    assert NORMAL_STATES not in d.summary
    assert any(g.startswith(f"The console capture holds only {holds}") for g in d.evidence_gaps)
    assert not any(g.startswith("No console capture") for g in d.evidence_gaps)


def test_modules_not_read_are_named_and_block_no_fault(make_case, diagnose_case, stack_of, shapes):
    mods = [shapes.Mod(a, shapes.cells(3450), soc=100) for a in (1, 2)]
    s = shapes.Session()
    for m in mods:
        s.add(f"bat {m.addr}", shapes.bat(m))
    d = diagnose_case(make_case({"stack": stack_of(3)}, {"console/b.txt": s.text()}))
    assert d.outcome == Outcome.INSUFFICIENT_EVIDENCE
    assert "the states of position 3 were not read" in d.summary
    assert any(
        g.startswith("Position 3 of the stack was not read") and "`bat 3`" in g for g in d.evidence_gaps
    )


def test_an_inverter_log_alone_reads_no_module(make_case, diagnose_case):
    csv = "time,code,message\n2026-11-01 07:12,F99,Some event\n"
    d = diagnose_case(make_case({"inverter": {"brand": "deye"}}, {"inverter/events.csv": csv}))
    assert d.outcome == Outcome.INSUFFICIENT_EVIDENCE
    assert "no module states were read" in d.summary


def test_no_fault_says_which_modules_were_read(make_case, diagnose_case, stack_of, shapes):
    mods = [shapes.Mod(a, shapes.cells(3350), soc=70) for a in (1, 2, 3)]
    s = shapes.Session().add("pwr", shapes.pwr_old(mods, 8, "2026-11-20 09:00:00"))
    d = diagnose_case(make_case({"stack": stack_of(3)}, {"console/p.txt": s.text()}))
    assert d.outcome == Outcome.NO_FAULT
    assert "positions 1, 2 and 3" in d.summary and NORMAL_STATES not in d.summary


def _cut_cells(text: str, header: str, keep: int | None = None, garble: int | None = None) -> str:
    """The ``bat`` answer after ``header`` with cell ``garble``'s voltage garbled on the wire, or cut
    after ``keep`` cell rows (the capture stopped)."""
    lines = text.split("\n")  # the sessions end lines with '\r\r\n' as the B67 firmware does
    start = next(i for i, ln in enumerate(lines) if ln.startswith(header)) + 3  # echo, '@', column header
    if garble is not None:
        row = lines[start + garble].split()
        lines[start + garble] = lines[start + garble].replace(row[1], row[1][:2] + "#" + row[1][3:], 1)
        return "\n".join(lines)
    assert keep is not None
    return "\n".join(lines[: start + keep]) + "\n"


def test_cells_cut_short_are_unknown_not_normal(make_case, diagnose_case, stack_of, shapes):
    """A healthy module's ``bat`` cut after 10 rows: the 10 read look fine, the other 5 are unknown."""
    text = _cut_cells(_imbalanced_module_1(shapes), "pylon_debug>bat 3", keep=10)
    healthy = text.replace("3360", "3450")  # module 1 balanced too: only the missing cells stand out
    d = diagnose_case(make_case({"stack": stack_of(3)}, {"console/p.txt": healthy}))
    assert d.outcome == Outcome.INSUFFICIENT_EVIDENCE, d.summary
    assert "cells 10, 11, 12, 13 and 14 of position 3 could not be read" in d.summary
    gap = next(g for g in d.evidence_gaps if g.startswith("Cells 10, 11, 12, 13 and 14 of position 3"))
    assert "unknown, not normal" in gap and "`bat 3`" in gap


def test_a_garbled_low_cell_is_still_seen_in_pwr_against_the_neighbours(
    make_case, diagnose_case, stack_of, shapes
):
    """Module 1's low cell row garbled in ``bat 1``: its ``pwr`` Vlow/Vhigh at the same moment still
    shows it 90 mV apart while its neighbours spread 6 mV: named, and the unread cell said."""
    text = _cut_cells(_imbalanced_module_1(shapes), "pylon_debug>bat 1", garble=6)
    d = diagnose_case(make_case({"stack": stack_of(3)}, {"console/p.txt": text}))
    assert d.outcome == Outcome.MONITOR and d.primary_cause == Cause.CELL_IMBALANCE
    (f,) = [f for f in d.findings if f.code == Cause.CELL_IMBALANCE]
    assert f.module == 1 and "spread 90 mV" in f.message and "`bat 1`" in f.message
    assert any(g.startswith("Cell 6 of position 1 could not be read") for g in d.evidence_gaps)


def test_pwr_alone_at_the_top_compares_each_module_with_its_neighbours(
    make_case, diagnose_case, stack_of, shapes
):
    """Only ``pwr``, at 100 % and idle (a common first capture): one module 90 mV apart is named, not
    no_fault (the cells family, which judges the top of charge, has no ``bat`` to read)."""
    only_pwr = _imbalanced_module_1(shapes).split("pylon_debug>bat 1")[0]
    d = diagnose_case(make_case({"stack": stack_of(3)}, {"console/p.txt": only_pwr}))
    assert d.outcome == Outcome.MONITOR and d.primary_cause == Cause.CELL_IMBALANCE
    assert [f.module for f in d.findings if f.code == Cause.CELL_IMBALANCE] == [1]


def _imbalanced_module_1(shapes):  # type: ignore[no-untyped-def]
    mods = [shapes.Mod(1, shapes.cells(3450, {6: -90}, jitter=(0,)), soc=100)]
    mods += [shapes.Mod(a, shapes.cells(3450), soc=100) for a in (2, 3)]
    s = shapes.Session().add("pwr", shapes.pwr_old(mods, 8, "2026-11-20 09:00:00"))
    for m in mods:
        s.add(f"bat {m.addr}", shapes.bat(m))
    return s.text()


def test_a_finding_on_position_1_never_absorbs_a_light_on_position_3(
    make_case, diagnose_case, stack_of, shapes
):
    case = {"stack": stack_of(3, p1={"led": "amber"}, p3={"led": "red"})}
    d = diagnose_case(make_case(case, {"console/s.txt": _imbalanced_module_1(shapes)}))
    assert d.outcome == Outcome.REBALANCE and d.culprit_modules == [1]
    by_pos = {m.position: m.verdict for m in d.modules}
    assert by_pos[1] == Verdict.REBALANCE and by_pos[3] == Verdict.MONITOR
    (gap,) = [g for g in d.evidence_gaps if g.startswith("The LED of position 3")]
    assert "on position 3" in gap and "findings on position 1 are about other modules" in gap
    assert "`bat 3`" in gap and "While the LED is lit" in gap
    assert not any(g.startswith("The LED of position 1") for g in d.evidence_gaps)
    assert "position 3" in d.summary  # said on page one, not only in the gaps


def test_a_stack_level_setting_does_not_explain_a_module_light(make_case, diagnose_case, stack_of, shapes):
    mods = [shapes.Mod(a, shapes.cells(3350), soc=70) for a in (1, 2)]
    s = shapes.Session().add("pwr", shapes.pwr_old(mods, 8, "2026-11-20 09:00:00"))
    case = {"stack": stack_of(2, p2={"led": "amber"}), "inverter": {"configured_modules": 4}}
    d = diagnose_case(make_case(case, {"console/p.txt": s.text()}))
    assert d.primary_cause == Cause.MODULE_COUNT_MISMATCH
    (gap,) = [g for g in d.evidence_gaps if g.startswith("The LED of position 2")]
    assert "stack-level finding (module_count_mismatch) cites no reading of position 2" in gap
    assert {m.position: m.verdict for m in d.modules}[2] == Verdict.MONITOR


def test_a_stack_wide_state_seen_on_each_module_explains_each_light(
    make_case, diagnose_case, stack_of, shapes
):
    mods = [
        shapes.Mod(a, shapes.cells(3300), soc=60, temp=-2000, tlow=-3000, temp_st="Low", bt_st="Low")
        for a in (1, 2, 3)
    ]
    s = shapes.Session().add("pwr", shapes.pwr_old(mods, 8, "2026-11-20 06:00:00"))
    case = {"stack": stack_of(3, p1={"led": "amber"}, p2={"led": "amber"}, p3={"led": "amber"})}
    d = diagnose_case(make_case(case, {"console/p.txt": s.text()}))
    assert d.outcome == Outcome.ENVIRONMENT
    assert not any(g.startswith("The LED of position") for g in d.evidence_gaps)


def test_firmware_that_differs_with_bms_faults_is_a_firmware_fix(make_case, diagnose_case, stack_of, shapes):
    """field_failures #1: a US2000C among US2000B Plus with different firmware gives Internal Failure
    alarms; the fix is a firmware update with BatteryView, not moving the module out."""
    mods = [shapes.Mod(a, shapes.cells(3350), soc=70) for a in (1, 2)]
    s = shapes.Session().add("pwr", shapes.pwr_old(mods, 8, "2026-11-20 09:00:00"))
    info = "\n".join(
        [
            "pylon>info 1",
            "@",
            "Device address      : 1",
            "Manufacturer        : Pylon",
            "Device name         : US2000C",
            "Main Soft version   : B67.5.0",
            "Command completed successfully",
            "$$",
            "pylon>info 2",
            "@",
            "Device address      : 2",
            "Manufacturer        : Pylon",
            "Device name         : US2000C",
            "Main Soft version   : B66.6",
            "Command completed successfully",
            "$$",
            "",
        ]
    )
    csv = "time,code,message\n2026-11-19 10:00,ID183,BMS version inconsistency\n"
    case = {"stack": stack_of(2), "inverter": {"brand": "sofar"}}
    d = diagnose_case(
        make_case(case, {"console/p.txt": s.text(), "console/i.txt": info, "inverter/e.csv": csv})
    )
    f = next(f for f in d.findings if f.code == Cause.MIXED_MODELS)
    assert f.severity.value == "fault" and f.module == 2
    assert "BatteryView" in f.message and "B66.6" in f.message


def test_soc_jumps_in_a_working_mix_are_the_gauge_not_a_gap(make_case, diagnose_case, stack_of, shapes):
    """irekzielinski #32: US3000C master + US2000Cs, one module at 24 % while the others read ~60 % at the
    same voltage; the owner's SOC jump is the gauge of mixed generations (field_failures #2)."""
    mods = [
        shapes.Mod(a, shapes.cells(3326), soc=24 if a == 4 else 60, curr=-1000, base="Dischg")
        for a in (1, 2, 3, 4)
    ]
    s = shapes.Session().add("pwr", shapes.pwr_old(mods, 8, "2024-11-19 10:02:11"))
    stack = stack_of(4, "US2000C", p1={"model": "US3000C"})
    d = diagnose_case(make_case({"stack": stack, "symptoms": ["soc_jumps"]}, {"console/p.txt": s.text()}))
    assert d.outcome == Outcome.NO_FAULT
    (f,) = [f for f in d.findings if f.code == Cause.MIXED_MODELS]
    assert f.severity.value == "info" and "address 4 shows 24 %" in f.message
    assert any(e.key == "symptoms" for e in f.evidence)
    assert not any("not visible in the console data" in g for g in d.evidence_gaps)


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"


def test_a_capture_cut_inside_stat_says_what_is_missing(make_case, diagnose_case):
    """The capacity-fade example with its capture cut inside `stat 2` (`stat 3` never reached): the
    capture is told as cut short, and the modules without counters are named with their commands."""
    session = (EXAMPLES / "monitor-capacity-fade" / "console" / "session.txt").read_bytes()
    cut = session[: session.index(b"DOC Times", session.index(b"pylon_debug>stat 2"))]
    case = make_case(None, {"console/session.txt": cut})
    (case / "case.yaml").write_bytes((EXAMPLES / "monitor-capacity-fade" / "case.yaml").read_bytes())
    d = diagnose_case(case)
    told = [g for g in d.evidence_gaps if "the capture ends inside the answer to 'stat 2'" in g]
    assert len(told) == 1 and "Capture that command again" in told[0]
    assert "No lifetime counters for position(s) 3: capture `stat 3`" in " ".join(d.evidence_gaps)


def test_a_pwr_table_with_rows_elided_does_not_tell_the_stack(captures_dir: Path, diagnose_case, make_case):
    """A real excerpt quoting `pwr` with rows 2-7 elided ('....'): position 1 read, 8 Absent, 2-7 unknown.
    Not no_fault on one module: the stack's membership is not known."""
    (src,) = (captures_dir / "excerpts").glob("pwr__US2000B-and-US5000-V2.3__*.txt")
    d = diagnose_case(make_case(None, {"console/pwr.txt": src.read_bytes()}))
    assert d.outcome == Outcome.INSUFFICIENT_EVIDENCE
    assert "the rest of the stack is not known (no whole `pwr` table" in d.summary
