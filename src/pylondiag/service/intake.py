"""The owner's guided form → a ``pylondiag.case/1`` ``case.yaml`` (``shared/spec/case-format.md``).

The form follows the method's order: when/where, the stack top to bottom (model, install date, serial,
LED, DIP switch, role), the inverter, what changed recently, symptoms, notes. Empty fields are left out
of ``case.yaml`` (every key but ``schema`` is optional); values keep the spec's spellings and types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final

import yaml

from pylondiag.model.case import DEFAULT_TIMEZONE, is_zone_name, zone_names

MAX_MODULES: Final = 16
"""``pwr`` lists 16 addresses per group (shared/domain/hardware/panel_dip.md §4)."""
HISTORY_ROWS: Final = 3

MODELS: Final = ("US2000", "US2000B", "US2000C", "US3000", "US3000C", "US5000", "US5000-1C", "other")
LEDS: Final = ("off", "green", "green_flashing", "amber", "amber_flashing", "red", "red_flashing")
BRANDS: Final = (
    "sunsynk",
    "deye",
    "victron",
    "solis",
    "solax",
    "goodwe",
    "growatt",
    "sofar",
    "sma",
    "foxess",
    "luxpower",
    "givenergy",
    "other",
)
SYMPTOMS: Final = (
    "whole_bank_shutdown",
    "capacity_drop",
    "soc_jumps",
    "intermittent_trips",
    "bms_comms_alarm",
    "not_charging",
    "not_discharging",
)
HISTORY_EVENTS: Final = (
    "modules_added",
    "modules_removed",
    "module_replaced",
    "inverter_replaced",
    "inverter_firmware_update",
    "rebalance_cycle",
    "moved",
)
ROLES: Final = ("master", "slave")


def time_zones() -> list[str]:
    """The choices of the form's time zone field: every zone of the zone database, sorted."""
    return sorted(zone_names())


FormValues = Mapping[str, str | Sequence[str]]


class IntakeErrors(Exception):
    """What to fix: ``errors`` for the top of the form, ``fields`` the message next to each field."""

    def __init__(self, errors: list[str], fields: dict[str, str] | None = None) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
        self.fields = fields or {}


def _get(form: FormValues, key: str) -> str:
    value = form.get(key, "")
    if isinstance(value, str):
        return value.strip()
    return str(value[0]).strip() if value else ""


def _getall(form: FormValues, key: str) -> list[str]:
    value = form.get(key, [])
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]


def module_count(raw: str | None) -> int | None:
    try:
        n = int(raw or "")
    except ValueError:
        return None
    return n if 1 <= n <= MAX_MODULES else None


def dip_read(form: FormValues, i: int) -> bool:
    """Whether the owner said module ``i``'s DIP switch is as drawn (``m{i}_dip_read=1``).

    An untouched switch drawing is all-off, which is also a real setting (``0000``): only the owner's
    "as shown" makes it one; otherwise the switch is stored as not read (no ``dip`` key).
    """
    return _get(form, f"m{i}_dip_read") == "1" and not _get(form, f"m{i}_dip_unknown")


