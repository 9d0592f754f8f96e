"""The fuzzers in the suite (issue 15 item 10): every input that ever crashed a reader is replayed, and
each coverage-guided fuzzer runs for a few seconds from its seeds without finding a crash.

Longer runs (minutes to hours, growing a kept corpus) are in ``docs/fuzzing.md``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import fuzz_targets
import pytest

RUNNER = Path(__file__).resolve().parent / "run_fuzzer.py"
BOUNDED_SECONDS = 2


@pytest.mark.parametrize("target", list(fuzz_targets.TARGETS))
def test_every_crash_found_so_far_is_fixed(target: str) -> None:
    for path in fuzz_targets.regressions(target):
        fuzz_targets.load(target)(path.read_bytes())  # raises (fails the test) if it still crashes


def test_the_regression_corpus_is_not_empty() -> None:
    """The fuzzer found real bugs in the upload path; their inputs stay in the repository."""
    assert len(fuzz_targets.regressions("upload")) >= 2


@pytest.mark.parametrize("target", list(fuzz_targets.TARGETS))
def test_bounded_fuzz_run_finds_no_crash(target: str) -> None:
    if os.environ.get("CI") != "true":
        pytest.importorskip("atheris", reason="atheris (a dev dependency) is not installed")
    run = subprocess.run(
        [sys.executable, str(RUNNER), target, f"--seconds={BOUNDED_SECONDS}", "--max-len=16384"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    executed = re.search(r"stat::number_of_executed_units:\s*(\d+)", out)
    coverage = re.search(r"DONE\s+cov: (\d+)", out)
    assert executed and int(executed.group(1)) > 0, out[-2000:]
    assert coverage and int(coverage.group(1)) > 50, "pylondiag's code is instrumented"
