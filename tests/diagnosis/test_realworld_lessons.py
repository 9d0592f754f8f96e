"""What each real-report case added in session 7 taught, checked beyond its label (``tests/realworld/``):
the words and gaps an engineer reading the diagnosis relies on. Each test failed before its fix."""

from __future__ import annotations

from pathlib import Path

from pylondiag.model.diagnosis import Cause

CORPUS = Path(__file__).resolve().parents[1] / "realworld"


def test_rebuilt_module_says_the_cell_socs_disagree(diagnose_case):
    """US3000C B69.25 prints an SOC per cell (5, 92 and 100 % in one table of a rebuilt module, the
    module's gauge 5 %): the finding said "at 100 % SOC", the highest cell's figure."""
    d = diagnose_case(CORPUS / "mman-us3000c-b69-rebuilt-top-balancing")
    (f,) = [f for f in d.findings if f.code == Cause.CELL_IMBALANCE]
    assert "SOC 5-100 % by cell" in f.message
    assert "at 100 % SOC" not in f.message


def test_a_cell_left_on_the_plateau_beside_full_ones_needs_days_not_one_hold(diagnose_case):
    """Cells at 3.340 V beside 3.495 V at rest: a charge gap of several percent. ~50 mA balancing moves 1.2 Ah
    a day (specs.md VIC536); the finding offered one 6-8 h hold (~0.4 Ah) as if it would close it."""
    d = diagnose_case(CORPUS / "mman-us3000c-b69-rebuilt-top-balancing")
    (f,) = [f for f in d.findings if f.code == Cause.CELL_IMBALANCE]
    assert "1.2 Ah a day per cell (1.6 % of 74 Ah)" in f.message
    assert "over several days" in f.message


def test_us3000d_stat_is_read_whole_and_its_refused_stat_n_is_answered(diagnose_case):
    """A US3000D ends `stat` with "Command completed successfully!" (read as an unreadable stat line) and
    refuses `stat 1`: the gap asked for `stat 2` ... `stat 6`, which it would refuse too."""
    d = diagnose_case(CORPUS / "mman-us3000d-six-top-of-charge")
    assert not any("could not be read" in g for g in d.evidence_gaps), d.evidence_gaps
    (gap,) = [g for g in d.evidence_gaps if g.startswith("No lifetime counters")]
    assert "refused `stat 1`" in gap and "run `stat` there" in gap
    assert "`stat 2`" not in gap


def test_a_refused_stat_n_with_no_bare_stat_for_it_keeps_the_plain_advice(tmp_path, diagnose_case):
    """Only a `stat N` refused while a bare `stat` answered for the same module says "this firmware takes
    no address"; a refused `stat 3` beside an answered `stat 1` (a typo, an absent module) does not."""
    session = (CORPUS / "mman-us3000d-six-top-of-charge" / "console" / "session.txt").read_text()
    (tmp_path / "console").mkdir()
    (tmp_path / "console" / "s.txt").write_text(session.replace("pylon>stat 1\n", "pylon>stat 3\n"))
    d = diagnose_case(tmp_path)
    (gap,) = [g for g in d.evidence_gaps if g.startswith("No lifetime counters")]
    assert "refused" not in gap and "`stat 2`" in gap


def test_addresses_typed_in_rs485_numbering_are_not_a_dip_fault_when_pwr_counts_1_to_n(
    tmp_path, diagnose_case
):
    """RS485 tools count the master as address 2 (python-pylontech #2 and #23). case.yaml written that way
    (2..6) beside a real `pwr` listing the five modules at 1..5 was "reconfigure / dip_address_gap: settings
    must change"; the BMS's own table shows the chain numbered right, so the typed numbers are what is off."""
    src = CORPUS / "hrabovszki-us2000c-master-with-older-us2000"
    (tmp_path / "console").mkdir()
    (tmp_path / "console" / "session.txt").write_text((src / "console" / "session.txt").read_text())
    yaml_text = (src / "case.yaml").read_text()
    for a in range(5, 0, -1):
        yaml_text = yaml_text.replace(f"address: {a}}}", f"address: {a + 1}}}")
    (tmp_path / "case.yaml").write_text(yaml_text)
    d = diagnose_case(tmp_path)
    assert d.outcome.value != "reconfigure"
    (f,) = [f for f in d.findings if f.code == Cause.DIP_ADDRESS_GAP]
    assert f.severity.value == "info" and "1..5 in order" in f.message
