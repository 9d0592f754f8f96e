"""A real MQTT broker for the tests: Debian's ``mosquitto`` (installed by ``scripts/setup.sh``) on a
free port of 127.0.0.1, one per test module, and a subscriber that records what is published."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion


def _mosquitto() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found is None:
        pytest.fail("mosquitto is not installed: run scripts/setup.sh (it installs Debian's mosquitto)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mosquitto:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    conf = tmp_path_factory.mktemp("mosquitto") / "mosquitto.conf"
    port = _free_port()
    conf.write_text(
        # max_queued_messages 0: keep every QoS 1 message for a slow subscriber (the default, 1000, drops
        # messages when a loaded test machine reads a few thousand states late; the tests count them)
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n"
        "max_queued_messages 0\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [_mosquitto(), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"mosquitto exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("mosquitto did not start listening")
    yield Mosquitto(port, proc)
    proc.terminate()
    proc.wait(timeout=10)


@dataclass
class Recorder:
    """Every message on the subscribed topics: ``last[topic]`` and the ordered ``log``."""

    client: paho.Client
    last: dict[str, bytes] = field(default_factory=dict)
    retained: dict[str, bool] = field(default_factory=dict)
    log: list[tuple[str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, topic: str, payload: bytes | None = None, timeout: float = 30) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                got = self.last.get(topic)
            if got is not None and (payload is None or got == payload):
                return got
            time.sleep(0.02)
        raise AssertionError(
            f"nothing {'= ' + repr(payload) + ' ' if payload else ''}on {topic} in {timeout} s"
        )

    def count(self, topic: str) -> int:
        with self.lock:
            return sum(1 for t, _ in self.log if t == topic)


@pytest.fixture
def subscriber(broker: Mosquitto) -> Iterator[Recorder]:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{time.monotonic_ns()}")
    rec = Recorder(client)
    ready = threading.Event()

    def on_message(_c: object, _u: object, msg: paho.MQTTMessage) -> None:
        with rec.lock:
            rec.last[msg.topic] = msg.payload
            rec.retained[msg.topic] = bool(msg.retain)
            rec.log.append((msg.topic, msg.payload))

    client.on_message = on_message
    client.on_subscribe = lambda *_a: ready.set()
    client.connect("127.0.0.1", broker.port)
    client.subscribe([("pylondiag/#", 1), ("homeassistant/#", 1)])
    client.loop_start()
    assert ready.wait(10), "subscription not acknowledged"
    yield rec
    client.disconnect()
    client.loop_stop()