def case_from_form(form: FormValues) -> dict[str, Any]:
    """The ``case.yaml`` mapping for a submitted intake form; ``IntakeErrors`` lists what to fix."""
    errors: list[str] = []
    fields: dict[str, str] = {}

    def fail(key: str, message: str) -> None:
        errors.append(message)
        fields.setdefault(key, message)

    def number(
        key: str, label: str, *, integer: bool = False, lo: float | None = None, hi: float | None = None
    ) -> int | float | None:
        raw = _get(form, key)
        if not raw:
            return None
        try:
            value: int | float = int(raw) if integer else float(raw.replace(",", "."))
        except ValueError:
            fail(key, f"{label}: {raw!r} is not a{'' if integer else ' decimal'} number")
            return None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            fail(key, f"{label}: {raw} is outside {lo:g} to {hi:g}")
            return None
        if not integer and float(value).is_integer():
            return int(value)
        return value

    def day(key: str, label: str) -> date | None:
        raw = _get(form, key)
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            fail(key, f"{label}: {raw!r} is not a date (YYYY-MM-DD)")
            return None

    def choice(key: str, label: str, allowed: Sequence[str]) -> str | None:
        raw = _get(form, key)
        if not raw:
            return None
        if raw not in allowed:
            fail(key, f"{label}: {raw!r} is not one of the choices")
            return None
        return raw

    case: dict[str, Any] = {"schema": "pylondiag.case/1"}
    observed = _get(form, "observed_at")
    if observed:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", observed):
            case["observed_at"] = observed
        else:
            fail("observed_at", f"When you looked: {observed!r} is not a date and time")

    site: dict[str, Any] = {}
    tz = _get(form, "site_timezone")
    if tz and not is_zone_name(tz):
        shown = tz if len(tz) <= 60 else tz[:60] + "..."
        errors.append(
            f"Time zone: {shown!r} is not a time zone; choose one from the list (e.g. Europe/London)"
        )
    elif tz and tz != DEFAULT_TIMEZONE:
        site["timezone"] = tz
    if loc := _get(form, "site_location"):
        site["location"] = loc[:200]
    ambient = number("site_ambient_c", "Room temperature", lo=-40, hi=70)
    if ambient is not None:
        site["ambient_c"] = ambient
    if site:
        case["site"] = site

    inverter: dict[str, Any] = {}
    if brand := choice("inv_brand", "Inverter brand", BRANDS):
        inverter["brand"] = brand
    for key in ("model", "firmware", "battery_type", "battery_protocol"):
        if value := _get(form, f"inv_{key}"):
            inverter[key] = value[:200]
    limits: tuple[tuple[str, str, bool, float, float], ...] = (
        ("configured_modules", "Modules entered on the inverter", True, 1, 64),
        ("configured_capacity_ah", "Capacity entered on the inverter", False, 1, 10000),
        ("charge_voltage_v", "Charge voltage", False, 40, 60),
        ("max_charge_current_a", "Max charge current", False, 0, 2000),
        ("max_discharge_current_a", "Max discharge current", False, 0, 2000),
    )
    for key, label, integer, lo, hi in limits:
        amount = number(f"inv_{key}", label, integer=integer, lo=lo, hi=hi)
        if amount is not None:
            inverter[key] = amount
    for key, label in (
        ("replaced_on", "Inverter replaced on"),
        ("firmware_updated_on", "Inverter firmware updated on"),
    ):
        if (d := day(f"inv_{key}", label)) is not None:
            inverter[key] = d
    if inverter:
        case["inverter"] = inverter

    n = module_count(_get(form, "modules"))
    if n is None:
        fail("modules", f"Number of modules: give 1 to {MAX_MODULES}")
        n = 0
    stack: list[dict[str, Any]] = []
    for i in range(1, n + 1):
        label = f"Module {i} (from the top)"
        module: dict[str, Any] = {"position": i}
        if model := choice(f"m{i}_model", f"{label} model", MODELS):
            module["model"] = model
        if serial := _get(form, f"m{i}_serial"):
            module["serial"] = serial[:60]
        installed = _get(form, f"m{i}_installed")
        if installed:
            if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", installed):
                module["installed"] = installed
            else:
                fail(f"m{i}_installed", f"{label} installed: {installed!r} is not a year-month (YYYY-MM)")
        if led := choice(f"m{i}_led", f"{label} LED", LEDS):
            module["led"] = led
        if dip_read(form, i):
            module["dip"] = "".join("1" if _get(form, f"m{i}_dip{b}") else "0" for b in range(1, 5))
        if role := choice(f"m{i}_role", f"{label} role", ROLES):
            module["role"] = role
        if notes := _get(form, f"m{i}_notes"):
            module["notes"] = notes[:1000]
        stack.append(module)
    if stack:
        case["stack"] = stack

    symptoms = _getall(form, "symptoms")
    bad = [s for s in symptoms if s not in SYMPTOMS]
    if bad:
        fail("symptoms", f"Symptoms: unknown {', '.join(bad)}")
    if chosen := [s for s in SYMPTOMS if s in symptoms]:
        case["symptoms"] = chosen

    history: list[dict[str, Any]] = []
    for j in range(1, HISTORY_ROWS + 1):
        event = choice(f"h{j}_event", f"Change {j}", HISTORY_EVENTS)
        when = day(f"h{j}_date", f"Change {j} date")
        detail = _get(form, f"h{j}_detail")
        if event is None:
            if when is not None or detail:
                fail(f"h{j}_event", f"Change {j}: say what changed")
            continue
        if when is None:
            fail(f"h{j}_date", f"Change {j}: give the date it happened")
            continue
        entry: dict[str, Any] = {"date": when, "event": event}
        if detail:
            entry["detail"] = detail[:500]
        history.append(entry)
    if history:
        case["history"] = sorted(history, key=lambda h: h["date"])

    if notes := _get(form, "notes"):
        case["notes"] = notes[:5000]
    if errors:
        raise IntakeErrors(errors, fields)
    return case


def is_empty(case: Mapping[str, Any]) -> bool:
    """A form that says nothing: no observation beyond the module positions (then, with no files, junk)."""
    stack = case.get("stack") or []
    said = [k for k in case if k not in ("schema", "stack")]
    return not said and all(set(m) <= {"position"} for m in stack)


def case_yaml_text(case: Mapping[str, Any]) -> str:
    """``case.yaml`` text, keys in the spec's order, dates unquoted (so they read back as dates)."""
    header = "# written by the pylondiag intake form\n"
    return header + yaml.safe_dump(dict(case), sort_keys=False, allow_unicode=True, default_flow_style=False)
