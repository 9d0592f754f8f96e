"""Write a simulated scenario as a case directory (``shared/spec/case-format.md``) plus its label.

Layout: ``case.yaml`` (the owner's observations: sometimes partial, in the owner's words),
``console/*.txt`` (captures taken during the run, byte-exact emulator output), ``inverter/`` (the
inverter's event log in one export shape chosen from the seed, :func:`inverter_log_shape`), and
``label.json`` (``outcome``, ``primary_cause``, ``culprit_modules``:
what the scenario injected). ``label.json`` is not part of the case format; case readers ignore it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pylondiag.sim.bms import PROTECT
from pylondiag.sim.scenarios.base import SimResult

ALWAYS_INVERTER_KEYS = {
    "over_current": {"max_discharge_current_a"},
    "inverter_charge_limits": {"charge_voltage_v"},
    "module_count_mismatch": {"configured_modules", "configured_capacity_ah"},
    "inverter_comms_config": {"battery_type", "battery_protocol"},
}
"""Settings the owner reports for that scenario (the symptom made them look)."""


def _led(res: SimResult, i: int) -> str:
    st = res.stack
    fl = int(st.flags[i])
    if fl & int(PROTECT) or st.system_fault[i]:
        return "red"
    if fl:
        return "red_flashing"
    return "green"


def case_yaml(res: SimResult, seed: int) -> dict[str, Any]:
    s = res.setup
    rng = np.random.default_rng([seed, 99])
    inv = s.inverter
    keep = ALWAYS_INVERTER_KEYS.get(s.name, set())

    def maybe(key: str, p: float = 0.8) -> bool:
        return key in keep or rng.random() < p

    inverter: dict[str, Any] = {"brand": inv.brand}
    if maybe("model"):
        inverter["model"] = inv.model
    if maybe("battery_type", 0.7):
        inverter["battery_type"] = inv.battery_type
    if maybe("battery_protocol", 0.6):
        inverter["battery_protocol"] = inv.battery_protocol
    if inv.configured_modules is not None and maybe("configured_modules", 0.7):
        inverter["configured_modules"] = inv.configured_modules
    if inv.configured_capacity_ah is not None and maybe("configured_capacity_ah", 0.5):
        inverter["configured_capacity_ah"] = inv.configured_capacity_ah
    if inv.charge_voltage_v is not None and not s.omit_charge_voltage:
        inverter["charge_voltage_v"] = inv.charge_voltage_v
    if maybe("max_charge_current_a", 0.6):
        inverter["max_charge_current_a"] = inv.max_charge_current_a
    if maybe("max_discharge_current_a", 0.6):
        inverter["max_discharge_current_a"] = inv.max_discharge_current_a
    if inv.replaced_on is not None:
        inverter["replaced_on"] = inv.replaced_on.date()
    if inv.firmware_updated_on is not None:
        inverter["firmware_updated_on"] = inv.firmware_updated_on.date()

    address: dict[int, int] = {}
    for chain in s.chains:
        for a, idx in enumerate(chain, start=1):
            address[idx] = a
    stack: list[dict[str, Any]] = []
    for i, m in enumerate(s.modules):
        e: dict[str, Any] = {"position": m.position, "model": m.model}
        if rng.random() < 0.6:
            e["serial"] = m.serial
        e["installed"] = f"{m.installed.year:04d}-{m.installed.month:02d}"
        if not s.omit_leds:
            led = s.owner_led_words.get(m.position, _led(res, i))
            if m.position in s.owner_led_words or led != "green" or rng.random() < 0.8:
                e["led"] = led
        if m.position in s.dips:
            e["dip"] = s.dips[m.position]
        elif rng.random() < 0.4:
            e["dip"] = m.dip
        if m.position in s.roles:
            e["role"] = s.roles[m.position]
        elif m.link_port0_empty and rng.random() < 0.6:
            e["role"] = "master"
        if address[i] != m.position or len(s.chains) > 1 or rng.random() < 0.3:
            e["address"] = address[i]
        if m.position in s.groups:
            e["group"] = s.groups[m.position]
        if m.notes:
            e["notes"] = m.notes
        stack.append(e)
    stack.sort(key=lambda e: int(e["position"]))
    end = res.stack.time
    doc: dict[str, Any] = {
        "schema": "pylondiag.case/1",
        "case_id": f"sim-{s.name}-{seed}",
        "observed_at": end.strftime("%Y-%m-%dT%H:%M"),
        "site": {
            "timezone": "Europe/London",
            "location": s.site_location,
            "ambient_c": round(float(s.ambient(np.array([s.hours]))[0]), 1),
        },
        "inverter": inverter,
    }
    if s.write_stack:
        doc["stack"] = stack
    else:
        doc["stack"] = [{"position": e["position"], "model": e["model"]} for e in stack]
    if s.symptoms:
        doc["symptoms"] = list(s.symptoms)
    if s.history:
        doc["history"] = list(s.history)
    if s.notes:
        doc["notes"] = s.notes
    return doc


INVERTER_LOG_FILES: dict[str, str] = {
    "generic_csv": "events.csv",
    "home_assistant_history": "history.csv",
    "luxpower_event_list": "events.json",
}
"""File name per export shape (the case reader recognises the shape by content, not by name)."""


def inverter_log_shape(scenario: str, brand: str, seed: int) -> str:
    """The export shape of the case's inverter log, drawn from the seed (and scenario name) so the corpus
    exercises every reader: Lux Power cases mostly the portal JSON, otherwise mostly the generic CSV,
    some Home Assistant history (any brand: HA integrations expose the fault sensors). Its own random
    stream, so the rest of the case is the same whatever the shape."""
    u = float(np.random.default_rng([seed, 41, sum(scenario.encode())]).random())
    if brand == "luxpower":
        return "luxpower_event_list" if u < 0.5 else "home_assistant_history" if u < 0.75 else "generic_csv"
    return "home_assistant_history" if u < 0.3 else "generic_csv"


def inverter_log_text(res: SimResult, shape: str, timezone: str) -> str:
    if shape == "home_assistant_history":
        return res.inverter.to_ha_history(timezone)
    if shape == "luxpower_event_list":
        return res.inverter.to_lux_json()
    return res.inverter.to_csv()


def write(res: SimResult, seed: int, out: Path, *, evidence: str = "console") -> Path:
    """Write the case directory for a simulated run; returns ``out``.

    ``evidence="bus"`` writes the same case seen only on the bus: ``case.yaml``, ``can/`` and ``rs485/``
    captures taken at the moments of the master's console captures, no console and no inverter log.
    """
    out.mkdir(parents=True, exist_ok=True)
    doc = case_yaml(res, seed)
    (out / "case.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    s = res.setup
    if evidence == "bus":
        for rel, data in sorted(res.bus.items()):
            (out / rel).parent.mkdir(exist_ok=True)
            (out / rel).write_bytes(data)
        (out / "label.json").write_text(json.dumps(s.label.to_json(), indent=2) + "\n", encoding="utf-8")
        return out
    if s.write_console and res.consoles:
        (out / "console").mkdir(exist_ok=True)
        for name, data in sorted(res.consoles.items()):
            (out / "console" / name).write_bytes(data)
    if s.write_inverter_log:
        (out / "inverter").mkdir(exist_ok=True)
        shape = inverter_log_shape(s.name, s.inverter.brand, seed)
        text = inverter_log_text(res, shape, str(doc["site"]["timezone"]))
        (out / "inverter" / INVERTER_LOG_FILES[shape]).write_text(text, encoding="utf-8")
    (out / "label.json").write_text(json.dumps(s.label.to_json(), indent=2) + "\n", encoding="utf-8")
    return out
