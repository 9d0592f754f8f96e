"""The examples logged the ways terminal programs log (a timestamp on every line, CRLF or LF line ends,
a command corrected with backspaces): the same diagnosis, every quote found on its line by the spec's
validator (``diagnose_case``)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
CASES = ["rebalance-us2000c-cell-imbalance", "replace-weak-cell-after-rebalance", "onsite-hot-module"]


def _tera_term(data: bytes) -> bytes:
    stamp = b"[Fri Nov 20 09:12:40.123 2026] "
    return b"\n".join(stamp + line if line.strip() else line for line in data.split(b"\n"))


def _lf(data: bytes) -> bytes:
    return re.sub(rb"\r+\n", b"\n", data)


def _corrected(data: bytes) -> bytes:
    """Each ``bat N`` typed first as ``bat 9`` and corrected (BS, space, BS, N)."""
    return re.sub(rb"(>bat )(\d+)", lambda m: m.group(1) + b"9\x08 \x08" + m.group(2), data)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("log", [_tera_term, _lf, _corrected], ids=["tera-term-stamps", "lf", "corrected"])
def test_a_terminal_log_of_an_example_gives_its_diagnosis(tmp_path: Path, diagnose_case, name, log) -> None:
    case = tmp_path / name
    shutil.copytree(EXAMPLES / name, case)
    for capture in sorted((case / "console").iterdir()):
        capture.write_bytes(log(capture.read_bytes()))
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    d = diagnose_case(case)
    assert (d.outcome.value, d.culprit_modules) == (expected["outcome"], expected["culprit_modules"])
