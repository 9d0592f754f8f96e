"""``publish`` (a diagnosed case, once) and ``monitor`` (a live stack, polled) over MQTT."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pylondiag.errors import PylondiagError
from pylondiag.model.diagnosis import Diagnosis
from pylondiag.model.stack import CaseView
from pylondiag.mqtt.alerts import Alert, AlertGate
from pylondiag.mqtt.client import Broker, BrokerUrl
from pylondiag.mqtt.discovery import (
    ACTIONABLE,
    Message,
    Topics,
    diagnosis_messages,
    discovery_messages,
    slug,
    state_messages,
)
from pylondiag.mqtt.notify import Notifier
from pylondiag.mqtt.state import stack_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """Where to publish: the broker, the topic prefixes, and where alerts also go."""

    mqtt_url: str
    prefix: str = "pylondiag"
    discovery_prefix: str = "homeassistant"
    notify_urls: tuple[str, ...] = ()

    def topics(self, stack_id: str) -> Topics:
        return Topics(slug(stack_id), self.prefix, self.discovery_prefix)


def alert_message(topics: Topics, alert: Alert) -> Message:
    """The alert on ``BASE/alert`` (not retained: an event, not a state)."""
    payload = {
        "title": alert.title,
        "body": alert.body,
        "outcome": alert.outcome.value,
        "culprit_modules": list(alert.culprits),
        "previous_outcome": alert.previous.value if alert.previous else None,
    }
    return Message(topics.alert, json.dumps(payload, ensure_ascii=False), retain=False)


def snapshot_messages(topics: Topics, view: CaseView, diagnosis: Diagnosis) -> list[Message]:
    """Discovery, states and the diagnosis for one reading of the stack."""
    state = stack_state(view, topics.stack_id)
    return [
        *discovery_messages(topics, state),
        *state_messages(topics, state),
        *diagnosis_messages(topics, diagnosis),
    ]


def _broker(target: Target, topics: Topics) -> Broker:
    return Broker(
        BrokerUrl.parse(target.mqtt_url), f"pylondiag-{topics.stack_id}-{os.getpid()}", topics.status
    )


@dataclass
class Published:
    topics: Topics
    messages: int
    alert: Alert | None


def publish_case(case: Path, target: Target, stack_id: str | None = None) -> Published:
    """Diagnose ``case`` and publish it once; an actionable outcome is also sent as an alert.

    The status stays ``online`` (retained) afterwards: the values are a snapshot, not a live feed.
    """
    from pylondiag.pipeline import run_case

    notifier = Notifier(list(target.notify_urls))
    result = run_case(case)
    topics = target.topics(stack_id or result.view.case_id)
    messages = snapshot_messages(topics, result.view, result.diagnosis)
    alert = AlertGate(confirm=1).observe(result.diagnosis, 0.0)
    broker = _broker(target, topics)
    broker.connect()
    try:
        broker.publish(messages)
        if alert is not None:
            broker.publish([alert_message(topics, alert)])
    finally:
        broker.close(offline=False)
    if alert is not None:
        notifier.send(alert)
    return Published(topics, len(messages), alert)


Reading = Callable[[], tuple[CaseView, Diagnosis]]
"""One poll: read the stack and diagnose it."""


class BatteryLost(PylondiagError):
    """The stack stopped answering for ``give_up_after`` polls in a row (CLI exit 1)."""


@dataclass
class Monitor:
    """Poll, publish, alert. ``polls`` None runs until interrupted.

    A poll whose reading fails marks the stack ``offline`` and is retried at the next poll; the very
    first failing raises at once (nothing was ever read: a wrong port), ``give_up_after`` failures in a
    row raise :class:`BatteryLost`.
    """

    target: Target
    stack_id: str
    read: Reading
    every_s: float = 60.0
    gate: AlertGate = field(default_factory=AlertGate)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    give_up_after: int = 5

    def run(self, polls: int | None = None, on_poll: Callable[[int, Diagnosis], None] | None = None) -> int:
        """Returns the number of polls done."""
        topics = self.target.topics(self.stack_id)
        notifier = Notifier(list(self.target.notify_urls))
        broker = _broker(self.target, topics)
        broker.connect()
        done = failures = 0
        sent: dict[str, str] = {}
        try:
            while polls is None or done < polls:
                started = self.clock()
                try:
                    view, diagnosis = self.read()
                except PylondiagError as exc:
                    failures += 1
                    if done == 0 or failures >= self.give_up_after:
                        if done:
                            raise BatteryLost(f"{failures} polls in a row failed, the last: {exc}") from None
                        raise
                    log.warning("poll failed (%s); the stack is shown offline until it answers again", exc)
                    broker.publish([Message(topics.status, "offline")])
                else:
                    if failures:
                        broker.publish([Message(topics.status, "online")])
                    failures = 0
                    sent = self._publish(broker, topics, view, diagnosis, sent)
                    alert = self.gate.observe(diagnosis, self.clock())
                    if alert is not None:
                        broker.publish([alert_message(topics, alert)])
                        notifier.send(alert)
                    if on_poll is not None:
                        on_poll(done + 1, diagnosis)
                done += 1
                if polls is None or done < polls:
                    self.sleep(max(0.0, self.every_s - (self.clock() - started)))
        finally:
            broker.close(offline=True)
        return done

    @staticmethod
    def _publish(
        broker: Broker, topics: Topics, view: CaseView, diagnosis: Diagnosis, sent: dict[str, str]
    ) -> dict[str, str]:
        """Only what changed since the last poll: every message is retained, so the broker (and Home
        Assistant) already hold the rest; a 16-module stack is ~1000 topics, of which a poll changes few."""
        messages = snapshot_messages(topics, view, diagnosis)
        broker.publish([m for m in messages if sent.get(m.topic) != m.payload])
        return {**sent, **{m.topic: m.payload for m in messages}}


__all__ = ["ACTIONABLE", "BatteryLost", "Monitor", "Published", "Target", "publish_case"]
