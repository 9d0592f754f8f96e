"""Each inverter brand's battery-type / protocol setting for a Pylontech US stack, and the one matcher.

Source: ``shared/domain/inverters/settings.md`` (confidence per brand as given there). Both the
configuration rules (:mod:`~pylondiag.diagnosis.config`, ``case.yaml`` settings alone) and the
inverter-log rules (:mod:`~pylondiag.diagnosis.inverter_events`) judge a setting with
:func:`setting_mismatch`, so a setting is never right for one family and wrong for the other.

Matching is by **whole words** of the setting as the owner typed it, case and punctuation ignored
(``CAN-bus BMS LV (500 kbit/s)`` → ``can bus bms lv 500 kbit s``): an accepted phrase must appear as
whole words, and a phrase ending in ``*`` matches any word that starts with it (``pylon*`` accepts
``Pylon``, ``PYLONTECH``, ``Pylon LV``, ``Pie Energy/PYLON``). Every brand's setting for a Pylontech
stack names Pylontech, so a protocol naming it is right for every brand; digits (menu indexes such as
Sunsynk's ``00``) match only as a whole word, so ``100`` is not ``00``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from pylondiag.domain.inverter_codes import canonical_brand

PYLON: Final = "pylon*"
"""Any word starting with 'pylon' (Pylon, Pylontech, PYLON CAN, Pylon LV)."""

LITHIUM_TYPE: Final = ("lith*", "li ion", "li", "lifepo*", "lfp", "bms", "pylon*", "can", "485", "rs485")
"""Battery-type words that mean the lithium / BMS-driven mode (settings.md: 'Lithium', 'Lithium (Use
BMS)', 'Li-Ion_Ext-BMS', Victron's 'CAN battery')."""

WRONG_TYPE: Final = ("lead*", "agm", "gel", "flooded", "acid", "voltage", "user*", "no battery", "no_battery")
"""A battery type with one of these is not the lithium/BMS mode (settings.md: 'reverted to lead-acid /
voltage mode'; Deye reg 111 = 0 'use battery voltage', 2 'no battery')."""


@dataclass(frozen=True)
class PylontechSetting:
    """What a brand must be set to for a Pylontech US stack (``inverters/settings.md``)."""

    instruction: str
    """The exact setting to choose, in the inverter's own words."""
    protocol_ok: tuple[str, ...]
    """Phrases of ``inverter.battery_protocol`` that are right (any one, as whole words; see module doc)."""
    type_ok: tuple[str, ...] = LITHIUM_TYPE
    """Phrases of ``inverter.battery_type`` that mean the lithium / BMS mode."""
    confidence: str = "MEDIUM"
    """settings.md's confidence in the setting."""


PYLONTECH_SETTINGS: Final[dict[str, PylontechSetting]] = {
    "sunsynk": PylontechSetting(
        "Battery Setting → Batt Mode 'Lithium' (use BMS), Lithium Mode 00 = PYLON CAN (12 = PYLON RS485 if "
        "cabled to RS485); BMS cable into the inverter's BMS port, 500 kbit/s",
        (PYLON, "0", "00", "12"),
        confidence="HIGH",
    ),
    "victron": PylontechSetting(
        "GX: Settings → Services → VE.Can / BMS-Can port profile 'CAN-bus BMS LV (500 kbit/s)', DVCC on, "
        "battery monitor = the Pylontech battery; Pylontech type-B CAN cable and terminators",
        (PYLON, "can bus bms", "canbus bms", "can bms", "bms can"),
        confidence="HIGH",
    ),
    "goodwe": PylontechSetting(
        "SolarGo / PV Master: battery type Lithium, battery model 'Pylon' (the US2000/US3000/US5000 entry)",
        (PYLON,),
    ),
    "solax": PylontechSetting(
        "Installer menu: battery type Lithium, battery brand 'Pylontech' (LV models), BMS cable on the CAN "
        "BMS port",
        (PYLON,),
    ),
    "solis": PylontechSetting(
        "Storage mode → battery select: battery model 'Pylon LV' (a mismatch shows as BatName-FAIL)",
        (PYLON,),
    ),
    "sofar": PylontechSetting(
        "Battery protocol 'PYLON' (HYD: BatConfig protocol 1 = Pie Energy/PYLON; ME3000SP: Battery type "
        "PYLON)",
        (PYLON, "1", "pie*"),
    ),
    "growatt": PylontechSetting(
        "SPH/SPA: battery type Lithium with the lithium (CAN) protocol; SPF: program 05 = 'L52'/'LI' "
        "(Pylontech), program 36 protocol as Growatt's Pylontech note says",
        (PYLON, "li", "l52", "lith*", "can"),
        type_ok=(*LITHIUM_TYPE, "l52"),
        confidence="LOW-MEDIUM",
    ),
    "foxess": PylontechSetting(
        "Battery brand set to Pylontech (Fox defaults to its own HV batteries; a wrong brand shows as BMS "
        "Type/Manufacturer Mismatch)",
        (PYLON,),
        confidence="LOW",
    ),
    "luxpower": PylontechSetting(
        "Battery type 'Lithium', battery brand 'Pylontech', communication type CAN (BAT RJ45 port)",
        (PYLON, "can"),
    ),
    "sma": PylontechSetting(
        "Battery type 'Li-Ion_Ext-BMS', CAN BMS at 500 kbit/s on the Sunny Island's BMS port",
        (PYLON, "li ion ext bms", "ext bms", "extbms", "can bms"),
        type_ok=(*LITHIUM_TYPE, "ext bms", "extbms"),
        confidence="LOW",
    ),
}
"""Per brand (canonical code-table name; ``deye`` → ``sunsynk``): the Pylontech setting. GivEnergy: no
public source → none (only the generic lithium/lead-acid check applies)."""


def words(value: str | None) -> str:
    """Lower-case words of a setting separated by single spaces (punctuation and ``_`` are separators)."""
    return " ".join(re.findall(r"[a-z0-9]+", (value or "").lower()))


def has_phrase(value: str, phrases: tuple[str, ...]) -> bool:
    """True when ``value`` (already :func:`words`) holds one of ``phrases`` as whole words."""
    for p in phrases:
        prefix = p.endswith("*")
        body = words(p.rstrip("*"))
        if not body:
            continue
        pattern = r"(?:^| )" + re.escape(body) + (r"[a-z0-9]*" if prefix else "") + r"(?: |$)"
        if re.search(pattern, value):
            return True
    return False


def spec_for(brand: str | None) -> tuple[str | None, PylontechSetting | None]:
    """(canonical brand, its Pylontech setting or None) for a brand as written in case.yaml or a log."""
    name = canonical_brand(brand) if brand else None
    name = name or (brand.strip().lower() if brand else None)
    return name, PYLONTECH_SETTINGS.get(name or "")


def setting_mismatch(brand: str | None, battery_type: str | None, protocol: str | None) -> list[str]:
    """Which given settings are wrong for a Pylontech stack: a sub-list of ``battery_type`` /
    ``battery_protocol`` (a setting not given is never wrong)."""
    _, spec = spec_for(brand)
    wrong: list[str] = []
    bt = words(battery_type)
    type_ok = spec.type_ok if spec else LITHIUM_TYPE
    if bt and (has_phrase(bt, WRONG_TYPE) or not has_phrase(bt, type_ok)):
        wrong.append("battery_type")
    proto = words(protocol)
    if proto and spec is not None and not has_phrase(proto, spec.protocol_ok):
        wrong.append("battery_protocol")
    return wrong
