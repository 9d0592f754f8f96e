"""The monitor loop against a real mosquitto: discovery once, a state when it changes, one alert per change,
``offline`` on a clean stop and, through the broker's last will, when the process dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from itertools import cycle
from pathlib import Path
from typing import Any

from pylondiag.model.diagnosis import Diagnosis
from pylondiag.model.stack import CaseView
from pylondiag.mqtt.alerts import AlertGate
from pylondiag.mqtt.run import Monitor, Target
from pylondiag.pipeline import run_case
from shared_paths import REPO

CASES = REPO / "examples" / "cases"


def _readings(*names: str) -> list[tuple[CaseView, Diagnosis]]:
    out = []
    for name in names:
        r = run_case(CASES / name)
        out.append((r.view, r.diagnosis))
    return out


def test_polls_publish_changes_discovery_once_and_alert_once(broker: Any, subscriber: Any) -> None:
    healthy, rebalance = _readings("healthy-us3000c-stack", "rebalance-us2000c-cell-imbalance")
    sequence = iter([healthy, healthy, rebalance, rebalance, rebalance, rebalance])
    polls: list[str] = []
    monitor = Monitor(
        Target(broker.url),
        "loop",
        read=lambda: next(sequence),
        every_s=60,
        gate=AlertGate(confirm=2, min_interval_s=3600),
        sleep=lambda _s: None,
    )
    assert monitor.run(polls=6, on_poll=lambda n, d: polls.append(d.outcome.value)) == 6
    assert polls == ["no_fault"] * 2 + ["rebalance"] * 4
    base = "pylondiag/loop"
    assert subscriber.wait_for(f"{base}/status", b"offline") == b"offline"  # clean stop
    assert subscriber.wait_for(f"{base}/diagnosis/action") == b"ON"
    assert subscriber.count(f"{base}/diagnosis/outcome") == 2  # retained: published when it changes
    stack_config = "homeassistant/sensor/pylondiag_loop/stack_outcome/config"
    assert subscriber.count(stack_config) == 1  # discovery once per entity
    assert subscriber.count(f"{base}/alert") == 1
    alert = json.loads(subscriber.last[f"{base}/alert"])
    assert alert["outcome"] == "rebalance" and alert["previous_outcome"] is None


SCRIPT = """
import sys, time
from pylondiag.mqtt.client import Broker, BrokerUrl
b = Broker(BrokerUrl.parse(sys.argv[1]), "will-test", "pylondiag/will/status")
b.connect()
print("connected", flush=True)
time.sleep(600)
"""


def test_last_will_marks_the_stack_offline_when_the_process_dies(
    broker: Any, subscriber: Any, tmp_path: Path
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, broker.url], stdout=subprocess.PIPE, text=True, env={**os.environ}
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "connected"
        assert subscriber.wait_for("pylondiag/will/status", b"online") == b"online"
        os.kill(proc.pid, signal.SIGKILL)  # no clean close: only the broker can say offline now
        started = time.monotonic()
        assert subscriber.wait_for("pylondiag/will/status", b"offline", timeout=30) == b"offline"
        assert time.monotonic() - started < 30
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_flapping_readings_never_alert(broker: Any, subscriber: Any) -> None:
    healthy, rebalance = _readings("healthy-us3000c-stack", "rebalance-us2000c-cell-imbalance")
    flaps = cycle([healthy, rebalance])
    monitor = Monitor(Target(broker.url), "flappy", read=lambda: next(flaps), sleep=lambda _s: None)
    monitor.run(polls=12)
    subscriber.wait_for("pylondiag/flappy/status", b"offline")
    assert subscriber.count("pylondiag/flappy/diagnosis/outcome") == 12
    assert subscriber.count("pylondiag/flappy/alert") == 0


def test_a_battery_that_stops_answering_goes_offline_then_back_and_finally_gives_up(
    broker: Any, subscriber: Any
) -> None:
    import pytest

    from pylondiag.errors import PylondiagError
    from pylondiag.mqtt.run import BatteryLost

    (healthy,) = _readings("healthy-us3000c-stack")
    script = iter(["ok", "fail", "fail", "ok", "fail", "fail", "fail"])
    statuses: list[bytes] = []

    def read() -> tuple[CaseView, Diagnosis]:
        if next(script) == "fail":
            raise PylondiagError("no console answered")
        return healthy

    def sleep(_s: float) -> None:  # between polls: note the status the broker holds
        statuses.append(subscriber.wait_for("pylondiag/lossy/status"))

    monitor = Monitor(Target(broker.url), "lossy", read=read, sleep=sleep, give_up_after=3)
    with pytest.raises(BatteryLost, match="3 polls in a row"):
        monitor.run()
    assert subscriber.wait_for("pylondiag/lossy/status", b"offline") == b"offline"
    assert subscriber.count("pylondiag/lossy/diagnosis/outcome") == 1  # the same both times: sent once
    log = [p for t, p in subscriber.log if t == "pylondiag/lossy/status"]
    assert log[:4] == [b"online", b"offline", b"offline", b"online"], log
    # the first poll failing is a wrong port or cable: raised at once, nothing published as a state
    first = Monitor(Target(broker.url), "never", read=read, sleep=lambda _s: None)
    script = iter(["fail"])
    with pytest.raises(PylondiagError, match="no console"):
        first.run()
