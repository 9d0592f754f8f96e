"""Damaged real captures (truncated, bytes flipped, mixed line ends) never stop a diagnosis: exit 0,
a spec-valid document, evidence lines that exist."""

from __future__ import annotations

import random
import shutil

import pytest

from pylondiag.pipeline import run_case


@pytest.fixture(autouse=True)
def _strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYLONDIAG_STRICT_RULES", "1")  # a reader or rule bug must fail here


@pytest.mark.parametrize("seed", range(12))
def test_damaged_captures(captures_dir, tmp_path, spec_check, seed):
    rng = random.Random(seed)
    files = sorted(captures_dir.glob("*.txt"))
    case = tmp_path / "case"
    (case / "console").mkdir(parents=True)
    for f in rng.sample(files, 4):
        data = bytearray(f.read_bytes())
        op = rng.choice(["truncate", "flip", "crlf", "dup"])
        if op == "truncate":
            data = data[: rng.randrange(1, len(data))]
        elif op == "flip":
            for _ in range(20):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif op == "crlf":
            data = bytearray(bytes(data).replace(b"\n", b"\r\r\n"))
        else:
            data = data + data
        (case / "console" / f.name).write_bytes(bytes(data))
    assert spec_check(case, run_case(case).diagnosis) == []
    shutil.rmtree(case)
