"""``pylondiag publish CASE --mqtt URL`` against a real mosquitto: Home Assistant discovery (validated
against the schema written from Home Assistant's documentation), states, diagnosis, availability, the
alert on MQTT and through an apprise notification URL, and clear failures."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pylondiag.casedir import load_case
from pylondiag.diagnosis import diagnose
from pylondiag.mqtt.discovery import Topics, diagnosis_messages, discovery_messages, state_messages
from pylondiag.mqtt.state import stack_state
from shared_paths import REPO

Mosquitto = Recorder = Any  # the fixtures' types live in conftest.py

CASES = REPO / "examples" / "cases"
REBALANCE = CASES / "rebalance-us2000c-cell-imbalance"
HEALTHY = CASES / "healthy-us3000c-stack"
SCHEMA = json.loads((Path(__file__).parent / "ha_discovery.schema.json").read_text(encoding="utf-8"))


def ha_validator(component: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{component}"})


def validate_discovery(topic: str, payload: dict[str, Any]) -> None:
    component = topic.split("/")[1]
    assert component in ("sensor", "binary_sensor"), topic
    errors = [e.message for e in ha_validator(component).iter_errors(payload)]
    assert not errors, (topic, errors)


def publish(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pylondiag", "publish", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )


def test_schema_refuses_what_home_assistant_refuses() -> None:
    """The hand-written schema is no rubber stamp: wrong units, unknown keys, enums without options fail."""
    ok = {"state_topic": "a/b", "device_class": "voltage", "unit_of_measurement": "V", "unique_id": "x"}
    assert not list(ha_validator("sensor").iter_errors(ok))
    for bad in (
        {**ok, "unit_of_measurement": "VDC"},
        {**ok, "stat_topic": "typo"},
        {"state_topic": "a/b", "device_class": "enum"},
        {"state_topic": "a/#"},
        {**ok, "device": {"name": "no identifiers"}},
    ):
        assert list(ha_validator("sensor").iter_errors(bad)), bad
    assert list(ha_validator("binary_sensor").iter_errors({"state_topic": "a", "device_class": "voltage"}))


def test_every_discovery_payload_of_a_real_case_is_valid() -> None:
    view = load_case(REBALANCE)
    diagnosis = diagnose(view)
    topics = Topics("garage")
    state = stack_state(view, "garage")
    assert state.modules and any(m.cells for m in state.modules)
    configs = discovery_messages(topics, state)
    unique = set()
    for m in configs:
        payload = json.loads(m.payload)
        validate_discovery(m.topic, payload)
        unique.add(payload["unique_id"])
        assert payload["availability_topic"] == "pylondiag/garage/status"
    assert len(unique) == len(configs)  # Home Assistant needs one unique_id per entity
    published = {m.topic for m in state_messages(topics, state) + diagnosis_messages(topics, diagnosis)}
    for m in configs:  # every entity's state topic gets a value (or the value was not reported at all)
        payload = json.loads(m.payload)
        if payload["state_topic"] not in published:
            assert "/cell/" in payload["state_topic"] or payload["state_topic"].endswith(
                ("/soh", "/soc", "/state")
            )


@pytest.fixture
def webhook() -> Iterator[list[dict[str, Any]]]:
    """A local HTTP endpoint for apprise's ``json://`` notifications; yields the bodies received."""
    received: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_a: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    received.append({"port": server.server_address[1]})
    yield received
    server.shutdown()


def test_publish_a_diagnosed_case(
    broker: Mosquitto, subscriber: Recorder, webhook: list[dict[str, Any]]
) -> None:
    port = webhook.pop(0)["port"]
    r = publish(
        REBALANCE, "--mqtt", broker.url, "--name", "Garage Stack", "--notify", f"json://127.0.0.1:{port}/hook"
    )
    assert r.returncode == 0, r.stderr
    base = "pylondiag/garage_stack"
    assert subscriber.wait_for(f"{base}/status") == b"online"
    assert subscriber.retained[f"{base}/status"] or subscriber.count(f"{base}/status") >= 1
    outcome = subscriber.wait_for(f"{base}/diagnosis/outcome").decode()
    assert outcome == "Rebalancing needed"
    assert subscriber.wait_for(f"{base}/diagnosis/culprits") == b"3"
    assert subscriber.wait_for(f"{base}/diagnosis/action") == b"ON"
    attributes = json.loads(subscriber.wait_for(f"{base}/diagnosis/summary/attributes"))
    assert attributes["outcome"] == "rebalance" and attributes["culprit_modules"] == [3]
    assert attributes["findings"] and all("\n" not in line for line in attributes["findings"])
    volts = float(subscriber.wait_for(f"{base}/module/3/voltage"))
    assert 40 < volts < 60
    spread = int(subscriber.wait_for(f"{base}/module/3/cell_spread"))
    assert spread > 50
    assert 2.5 < float(subscriber.wait_for(f"{base}/module/3/cell/1/voltage")) < 3.7
    configs = {
        t: json.loads(p)
        for t, p in subscriber.last.items()
        if t.startswith("homeassistant/") and "garage_stack" in t
    }
    assert len(configs) > 30
    for topic, payload in configs.items():
        validate_discovery(topic, payload)
    alert = json.loads(subscriber.wait_for(f"{base}/alert"))
    assert alert["outcome"] == "rebalance" and alert["culprit_modules"] == [3]
    assert not subscriber.retained[f"{base}/alert"]
    (note,) = webhook
    assert note["title"] == alert["title"] and "module 3" in note["title"]


def test_publish_healthy_case_raises_no_alert(broker: Mosquitto, subscriber: Recorder) -> None:
    r = publish(HEALTHY, "--mqtt", broker.url, "--name", "house")
    assert r.returncode == 0, r.stderr
    assert subscriber.wait_for("pylondiag/house/diagnosis/action") == b"OFF"
    assert subscriber.count("pylondiag/house/alert") == 0


def test_unreachable_broker_and_bad_urls(tmp_path: Path) -> None:
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    r = publish(HEALTHY, "--mqtt", f"mqtt://user:pw@127.0.0.1:{dead}")
    assert r.returncode == 3 and r.stderr.count("\n") == 1 and "cannot reach the MQTT broker" in r.stderr
    assert "pw@" not in r.stderr
    r = publish(HEALTHY, "--mqtt", "http://127.0.0.1")
    assert r.returncode == 2 and "mqtt://HOST" in r.stderr
    r = publish(HEALTHY, "--mqtt", f"mqtt://127.0.0.1:{dead}", "--notify", "nosuch://x")
    assert r.returncode == 2 and "apprise" in r.stderr
    r = publish(tmp_path / "missing", "--mqtt", f"mqtt://127.0.0.1:{dead}")
    assert r.returncode == 2 and "Traceback" not in r.stderr
