"""Damaged real captures (truncated, bytes flipped, mixed line ends) never stop a diagnosis: exit 0,
a spec-valid document, evidence lines that exist."""

from __future__ import annotations

import json
import random
import shutil

import pytest

from pylondiag.pipeline import run_case


@pytest.fixture(autouse=True)
def _strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYLONDIAG_STRICT_RULES", "1")  # a reader or rule bug must fail here


@pytest.mark.parametrize("seed", range(12))
def test_damaged_captures(captures_dir, tmp_path, validator, seed):
    import importlib.util

    spec = importlib.util.spec_from_file_location("vd", validator)
    assert spec and spec.loader
    vd = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vd)
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
    doc = json.loads(json.dumps(run_case(case).diagnosis.to_json_dict()))
    assert vd.check(case, doc) == []
    shutil.rmtree(case)
