"""``pylondiag monitor`` end to end: the console emulator (``pylondiag sim serve``) as the battery,
a real mosquitto as the broker, the command as a user runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _cli(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pylondiag", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ},
    )


@pytest.fixture
def emulator() -> Iterator[str]:
    """``socket://127.0.0.1:PORT`` of ``pylondiag sim serve --scenario cell_imbalance``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pylondiag", "sim", "serve", "--scenario", "cell_imbalance", "--seed", "0",
         "--tcp", "127.0.0.1:0"],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        m = re.search(r"on 127\.0\.0\.1:(\d+)", line)
        assert m, line
        yield f"socket://127.0.0.1:{m.group(1)}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_monitor_a_simulated_stack_into_home_assistant_topics(
    broker: Any, subscriber: Any, emulator: str, tmp_path: Path, validator: Path
) -> None:
    keep = tmp_path / "latest"
    r = _cli(
        "-v", "monitor", emulator, "--mqtt", broker.url, "--name", "sim", "--every", "5s", "--polls", "2",
        "--keep-last", keep,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("poll ") == 2
    base = "pylondiag/sim"
    assert subscriber.wait_for(f"{base}/status", b"offline") == b"offline"  # clean stop at the end
    statuses = [p for t, p in subscriber.log if t == f"{base}/status"]
    assert statuses[0] == b"online"
    attributes = json.loads(subscriber.wait_for(f"{base}/diagnosis/outcome/attributes"))
    volts = float(subscriber.wait_for(f"{base}/module/1/voltage"))
    assert 40 < volts < 60
    assert subscriber.wait_for("homeassistant/sensor/pylondiag_sim/module_1_voltage/config")
    # the kept reading is a case directory whose diagnosis is the one published, and spec-valid
    doc = _cli("diagnose", keep, "--format", "json")
    assert doc.returncode == 0, doc.stderr
    assert json.loads(doc.stdout)["outcome"] == attributes["outcome"]
    v = subprocess.run(
        [sys.executable, validator, keep, "-"], input=doc.stdout, capture_output=True, text=True
    )
    assert v.returncode == 0, v.stdout


def test_monitor_without_a_console_is_one_line_and_exit_3(broker: Any) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()  # accepts, never answers: no console there
        port = s.getsockname()[1]
        r = _cli(
            "monitor", f"socket://127.0.0.1:{port}", "--mqtt", broker.url, "--polls", "1", "--timeout", "1"
        )
    assert r.returncode == 3, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
