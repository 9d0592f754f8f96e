"""One encoding rule for evidence (issue 15 item 7): values are read in the file's detected encoding,
citations quote the spec's text of the line (UTF-8, undecodable bytes as U+FFFD), so the shared validator
finds every quote of a cp1252 inverter log."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from pylondiag.evidence.inverter_log import read_inverter_log
from pylondiag.model.diagnosis import Diagnosis

REPO = Path(__file__).resolve().parents[2]
DEYE = REPO / "examples" / "cases" / "inv-cold-mornings-deye"
CP1252_LINE = "Battery_comm_warn (garage 4\u00b0C t\u00e9l\u00e9m\u00e9trie)"


def cp1252_case(tmp_path: Path) -> Path:
    """The Deye example with its first cited row's message in Windows-1252 (degree sign, accents)."""
    case = tmp_path / "case"
    shutil.copytree(DEYE, case)
    log = case / "inverter" / "events.csv"
    text = log.read_text(encoding="utf-8")
    log.write_bytes(text.replace("Battery_comm_warn", CP1252_LINE, 1).encode("cp1252"))
    return case


def test_values_are_decoded_and_citations_quote_the_spec_text(tmp_path: Path) -> None:
    data = (cp1252_case(tmp_path) / "inverter" / "events.csv").read_bytes()
    log = read_inverter_log(data, "inverter/events.csv", brand="deye")
    first = log.events[0]
    assert first.text == CP1252_LINE, "the value is read in the file's own encoding"
    spec_line = data.split(b"\n")[1].decode("utf-8", errors="replace")
    assert first.provenance.raw == spec_line and "\ufffd" in spec_line


def test_the_validator_finds_every_quote_of_a_cp1252_log(
    tmp_path: Path, diagnose_case: Callable[[Path], Diagnosis]
) -> None:
    diagnosis = diagnose_case(cp1252_case(tmp_path))  # fails on any validator problem
    quotes = [e.quote or "" for f in diagnosis.findings for e in f.evidence]
    assert any("\ufffd" in q for q in quotes), "the cp1252 line is cited"
