"""``stat [N]``: lifetime counters, every ``Label : value`` kept by its printed label.

Meanings: ``shared/domain/hardware/console_fields.md`` (``stat [N]``): ``CYCLE Times`` is the real
cycle count, ``SOH`` the BMS lifetime SOH %. Newer firmware adds time histograms by C-rate and SOC
band (``ChgCurr 0~0.2C Secs``, ``Soc 0~20% Secs``...); they are counters like the rest (seconds).
"""

from __future__ import annotations

import re

from pylondiag.evidence.console._build import make_stat
from pylondiag.evidence.console._common import Ctx, command_arg, module_address, numbered, split_kv
from pylondiag.model.console import CommandBlock, StatCounters

_BAND = re.compile(r"^(ChgCurr|DsgCurr|Soc) (.+) Secs$")


def parse_stat(block: CommandBlock, ctx: Ctx) -> list[StatCounters]:
    address = command_arg(block)
    counters: dict[str, int] = {}
    other: dict[str, str] = {}
    lines: dict[str, int] = {}
    last = block.first_line
    for number, raw in numbered(block):
        s = raw.strip()
        if not s:
            continue
        kv = split_kv(s)
        if kv is None:
            parts = s.split()
            if parts[:2] == ["Device", "address"] and len(parts) == 3 and module_address(parts[2]):
                address = module_address(parts[2])
                lines["Device address"] = number
                last = number
                continue
            ctx.warn(number, raw, "expected 'Label : value' in stat output")
            continue
        key, value = kv
        try:
            counters[key] = int(value)
        except ValueError:
            if not value:
                ctx.warn(number, raw, f"stat label {key!r} has no value")
                continue
            other[key] = value
        lines[key] = number
        last = number
    if not lines:
        return []
    bands: dict[str, dict[str, int]] = {"ChgCurr": {}, "DsgCurr": {}, "Soc": {}}
    for label, count in counters.items():
        m = _BAND.match(label)
        if m:
            bands[m.group(1)][m.group(2)] = count
    return [
        make_stat(
            address=address,
            counters=counters,
            other=other,
            lines=lines,
            cycle_count=counters.get("CYCLE Times"),
            soh_pct=counters.get("SOH"),
            charge_rate_secs=bands["ChgCurr"],
            discharge_rate_secs=bands["DsgCurr"],
            soc_band_secs=bands["Soc"],
            provenance=ctx.prov(block.first_line, block.provenance.raw, last),
        )
    ]
