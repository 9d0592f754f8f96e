"""The strict ``case.yaml`` model, ``pylondiag.case/1`` (``shared/spec/case-format.md``).

Unknown keys, wrong types and impossible values are errors: a typo must not silently drop an
observation. Enum words are exactly the spec's. Reading the YAML file and turning validation
errors into one clear message (file, line, key path, what to fix) is ``pylondiag.casedir``'s job.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CASE_SCHEMA: Final = "pylondiag.case/1"
DEFAULT_TIMEZONE: Final = "Europe/London"
MAX_ZONE_NAME: Final = 64
"""The longest IANA zone name is 32 characters (America/Argentina/ComodRivadavia)."""


@cache
def zone_names() -> frozenset[str]:
    """The IANA zone names of the zone database this Python uses (system tzdata or the ``tzdata`` package).

    Reading the list opens every file under the zone folders (~600; ~25 ms): for one name use
    :func:`is_zone_name`, which looks at that name's path only.
    """
    return frozenset(available_timezones())


def is_zone_name(name: str) -> bool:
    """True when ``name`` is a zone of the database: one of :func:`zone_names` (never a file opened after
    unchecked user text: ``Europe`` is a folder there, a 5000-character name is too long for the
    filesystem; both used to escape as OS errors with the server's paths in them) that ``ZoneInfo`` loads."""
    if not 0 < len(name) <= MAX_ZONE_NAME or not _listed_zone(name):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _listed_zone(name: str) -> bool:
    """``name in zone_names()``, answered by looking at that one name's path.

    The rule of ``zoneinfo.available_timezones`` (CPython 3.11-3.13) for one name: listed by the ``tzdata``
    package, or a file (not a folder) under a folder of ``zoneinfo.TZPATH`` reached without following a
    linked folder, outside its top-level ``right/`` and ``posix/``, starting with the ``TZif`` magic; never
    ``posixrules``. ``name`` is first held to plain path parts (no empty part, ``.`` or ``..``, NUL), so
    only paths inside those folders are looked at. A test compares it with the whole list.
    """
    parts = name.split("/")
    if name == "posixrules" or "\0" in name or any(part in ("", ".", "..") for part in parts):
        return False
    if name in _tzdata_package_zones():
        return True
    return any(_zone_file_under(root, parts) for root in zoneinfo.TZPATH)


def _zone_file_under(root: str, parts: list[str]) -> bool:
    """True when ``root/parts...`` is a zone file that ``available_timezones`` lists under ``root``: each
    part an entry of its folder as listed (so letter case counts, as in ``os.walk``), every folder on the
    way a folder and not a link, the last part not a folder, its first bytes the ``TZif`` magic."""
    if not os.path.exists(root) or (len(parts) > 1 and parts[0] in ("right", "posix")):
        return False
    folder = root
    try:
        for i, part in enumerate(parts):
            if part not in os.listdir(folder):
                return False
            folder = os.path.join(folder, part)
            if i < len(parts) - 1 and (os.path.islink(folder) or not os.path.isdir(folder)):
                return False
        if os.path.isdir(folder):
            return False
        with open(folder, "rb") as f:
            return f.read(4) == b"TZif"
    except OSError:
        return False


@cache
def _tzdata_package_zones() -> frozenset[str]:
    """The zone list the ``tzdata`` package ships (where it is installed; empty otherwise)."""
    try:
        text = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    except (ImportError, FileNotFoundError):
        return frozenset()
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


class InverterBrand(StrEnum):
    SUNSYNK = "sunsynk"
    DEYE = "deye"
    VICTRON = "victron"
    SOLIS = "solis"
    SOLAX = "solax"
    GOODWE = "goodwe"
    GROWATT = "growatt"
    SOFAR = "sofar"
    SMA = "sma"
    FOXESS = "foxess"
    LUXPOWER = "luxpower"
    GIVENERGY = "givenergy"
    OTHER = "other"


class ModuleModel(StrEnum):
    US2000 = "US2000"
    US2000B = "US2000B"
    US2000C = "US2000C"
    US3000 = "US3000"
    US3000C = "US3000C"
    US5000 = "US5000"
    US5000_1C = "US5000-1C"
    OTHER = "other"


class Led(StrEnum):
    """The module's status LED as the owner saw it (owner words, mapped in ``diagnosis.leds``)."""

    OFF = "off"
    GREEN = "green"
    GREEN_FLASHING = "green_flashing"
    AMBER = "amber"
    AMBER_FLASHING = "amber_flashing"
    RED = "red"
    RED_FLASHING = "red_flashing"


class Role(StrEnum):
    MASTER = "master"
    SLAVE = "slave"


class Symptom(StrEnum):
    WHOLE_BANK_SHUTDOWN = "whole_bank_shutdown"
    CAPACITY_DROP = "capacity_drop"
    SOC_JUMPS = "soc_jumps"
    INTERMITTENT_TRIPS = "intermittent_trips"
    BMS_COMMS_ALARM = "bms_comms_alarm"
    NOT_CHARGING = "not_charging"
    NOT_DISCHARGING = "not_discharging"


class HistoryEvent(StrEnum):
    MODULES_ADDED = "modules_added"
    MODULES_REMOVED = "modules_removed"
    MODULE_REPLACED = "module_replaced"
    INVERTER_REPLACED = "inverter_replaced"
    INVERTER_FIRMWARE_UPDATE = "inverter_firmware_update"
    REBALANCE_CYCLE = "rebalance_cycle"
    MOVED = "moved"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


_YEAR_MONTH: Final = re.compile(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$")
_DIP: Final = re.compile(r"^[01]{4}$")


class Site(_Strict):
    timezone: str = DEFAULT_TIMEZONE
    location: str | None = None
    ambient_c: float | None = Field(default=None, ge=-50, le=70)
    """Ambient temperature when observed, °C."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        if not is_zone_name(v):
            shown = v if len(v) <= 60 else v[:60] + "..."
            raise ValueError(
                f"unknown time zone {shown!r}; use an IANA name such as Europe/London (a region such as "
                "'Europe' alone is not a zone)"
            )
        return v


class Inverter(_Strict):
    brand: InverterBrand | None = None
    model: str | None = None
    firmware: str | None = None
    battery_type: str | None = None
    battery_protocol: str | None = None
    configured_modules: int | None = Field(default=None, ge=1, le=112)
    """Module count entered on the inverter (at most 16 per group x 7 groups)."""
    configured_capacity_ah: float | None = Field(default=None, gt=0, le=20000)
    charge_voltage_v: float | None = Field(default=None, ge=40, le=64)
    """Charge (bulk/absorption) voltage, V. Outside 40-64 V cannot be a 48 V LFP setting."""
    max_charge_current_a: float | None = Field(default=None, ge=0, le=2000)
    max_discharge_current_a: float | None = Field(default=None, ge=0, le=2000)
    replaced_on: date | None = None
    firmware_updated_on: date | None = None


_MODEL_KEYS: Final = {m.value.upper().replace("-", ""): m.value for m in ModuleModel}


def model_word(text: str) -> str:
    """A module model as the spec spells it, from the ways owners write it: any case, with spaces, hyphens
    or underscores (``us2000c``, ``US 5000``, ``US3000-C``, ``US5000 1C``); anything else unchanged (and
    refused by the spec's list, with the list in the message)."""
    key = re.sub(r"[\s_\-]+", "", text).upper()
    return _MODEL_KEYS.get(key, text)


_LED_COLOUR: Final = {
    "orange": "amber",
    "yellow": "amber",
    "none": "off",
    "dark": "off",
    "unlit": "off",
    "not lit": "off",
    "no light": "off",
    "no led": "off",
}
_LED_FLASHING: Final = re.compile(r"\b(?:flashing|blinking|flashes|blinks|flash|blink)\b")
_LED_STEADY: Final = re.compile(
    r"\b(?:solid|steady|constant|continuous|permanent|permanently|lit|light|led|on|slow|slowly|fast|normal)\b"
)
"""Words owners add to a colour that do not change it: "solid red", "steady green", "red light", "red
(blinking slowly)", "green (normal)"."""


def led_word(text: str) -> str:
    """An LED as the spec words it, from the ways owners write it: ``Red flashing``, ``flashing red``,
    ``blinking amber``, ``orange`` (amber: the spec's word for the alarm light many call amber or orange),
    ``green-flashing``, ``solid red``, ``red (blinking)``, ``no light``; anything else unchanged (and refused
    with the spec's list)."""
    words = re.sub(r"[\s_\-/,()]+", " ", text.strip().lower()).strip()
    flashing = bool(_LED_FLASHING.search(words))
    if words in _LED_COLOUR:  # "no light", "not lit": read whole, before their words are taken apart
        colour = words
    else:
        colour = " ".join(_LED_STEADY.sub("", _LED_FLASHING.sub("", words)).split())
    colour = _LED_COLOUR.get(colour, colour)
    if colour not in {led.value for led in Led} or "_" in colour:
        return text
    if colour == "off":
        return text if flashing else "off"
    return f"{colour}_flashing" if flashing else colour


class StackModule(_Strict):
    position: int = Field(ge=1, le=112)
    model: ModuleModel | None = None
    serial: str | None = None
    installed: str | None = None
    """Year-month (``2019-06``); a full date is accepted."""
    led: Led | None = None
    dip: str | None = None
    """The ADD switch as read, switch 1 first, ``1`` = ON, e.g. ``"1000"``."""
    role: Role | None = None
    address: int | None = Field(default=None, ge=1, le=16)
    group: int | None = Field(default=None, ge=0, le=7)
    notes: str | None = None

    @field_validator("model", mode="before")
    @classmethod
    def _model_spelling(cls, v: Any) -> Any:
        return model_word(v) if isinstance(v, str) else v

    @field_validator("led", mode="before")
    @classmethod
    def _led_words(cls, v: Any) -> Any:
        return led_word(v) if isinstance(v, str) else v

    @field_validator("installed", mode="before")
    @classmethod
    def _year_month(cls, v: Any) -> Any:
        if isinstance(v, date):
            return f"{v.year:04d}-{v.month:02d}"
        if isinstance(v, str):
            m = _YEAR_MONTH.match(v.strip())
            if not m or not 1 <= int(m.group(2)) <= 12:
                raise ValueError(f"expected a year-month such as 2019-06, got {v!r}")
            return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
        if isinstance(v, int):
            raise ValueError(f"expected a year-month such as 2019-06, got {v!r}")
        return v

    @field_validator("dip", mode="before")
    @classmethod
    def _dip_bits(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            raise ValueError(
                f'write the DIP switches in quotes, e.g. dip: "1000" (YAML read {v!r} as a number, '
                "which loses leading zeros)"
            )
        if isinstance(v, str) and not _DIP.match(v.strip()):
            raise ValueError(f'expected four switches of 0/1, switch 1 first, e.g. "1000"; got {v!r}')
        return v.strip() if isinstance(v, str) else v

    @property
    def installed_year_month(self) -> tuple[int, int] | None:
        if self.installed is None:
            return None
        y, m = self.installed.split("-")[:2]
        return int(y), int(m)


class HistoryItem(_Strict):
    date: date
    event: HistoryEvent
    detail: str | None = None


class CaseFile(_Strict):
    """``case.yaml``. Every key but ``schema`` is optional."""

    schema_: Literal["pylondiag.case/1"] = Field(alias="schema")
    case_id: str | None = None
    observed_at: datetime | None = None
    site: Site = Field(default_factory=Site)
    inverter: Inverter | None = None
    stack: list[StackModule] = Field(default_factory=list)
    symptoms: list[Symptom] = Field(default_factory=list)
    history: list[HistoryItem] = Field(default_factory=list)
    notes: str | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, coerce_numbers_to_str=True)

    @model_validator(mode="after")
    def _unique_positions(self) -> CaseFile:
        seen: set[int] = set()
        for i, m in enumerate(self.stack):
            if m.position in seen:
                raise ValueError(f"stack[{i}].position {m.position} is used twice; positions must be unique")
            seen.add(m.position)
        return self
