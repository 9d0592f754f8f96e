"""Topics, Home Assistant MQTT discovery payloads and state payloads (pure: no broker here).

Layout (``BASE`` = ``<topic prefix>/<stack id>``, default prefix ``pylondiag``):

* ``BASE/status`` — ``online`` / ``offline`` (retained; the broker publishes ``offline`` as last will);
* ``BASE/module/<address>/<key>`` — one value per topic, plain payload, retained (``voltage`` V,
  ``current`` A, ``temperature`` °C, ``soc`` %, ``soh`` %, ``cell_min``/``cell_max`` V, ``cell_spread``
  mV, ``state``, ``balancing`` ON/OFF, ``alarm`` ON/OFF with the alarm states as JSON attributes);
* ``BASE/module/<address>/cell/<n>/<key>`` — ``voltage`` V, ``temperature`` °C, ``balancing`` ON/OFF;
* ``BASE/diagnosis/<key>`` — ``outcome`` (plain words), ``culprits``, ``summary``, ``action`` (ON when
  the outcome asks the owner to do something) and ``BASE/diagnosis/attributes`` (JSON: outcome code,
  culprit positions, one line per finding);
* ``<discovery prefix>/<sensor|binary_sensor>/pylondiag_<stack>/<object>/config`` — one discovery
  payload per entity (retained), so the stack appears in Home Assistant by itself: one device for the
  stack and one per module (``via_device`` the stack).

A value the console did not report is not published (the entity stays *unknown*), never a made-up 0.
Discovery keys and device classes/units follow Home Assistant's MQTT sensor and binary sensor
documentation (https://www.home-assistant.io/integrations/sensor.mqtt/,
https://www.home-assistant.io/integrations/binary_sensor.mqtt/,
https://www.home-assistant.io/integrations/sensor/#device-class); the tests validate every payload
against a JSON Schema written from those pages (``tests/mqtt/ha_discovery.schema.json``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from pylondiag import __version__
from pylondiag.model.diagnosis import Diagnosis, Outcome
from pylondiag.mqtt.state import CellState, ModuleState, StackState
from pylondiag.report.words import OUTCOME_HEADLINE, cause_label

ACTIONABLE: Final = frozenset(
    {Outcome.RECONFIGURE, Outcome.REPLACE, Outcome.ON_SITE_CHECK, Outcome.ENVIRONMENT, Outcome.REBALANCE}
)
"""Outcomes that ask the owner to do something (``monitor``/``no_fault``/``insufficient_evidence`` do not)."""

HA_STATE_MAX: Final = 255
"""Home Assistant keeps at most 255 characters of an entity's state."""


@dataclass(frozen=True)
class Message:
    topic: str
    payload: str
    retain: bool = True


@dataclass(frozen=True)
class Topics:
    """Where a stack's topics live."""

    stack_id: str
    prefix: str = "pylondiag"
    discovery_prefix: str = "homeassistant"

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.stack_id}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def alert(self) -> str:
        return f"{self.base}/alert"

    @property
    def node(self) -> str:
        return f"pylondiag_{self.stack_id}"


def slug(text: str) -> str:
    """A topic- and id-safe name: lower case letters, digits and ``_`` (``+``/``#``/``/`` never appear)."""
    cleaned = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return cleaned[:64] or "stack"


@dataclass(frozen=True)
class _Sensor:
    key: str
    name: str
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = "measurement"
    precision: int | None = None
    binary: bool = False
    enabled: bool = True
    options: tuple[str, ...] = ()
    attributes: bool = False
    category: str | None = None


