"""The broker connection (paho-mqtt): availability with a last will, retained publishing, clean close.

``mqtt://[user[:password]@]host[:port]`` (default port 1883) or ``mqtts://`` (TLS, default 8883).
On connect the client publishes ``online`` on the stack's status topic; the broker publishes
``offline`` there by itself if the connection dies (the MQTT last will), and :meth:`Broker.close`
publishes ``offline`` before a clean disconnect — so Home Assistant greys the entities out.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from pylondiag.errors import PylondiagError
from pylondiag.mqtt.discovery import Message

CONNECT_TIMEOUT_S = 10.0
PUBLISH_TIMEOUT_S = 10.0


class BrokerUnavailable(PylondiagError):
    """The MQTT broker cannot be reached or refused the connection (CLI exit 3)."""


class BadBrokerUrl(PylondiagError):
    """``--mqtt`` is not an ``mqtt://host[:port]`` URL (CLI exit 2)."""


@dataclass(frozen=True)
class BrokerUrl:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise BadBrokerUrl(f"--mqtt {url!r}: give mqtt://HOST[:PORT] (or mqtts:// for TLS)")
        try:
            port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        except ValueError:
            raise BadBrokerUrl(f"--mqtt {url!r}: the port is not a number from 1 to 65535") from None
        return cls(
            host=parts.hostname,
            port=port,
            tls=parts.scheme == "mqtts",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def shown(self) -> str:
        """The URL without the password (for messages)."""
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


class Broker:
    """One connection, used from one thread; paho's network loop runs in its own thread."""

    def __init__(self, url: BrokerUrl, client_id: str, status_topic: str) -> None:
        self.url = url
        self.status_topic = status_topic
        self._connected = threading.Event()
        self._refused: str | None = None
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        if url.username:
            self._client.username_pw_set(url.username, url.password)
        if url.tls:
            self._client.tls_set()
        self._client.will_set(status_topic, "offline", qos=1, retain=True)
        self._client.on_connect = self._on_connect

    def _on_connect(self, _c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            self._refused = str(reason)
        self._connected.set()

    def connect(self) -> None:
        """Connect, then publish ``online``; :class:`BrokerUnavailable` when that is not possible."""
        try:
            self._client.connect(self.url.host, self.url.port, keepalive=60)
        except OSError as exc:
            raise BrokerUnavailable(
                f"cannot reach the MQTT broker {self.url.shown()}: {exc.strerror or exc}"
            ) from None
        self._client.loop_start()
        if not self._connected.wait(CONNECT_TIMEOUT_S) or self._refused:
            self._client.loop_stop()
            why = self._refused or f"no answer within {CONNECT_TIMEOUT_S:.0f} s"
            raise BrokerUnavailable(f"the MQTT broker {self.url.shown()} refused the connection: {why}")
        self.publish([Message(self.status_topic, "online")])

    def publish(self, messages: list[Message]) -> None:
        """Publish at QoS 1 and wait until the broker has every message."""
        infos = [self._client.publish(m.topic, m.payload, qos=1, retain=m.retain) for m in messages]
        for info in infos:
            try:
                info.wait_for_publish(PUBLISH_TIMEOUT_S)
            except (RuntimeError, ValueError) as exc:
                raise BrokerUnavailable(f"lost the MQTT broker {self.url.shown()}: {exc}") from None
            if not info.is_published():
                raise BrokerUnavailable(f"the MQTT broker {self.url.shown()} did not take a message in time")

    def close(self, *, offline: bool = True) -> None:
        """Disconnect cleanly, publishing ``offline`` first unless the values stay valid (``publish``).

        The last will is only for unclean ends (the process killed, the network gone).
        """
        if offline:
            with contextlib.suppress(BrokerUnavailable):
                self.publish([Message(self.status_topic, "offline")])
        self._client.disconnect()
        self._client.loop_stop()