MODULE_SENSORS: Final[tuple[_Sensor, ...]] = (
    _Sensor("voltage", "Voltage", "V", "voltage", precision=2),
    _Sensor("current", "Current", "A", "current", precision=2),
    _Sensor("temperature", "Temperature", "°C", "temperature", precision=1),
    _Sensor("soc", "State of charge", "%", "battery", precision=0),
    _Sensor("soh", "State of health", "%", None, precision=0),
    _Sensor("cell_min", "Lowest cell voltage", "V", "voltage", precision=3),
    _Sensor("cell_max", "Highest cell voltage", "V", "voltage", precision=3),
    _Sensor("cell_spread", "Cell voltage spread", "mV", "voltage", precision=0),
    _Sensor("state", "State", None, None, state_class=None),
    _Sensor("balancing", "Balancing", None, "running", state_class=None, binary=True),
    _Sensor("alarm", "Alarm", None, "problem", state_class=None, binary=True, attributes=True),
)

CELL_SENSORS: Final[tuple[_Sensor, ...]] = (
    _Sensor("voltage", "Cell {n} voltage", "V", "voltage", precision=3),
    _Sensor("temperature", "Cell {n} temperature", "°C", "temperature", precision=1, enabled=False),
    _Sensor("balancing", "Cell {n} balancing", None, "running", state_class=None, binary=True, enabled=False),
)
"""Per cell; temperatures and balancing flags start disabled in Home Assistant (15 per module)."""

STACK_SENSORS: Final[tuple[_Sensor, ...]] = (
    _Sensor(
        "outcome",
        "Diagnosis",
        None,
        "enum",
        state_class=None,
        options=tuple(OUTCOME_HEADLINE[o] for o in Outcome),
        attributes=True,
    ),
    _Sensor("culprits", "Modules at fault", None, None, state_class=None),
    _Sensor("summary", "Diagnosis summary", None, None, state_class=None, attributes=True),
    _Sensor("action", "Action needed", None, "problem", state_class=None, binary=True),
    _Sensor("soc", "State of charge", "%", "battery", precision=0),
    _Sensor("soh", "State of health", "%", None, precision=0),
)


def _device(topics: Topics, module: ModuleState | None) -> dict[str, Any]:
    stack = {
        "identifiers": [topics.node],
        "name": f"Battery stack {topics.stack_id}",
        "manufacturer": "Pylontech",
        "model": "US-series 48 V stack",
    }
    if module is None:
        return stack
    return {
        "identifiers": [f"{topics.node}_module_{module.address}"],
        "name": f"Battery stack {topics.stack_id} module {module.address}",
        "manufacturer": "Pylontech",
        "model": module.model or "US-series module",
        "via_device": topics.node,
    }


def _config(
    topics: Topics, sensor: _Sensor, state_topic: str, object_id: str, device: dict[str, Any], name: str
) -> Message:
    payload: dict[str, Any] = {
        "name": name,
        "unique_id": f"{topics.node}_{object_id}",
        "state_topic": state_topic,
        "availability_topic": topics.status,
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": device,
        "origin": {"name": "pylondiag", "sw_version": __version__},
    }
    if sensor.device_class:
        payload["device_class"] = sensor.device_class
    if sensor.binary:
        payload["payload_on"], payload["payload_off"] = "ON", "OFF"
    else:
        if sensor.unit:
            payload["unit_of_measurement"] = sensor.unit
        if sensor.state_class:
            payload["state_class"] = sensor.state_class
        if sensor.precision is not None:
            payload["suggested_display_precision"] = sensor.precision
        if sensor.options:
            payload["options"] = list(sensor.options)
    if sensor.attributes:
        payload["json_attributes_topic"] = f"{state_topic}/attributes"
    if not sensor.enabled:
        payload["enabled_by_default"] = False
    if sensor.category:
        payload["entity_category"] = sensor.category
    component = "binary_sensor" if sensor.binary else "sensor"
    return Message(
        f"{topics.discovery_prefix}/{component}/{topics.node}/{object_id}/config", json.dumps(payload)
    )


def discovery_messages(topics: Topics, state: StackState) -> list[Message]:
    """Every entity's discovery payload: the stack's, each module's and each cell's."""
    out = [
        _config(
            topics, s, f"{topics.base}/diagnosis/{s.key}", f"stack_{s.key}", _device(topics, None), s.name
        )
        for s in STACK_SENSORS
    ]
    for m in state.modules:
        device = _device(topics, m)
        base = f"{topics.base}/module/{m.address}"
        out += [
            _config(topics, s, f"{base}/{s.key}", f"module_{m.address}_{s.key}", device, s.name)
            for s in MODULE_SENSORS
        ]
        for c in m.cells:
            for s in CELL_SENSORS:
                out.append(
                    _config(
                        topics,
                        s,
                        f"{base}/cell/{c.cell}/{s.key}",
                        f"module_{m.address}_cell_{c.cell}_{s.key}",
                        device,
                        s.name.format(n=c.cell),
                    )
                )
    return out


def _fmt(value: float | int | bool | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    return str(value)


def _module_values(m: ModuleState) -> dict[str, float | int | bool | str | None]:
    return {
        "voltage": m.voltage_v,
        "current": m.current_a,
        "temperature": m.temperature_c,
        "soc": m.soc_pct,
        "soh": m.soh_pct,
        "cell_min": m.cell_min_v,
        "cell_max": m.cell_max_v,
        "cell_spread": m.cell_spread_mv,
        "state": m.base_state,
        "balancing": m.balancing,
        "alarm": bool(m.alarms),
    }


def _cell_values(c: CellState) -> dict[str, float | int | bool | str | None]:
    return {"voltage": c.voltage_v, "temperature": c.temperature_c, "balancing": c.balancing}


def state_messages(topics: Topics, state: StackState) -> list[Message]:
    """The current value of every module and cell entity (values not reported are left out)."""
    out: list[Message] = []
    for m in state.modules:
        base = f"{topics.base}/module/{m.address}"
        for key, value in _module_values(m).items():
            text = _fmt(value)
            if text is not None:
                out.append(Message(f"{base}/{key}", text))
        out.append(Message(f"{base}/alarm/attributes", json.dumps({"alarm_states": list(m.alarms)})))
        for c in m.cells:
            for key, value in _cell_values(c).items():
                text = _fmt(value)
                if text is not None:
                    out.append(Message(f"{base}/cell/{c.cell}/{key}", text))
    for key, value in (("soc", state.system_soc_pct), ("soh", state.system_soh_pct)):
        if value is not None:
            out.append(Message(f"{topics.base}/diagnosis/{key}", str(value)))
    return out


def finding_lines(diagnosis: Diagnosis) -> list[str]:
    """One line per finding in an owner's words: the module, what it is, and the first sentence."""
    lines = []
    for f in diagnosis.findings:
        where = f"Module {f.module}" if f.module is not None else "Stack"
        first = f.message.split(". ")[0].rstrip(".")
        lines.append(f"{where}: {cause_label(f.code)} — {first}.")
    return lines


def culprits_text(diagnosis: Diagnosis) -> str:
    if not diagnosis.culprit_modules:
        return "none"
    return ", ".join(str(p) for p in diagnosis.culprit_modules)


def diagnosis_messages(topics: Topics, diagnosis: Diagnosis) -> list[Message]:
    """The diagnosis entities' states and attributes."""
    base = f"{topics.base}/diagnosis"
    attributes = json.dumps(
        {
            "outcome": diagnosis.outcome.value,
            "primary_cause": diagnosis.primary_cause.value if diagnosis.primary_cause else None,
            "culprit_modules": diagnosis.culprit_modules,
            "findings": finding_lines(diagnosis),
            "summary": diagnosis.summary,
        },
        ensure_ascii=False,
    )
    return [
        Message(f"{base}/outcome", OUTCOME_HEADLINE[diagnosis.outcome]),
        Message(f"{base}/outcome/attributes", attributes),
        Message(f"{base}/culprits", culprits_text(diagnosis)),
        Message(f"{base}/summary", _clip(diagnosis.summary)),
        Message(f"{base}/summary/attributes", attributes),
        Message(f"{base}/action", "ON" if diagnosis.outcome in ACTIONABLE else "OFF"),
    ]


def _clip(text: str) -> str:
    return text if len(text) <= HA_STATE_MAX else text[: HA_STATE_MAX - 1].rstrip() + "…"
