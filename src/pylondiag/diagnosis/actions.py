"""From outcome and findings to what the owner does: numbered actions, ``on_site_spec``,
``evidence_gaps`` (what to capture next, exactly how), ``safety`` lines and the summary.

Facts: seed guide (rebalancing = charge to 100 % and hold 6-8 h; 48 V DC safety; isolate then
update the inverter's count); ``hardware/field_failures.md`` #4-#8, #15; ``inverters/settings.md``
(battery type and protocol per brand); ``hardware/console_fields.md`` (which command shows what).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final

from pylondiag.diagnosis import changes, coverage, isolation, story, thermal
from pylondiag.diagnosis import confidence as C
from pylondiag.diagnosis.cause_table import Context, classify
from pylondiag.diagnosis.cells import AFTER_CYCLE
from pylondiag.diagnosis.leds import LedLead
from pylondiag.diagnosis.thresholds import CELL_SPREAD_WARN_MV, RECOMMENDED_CHARGE_VOLTAGE_V
from pylondiag.model.case import HistoryEvent
from pylondiag.model.diagnosis import (
    Action,
    Cause,
    Finding,
    FindingSeverity,
    ModuleVerdict,
    OnSiteSpec,
    Outcome,
)
from pylondiag.model.stack import CaseView, ModuleView
from pylondiag.model.timeline import EventQuery

FIX_MARK: Final = " Fix: "
"""Rule families end a finding's message with ``Fix: <what to change>`` when the fix is specific."""

SAFETY_BASE: Final[tuple[str, ...]] = (
    "Pylontech US modules are 48 V DC and a stack can deliver very high current: power down the whole "
    "stack (inverter battery breaker / DC isolator off, then every module's power switch off) before "
    "moving any module or cable, and never disconnect inter-module cables while the stack is on.",
    "Do not open the inverter or a module, and do not touch the PV DC cabling: solar panels are live "
    "whenever light falls on them. Hands-on work beyond the steps here is for a qualified engineer.",
)
SAFETY_CONSOLE: Final = (
    "On the battery console use only read commands (pwr, bat, stat, soh, info, log, time); never "
    "config, set or test commands, and take captures one command at a time."
)
SAFETY_DEEP_DISCHARGE: Final = (
    "A module in under-voltage protection may hold cells below about 2.0 V: do not force-charge it or "
    "start it into the stack; it needs a controlled recovery (servtec note, field_failures.md #17)."
)

INVERTER_EVENT_SCREEN: Final[dict[str, str]] = {
    "sunsynk": "the Sunsynk app / SolarMan portal: Alarms (fault codes such as F58)",
    "deye": "the Deye display Alarms list or the SolarMan portal event list",
    "victron": "VRM: Device list → the battery → Alarms, and the GX 'Notifications' page",
    "solis": "SolisCloud: Alarms, or the inverter display's Alarm History",
    "solax": "SolaX Cloud: Alarms",
    "goodwe": "SEMS portal: Alarms, or the SolarGo app's Historical Errors",
    "growatt": "ShinePhone / Growatt server: the Event log",
    "sofar": "SolarMan / Sofar app: the Alarm list",
    "sma": "Sunny Portal / the Sunny Island's event list",
    "foxess": "FoxCloud: Alarms",
    "luxpower": "the LuxPower monitor: Events",
    "givenergy": "the GivEnergy portal: Events",
}


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    on_site_spec: OnSiteSpec | None = None
    evidence_gaps: list[str] = field(default_factory=list)
    safety: list[str] = field(default_factory=list)


def _addr(view: CaseView, position: int) -> str:
    m = view.module(position)
    return str(m.address) if m and m.address else str(position)


def _fix(f: Finding) -> str | None:
    i = f.message.find(FIX_MARK.strip())
    if i < 0:
        return None
    text = f.message[i + len(FIX_MARK.strip()) :].strip()
    return text[:1].upper() + text[1:] if text else None


def _capture_cmds(view: CaseView, position: int) -> str:
    a = _addr(view, position)
    return f"`pwr`, `pwr {a}`, `bat {a}`, `stat {a}` and `log`"


def _steps_rebalance(view: CaseView, f: Finding) -> list[tuple[str, bool]]:
    p = f.module or 0
    a = _addr(view, p)
    last, stale, same_day = _read_before_cycle(view)
    if p in stale or p in same_day:
        # the owner's cycle came after the newest reading (or on its day: the reading may be from before
        # the hold): its result decides, so read it before another hold
        when = "after" if p in stale else "the day of (maybe before the hold)"
        return [
            (
                f"A rebalancing cycle was done on {last}, {when} the newest cell reading of position {p}: "
                "after the next full charge, with the stack at 100 % and idle, capture `pwr`, "
                f"`bat {a}` and `stat {a}`; save the session and add it to the case under console/.",
                False,
            ),
            (
                f"If position {p}'s cell spread is now at or below {CELL_SPREAD_WARN_MV} mV, the cycle "
                "worked: nothing more to do. If the same cell is still low, it is a weak cell and the module "
                "must be replaced: send the capture for a new diagnosis.",
                False,
            ),
        ]
    return [
        (
            "Charge the stack to 100 % and hold it there for 6-8 hours (leave the inverter charging at "
            f"the BMS's recommended voltage, {RECOMMENDED_CHARGE_VOLTAGE_V:g} V, and don't discharge "
            "meanwhile). The BMS only balances at the top of charge, at about 50 mA per cell, so it needs "
            "the time.",
            False,
        ),
        (
            f"At the end of the hold, with the stack still at 100 % and idle, connect to the console and "
            f"capture `pwr`, `bat {a}` and `stat {a}`; save the session and add it to the case under "
            "console/.",
            False,
        ),
        (
            f"Compare position {p}'s cell spread with this diagnosis: at or below {CELL_SPREAD_WARN_MV} mV "
            "is done. Still above: repeat the 6-8 h hold once. If the same cell stays low or worsens after a "
            "second cycle, it is a weak cell and the module must be replaced.",
            False,
        ),
        ("Add the cycle to case.yaml history (event: rebalance_cycle, with the date).", False),
    ]


def _warning_checks(warnings: list[Finding]) -> list[str]:
    """The check a stack-level warning asks for (its ``Fix:``), as a step: a ``monitor`` outcome means no
    module needs work, not that nothing is to be done (BMS comms failures with the settings right ask
    for the link to be checked)."""
    return list(dict.fromkeys(fx for f in warnings if f.module is None and (fx := _fix(f))))


def _steps_replace(view: CaseView, positions: list[int]) -> list[tuple[str, bool]]:
    steps = [(s, True) for s in isolation.isolation_steps(view, positions)]
    for p in positions:
        steps.extend((s, True) for s in isolation.replacement_steps(view, p))
    a = ", ".join(f"`bat {_addr(view, p)}`" for p in positions)
    steps.append(
        (f"After the swap, capture `pwr`, {a} and `stat` to confirm every module reads Normal.", False)
    )
    return steps


def _steps_isolate(view: CaseView, positions: list[int], f: Finding) -> list[tuple[str, bool]]:
    steps = [(s, True) for s in isolation.isolation_steps(view, positions)]
    if f.code == Cause.CELL_UNDER_VOLTAGE:
        steps.append(
            (
                "Assess the isolated module on its own: after a rest of a few hours, an engineer measures "
                "its voltage and, over its own console, `bat` (every cell at or above 2.0 V?). Cells below "
                "that need a controlled low-current recovery charge or professional testing; never force it "
                "back into the stack.",
                True,
            )
        )
    return steps


def _steps_on_site(view: CaseView, f: Finding) -> list[tuple[str, bool]]:
    p = f.module
    if f.code == Cause.MODULE_NOT_COMMUNICATING and p is not None:
        return [
            (
                "Power down the whole stack (inverter battery breaker off, then every module's power "
                "switch).",
                True,
            ),
            (
                f"Check position {p}: its power switch, and the link cable into its Link Port 0 from the "
                "module above (Link Port 1). Re-seat both RJ45 plugs; swap in a known-good cable if in "
                "doubt.",
                True,
            ),
            (
                f"Restart from the master and capture `pwr`: position {p} must appear with a voltage. If it "
                f"is still Absent, plug the laptop into position {p}'s own console port: no answer = dead "
                "BMS "
                "(replace); an answer = link port or cable fault.",
                True,
            ),
        ]
    if f.code == Cause.OVER_TEMPERATURE and p is not None:
        return [
            (
                f"Check position {p} on site: clearance and ventilation around it, and — with the stack "
                "powered "
                "down — the torque and condition of its DC terminals and cables (a loose lug heats up).",
                True,
            ),
            (
                f"Restart and, under a steady charge or discharge, capture `pwr` and `bat {_addr(view, p)}` "
                "every 15 minutes for an hour: position {p} must track its neighbours' temperature.".replace(
                    "{p}", str(p)
                ),
                True,
            ),
        ]
    if p is not None:
        return _steps_isolate(view, [p], f)
    return [(_fix(f) or f.message, True)]


_CONSEQUENCES: Final = frozenset({Cause.MODULE_NOT_COMMUNICATING, Cause.CELL_OVER_VOLTAGE})
"""Findings raised to ``reconfigure`` by another finding (a DIP fault, the inverter's charge voltage):
they get a re-check step after the fix, not a fix of their own."""


def _steps_reconfigure(view: CaseView, findings: list[Finding]) -> list[tuple[str, bool]]:
    steps: list[tuple[str, bool]] = []
    switches = [
        f
        for f in findings
        if f.code.value.startswith("dip_")
        or f.code == Cause.MIXED_MODELS
        or (f.code == Cause.INVERTER_COMMS_CONFIG and f.module is not None)
    ]
    after = [f for f in findings if f.code in _CONSEQUENCES]
    settings = [f for f in findings if f not in switches and f not in after]
    if switches:
        steps.append(
            (
                "Power down the whole stack (inverter battery breaker off, then every module's power "
                "switch): the BMS reads its ADD/DIP switches and link ports only at start-up.",
                True,
            )
        )
        steps += [(_fix(f) or f.message, True) for f in switches]
        steps.append(
            (
                "Start the stack from the master's start button only, then capture `pwr`: every module must "
                "be listed with addresses 1..N and no Absent gaps.",
                True,
            )
        )
    steps += [(_fix(f) or f.message, False) for f in settings]
    if settings:
        steps.append(
            (
                "After changing the inverter settings, watch its battery page for a day and export its event "
                "log if any battery alarm returns.",
                False,
            )
        )
    missing = sorted({f.module for f in after if f.code == Cause.MODULE_NOT_COMMUNICATING and f.module})
    if missing:
        names = ", ".join(map(str, missing))
        which = f"positions {names} are" if len(missing) > 1 else f"position {names} is"
        steps.append(
            (
                f"If {which} still missing from `pwr` after that, check the power switch and the link cable "
                "into Link Port 0 of each (an engineer on site, if one stays missing).",
                True,
            )
        )
    if any(f.code == Cause.CELL_OVER_VOLTAGE for f in after):
        steps.append(
            (
                "After the next full charge, capture `pwr` and `bat N` of the module that tripped: with the "
                "charge voltage corrected its cells should stay below the over-voltage limit.",
                False,
            )
        )
    return steps


def _environment_steps(findings: list[Finding]) -> list[tuple[str, bool]]:
    steps: list[tuple[str, bool]] = []
    for f in findings:
        fix = _fix(f)
        if fix is not None and (fix, False) not in steps:
            steps.append((fix, False))
    steps.append(
        (
            "Keep the stack between about 10 and 30 °C: insulate or heat a cold garage or loft (the BMS "
            "blocks "
            "charging below 0 °C), ventilate or shade a hot one. No module needs replacing for this.",
            False,
        )
    )
    return steps


def plan(
    view: CaseView,
    outcome: Outcome,
    primary: Finding | None,
    findings: list[Finding],
    verdicts: list[ModuleVerdict],
    *,
    leads: list[LedLead],
) -> Plan:
    """Actions for ``outcome`` first, then for other actionable findings; gaps; safety."""
    ctx = Context(findings)
    active = [f for f in findings if f.severity == FindingSeverity.FAULT]
    raw: list[tuple[str, bool]] = []
    by_outcome: dict[Outcome, list[Finding]] = {}
    for f in active:
        by_outcome.setdefault(classify(f, ctx)[1], []).append(f)

    for o in (
        Outcome.RECONFIGURE,
        Outcome.REPLACE,
        Outcome.ON_SITE_CHECK,
        Outcome.ENVIRONMENT,
        Outcome.REBALANCE,
    ):
        fs = by_outcome.get(o, [])
        if not fs:
            continue
        if o == Outcome.RECONFIGURE:
            raw += _steps_reconfigure(view, fs)
        elif o == Outcome.REPLACE:
            raw += _steps_replace(view, sorted({f.module for f in fs if f.module is not None}))
        elif o == Outcome.ON_SITE_CHECK:
            seen: set[tuple[Cause, int | None]] = set()
            for f in fs:
                if (f.code, f.module) not in seen:
                    seen.add((f.code, f.module))
                    raw += _steps_on_site(view, f)
        elif o == Outcome.ENVIRONMENT:
            raw += _environment_steps(fs)
        elif o == Outcome.REBALANCE:
            done: set[int | None] = set()
            for f in fs:
                if f.module not in done:
                    done.add(f.module)
                    raw += _steps_rebalance(view, f)

    warnings = [f for f in findings if f.severity == FindingSeverity.WARNING]
    if (warnings and outcome in (Outcome.MONITOR, Outcome.NO_FAULT)) or (warnings and not raw):
        checks = _warning_checks(warnings)
        raw += [(c, False) for c in checks]
        mods = sorted({f.module for f in warnings if f.module is not None})
        cmds = (
            ", ".join(f"`bat {_addr(view, p)}`, `stat {_addr(view, p)}`" for p in mods) or "`bat N`, `stat N`"
        )
        raw.append(
            (
                f"No {'other ' if checks else ''}work is needed now. Re-check in 4-6 weeks: after a full "
                f"charge, with the stack at 100 % and idle, capture `pwr`, {cmds}, and compare with this "
                "diagnosis.",
                False,
            )
        )
    if outcome == Outcome.NO_FAULT and not raw:
        raw.append(
            (
                "No action needed. Keep these captures: a later capture compared with them shows any drift "
                "early.",
                False,
            )
        )
    gaps = evidence_gaps(view, findings, leads)
    if outcome == Outcome.INSUFFICIENT_EVIDENCE:
        raw += [(f"Collect: {g}", False) for g in gaps[:4]]

    actions = [Action(step=i, text=t, on_site=on) for i, (t, on) in enumerate(raw, start=1)]
    spec = _on_site_spec(view, outcome, findings, ctx)
    safety = list(SAFETY_BASE)
    if view.has_console() or gaps:
        safety.append(SAFETY_CONSOLE)
    if any(f.code == Cause.CELL_UNDER_VOLTAGE and f.severity == FindingSeverity.FAULT for f in findings):
        safety.append(SAFETY_DEEP_DISCHARGE)
    return Plan(actions=actions, on_site_spec=spec, evidence_gaps=gaps, safety=safety)


def _on_site_spec(
    view: CaseView, outcome: Outcome, findings: list[Finding], ctx: Context
) -> OnSiteSpec | None:
    faults = [f for f in findings if f.severity == FindingSeverity.FAULT]
    work: list[str] = []
    parts: list[str] = []
    checks: list[str] = []
    for f in faults:
        _v, o = classify(f, ctx)
        p = f.module
        m = view.module(p) if p is not None else None
        model = f"Pylontech {m.model}" if m and m.model else "Pylontech module of the stack's model"
        if o == Outcome.REPLACE and p is not None:
            work.append(f"Isolate and replace the module at position {p} ({f.code.value}).")
            parts.append(f"1 x {model}, charged to within 2 % of the stack's SOC before fitting")
            checks.append(
                f"`pwr` lists position {p} with Normal states; `bat {_addr(view, p)}` spread under 30 mV at "
                "rest"
            )
        elif o == Outcome.ON_SITE_CHECK and p is not None:
            if f.code == Cause.MODULE_NOT_COMMUNICATING:
                work.append(
                    f"Check the link cable and Link Port 0 of position {p}; test its BMS on its own console."
                )
                parts.append("1 x RJ45 link cable (Pylontech inter-module, straight-through)")
                checks.append(f"`pwr` lists position {p} (not Absent)")
            elif f.code == Cause.OVER_TEMPERATURE:
                work.append(f"Inspect position {p}'s ventilation and DC terminals (torque, discolouration).")
                checks.append(f"position {p} within a few °C of its neighbours under load (`pwr`)")
            else:
                work.append(f"Isolate position {p} and assess it on its own ({f.code.value}).")
                checks.append(f"position {p}: every cell ≥ 2.0 V after rest (`bat` on its own console)")
        elif o == Outcome.RECONFIGURE and (f.code.value.startswith("dip_") or f.code == Cause.MIXED_MODELS):
            work.append(_fix(f) or f.message)
            checks.append("`pwr` lists every module with consecutive addresses and Normal states")
    if not work:
        return None
    if any(f.code in (Cause.WEAK_CELL, Cause.CAPACITY_FADE, Cause.BMS_HARDWARE_FAULT) for f in faults):
        checks.append("inverter module count and capacity updated to the final stack")
    return OnSiteSpec(work=_dedupe(work), parts=_dedupe(parts), checks_after=_dedupe(checks))


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


_PANEL: Final[dict[str, str]] = {
    "protection": "ALM steady",
    "alarm": "ALM flashing",
    "off": "dark",
    "normal": "normal",
}


def evidence_gaps(view: CaseView, findings: list[Finding], leads: list[LedLead]) -> list[str]:
    """What is missing or unusable, and exactly what to capture next."""
    gaps = [g.text for g in view.gaps]
    addr_list = ", ".join(f"`bat {m.address or m.position}`" for m in view.modules[:16])
    addr_list = addr_list or "`bat N` for each module N"
    if not view.has_console() and not (view.soh or view.pwrsys or view.logs or view.console_unused):
        gaps.append(
            "No console capture: connect a laptop to the master's Console port (RJ45 on C models, RS232 "
            "115200 8N1), log the session to a file and run `pwr`, then "
            f"{addr_list}, `stat N` for each module, and `log`; put the file in console/."
        )
    else:
        if not view.pwr:
            gaps.append(
                "No `pwr` table: run `pwr` on the master's console so every module's state and address is "
                "shown."
            )
        gaps += _partly_read(
            view, [b.position for b in view.bat], "cell readings", "bat", "at the top of charge"
        )
        if not view.bat:
            gaps.append(
                f"No cell voltages: capture {addr_list} after a full charge, with the stack at 100 % and "
                "idle "
                "(the only state in which LFP cells show their imbalance)."
            )
        if not view.stats:
            gaps.append(
                "No lifetime counters: capture `stat N` for each module (protection counts, cycles, SOH)."
            )
        gaps += _partly_read(
            view,
            [s.position for s in view.stats],
            "lifetime counters",
            "stat",
            "(protection counts, cycles, SOH)",
            instead=_stat_refused(view),
        )
    gaps += _readings_before_cycle(view)
    gaps += _replaced_gap(view, findings)
    if story.rebalance_told(view) and any(f.code == Cause.CELL_IMBALANCE for f in findings):
        gaps.append(
            "The notes mention a rebalancing cycle already done, with no date in case.yaml history: add it "
            "(event: rebalance_cycle, date: the day of the hold). A cell reading after the cycle that still "
            "shows the low cell means a weak cell, not an imbalance to rebalance again."
        )
    gaps += [g for g in (changes.undated_gap(view),) if g is not None]
    for f in findings:
        if f.code == Cause.CELL_IMBALANCE and f.severity == FindingSeverity.INFO and f.module is not None:
            a = _addr(view, f.module)
            gaps.append(
                f"Position {f.module}'s cells were only read outside the validity envelope: after a full "
                "charge, "
                f"with the stack at 100 % and idle for an hour, capture `bat {a}` (and `pwr`) so the spread "
                "can be judged."
            )
    read = coverage.of(view).read
    for ld in leads:
        gaps.append(_led_gap(view, ld, findings, read))
    has_inverter_log = any(f.kind == "inverter_log" and f.used for f in view.files)
    brand = view.inverter.brand.value if view.inverter and view.inverter.brand else None
    short = thermal.too_short(view) if has_inverter_log else None
    if short is not None and not any(f.code == Cause.THERMAL_INTERMITTENT for f in findings):
        where = INVERTER_EVENT_SCREEN.get(brand or "", "the inverter's app or display event/alarm list")
        gaps.append(
            f"The inverter log is short: {short}. Export the battery/BMS events of the last weeks (the whole "
            f"period the trouble shows, with its temperature if recorded) from {where}; put it in inverter/."
        )
    if not has_inverter_log:
        where = INVERTER_EVENT_SCREEN.get(brand or "", "the inverter's app or display event/alarm list")
        gaps.append(
            f"No inverter event log: export the battery/BMS events of the last weeks from {where}, as a CSV "
            "with columns time,code,message (one event per line); put it in inverter/."
        )
    if view.case is None:
        gaps.append(
            "No case.yaml: LED colour, DIP switch setting, model and install date of each module, and the "
            "inverter's battery settings are unknown; add them (see the case format)."
        )
    elif not any(m.led for m in view.modules):
        gaps.append("No LED observations in case.yaml: note each module's LED colour (stack[].led).")
    return _dedupe(gaps)


def _read_before_cycle(view: CaseView) -> tuple[date | None, list[int], list[int]]:
    """The owner's last rebalancing cycle, the positions whose newest cell reading is older than it, and
    those whose newest reading is from its day (only the cycle's date is known: that reading may be from
    before or during the hold, so it cannot show the cycle's result either)."""
    cycles = [h.date for h in view.history if h.event == HistoryEvent.REBALANCE_CYCLE]
    if not cycles:
        return None, [], []
    last = max(cycles)
    newest: dict[int, date] = {}
    for b in view.bat:
        if b.position is not None and b.time is not None:
            newest[b.position] = max(newest.get(b.position, b.time.date()), b.time.date())
    return (
        last,
        sorted(p for p, d in newest.items() if d < last),
        sorted(p for p, d in newest.items() if d == last),
    )


def replaced_after_reading(view: CaseView, position: int | None) -> tuple[date, date] | None:
    """A module replacement (case history) dated after the newest cell reading of ``position``: (the
    replacement's day, the reading's day). The history does not say which module was swapped, so the
    readings may be of the module taken out (found by adding a swap a week after the weak-cell example's
    capture: 'the module must be isolated and replaced' stood as if nothing had been done)."""
    if position is None:
        return None
    days = [b.time.date() for b in view.bat if b.position == position and b.time is not None]
    swaps = [h.date for h in view.history if h.event == HistoryEvent.MODULE_REPLACED]
    if not days or not swaps or max(swaps) <= max(days):
        return None
    return max(swaps), max(days)


def _replaced_gap(view: CaseView, findings: list[Finding]) -> list[str]:
    """For each module with a fault whose readings predate a module replacement: capture it again."""
    out: list[str] = []
    for p in sorted(
        {f.module for f in findings if f.module is not None and f.severity == FindingSeverity.FAULT}
    ):
        after = replaced_after_reading(view, p)
        if after is not None:
            out.append(
                f"A module was replaced on {after[0]}, after the newest cell reading of position {p} "
                f"({after[1]}): if it was position {p}, its findings are about the module taken out. "
                f"Capture `pwr`, `bat {_addr(view, p)}` and `stat {_addr(view, p)}` at the top of charge "
                "(100 %, idle) before acting on them."
            )
    return out


def _readings_before_cycle(view: CaseView) -> list[str]:
    """Modules whose newest cell reading is older than the owner's last rebalancing cycle, or from its day
    (:func:`_read_before_cycle`): what the cycle did is not in the evidence (the story is evidence; the
    newest state is what counts)."""
    last, stale, same_day = _read_before_cycle(view)
    out = []
    if stale:
        cmds = ", ".join(f"`bat {_addr(view, p)}`" for p in stale)
        out.append(
            f"The newest cell readings of {coverage.positions_text(stale)} are older than the rebalancing "
            f"cycle of {last}: capture {cmds} at the top of charge (100 %, idle) to see whether the cycle "
            "held."
        )
    if same_day:
        cmds = ", ".join(f"`bat {_addr(view, p)}`" for p in same_day)
        out.append(
            f"The newest cell readings of {coverage.positions_text(same_day)} are from {last}, the day of "
            "the rebalancing cycle, and may have been taken before or during its hold: capture "
            f"{cmds} at the top of charge (100 %, idle) after the hold to see whether the cycle held."
        )
    return out


LISTED_COMMANDS: Final = 8
"""Commands spelt out one by one in a gap; beyond this the rest are named by the command's pattern."""


def _stat_refused(view: CaseView) -> str | None:
    """What to do instead of ``stat N`` when the console refused it and answered a bare ``stat``: a US3000D
    (B1.4.0.0) answers ``stat 1`` with "Invalid command or fail to excute! Usage: ... stat/stat [detail]"
    and its bare ``stat`` reports the module the cable is on (mman/node-red-contrib-pylontech-health,
    real captures and its poller's master-only fallback)."""
    answered = {s.address for s in view.stats}
    for typed, answer in view.console_refused.items():
        words = typed.split()
        # refused for a module whose counters a bare `stat` did give: the address form is what is refused
        if words[0] == "stat" and len(words) == 2 and words[1].isdigit() and int(words[1]) in answered:
            return (
                f"the console refused `{typed}` ({answer.strip()}): this firmware's `stat` takes no module "
                "address and reports the module whose console port the cable is in, so plug the console "
                "cable into each of those modules in turn and run `stat` there"
            )
    return None


def _all_positions(modules: list[ModuleView]) -> str:
    """Every position, none left out (a 16-module stack listed only its first 8 unread modules: the
    other 7 silently dropped from what to capture), runs of three or more as ranges: ``1-5, 7-16``."""
    nums = sorted(m.position for m in modules)
    runs: list[list[int]] = []
    for p in nums:
        if runs and p == runs[-1][-1] + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) >= 3 else ", ".join(map(str, r)) for r in runs)


def _partly_read(
    view: CaseView, read: list[int | None], what: str, cmd: str, how: str, *, instead: str | None = None
) -> list[str]:
    """The gap for a command read on some modules of a stack but not all: every unread position named,
    with the command to capture for each — or ``instead``, what to do when the console refused it
    (nothing when none was read: that gap is said on its own)."""
    missing = [m for m in view.modules if m.position not in read]
    if not read or not missing or len(view.modules) < 2:
        return []
    todo = instead or f"capture {_commands(cmd, missing)}"
    return [f"No {what} for position(s) {_all_positions(missing)}: {todo} {how}."]


def _commands(cmd: str, modules: list[ModuleView]) -> str:
    """``bat 1``, ``bat 2`` ... for up to :data:`LISTED_COMMANDS` modules, else the pattern for all."""
    if len(modules) <= LISTED_COMMANDS:
        return ", ".join(f"`{cmd} {m.address or m.position}`" for m in modules)
    return f"`{cmd} N` for each of them (N = the module's address)"


def _led_gap(view: CaseView, ld: LedLead, findings: list[Finding], read: frozenset[int]) -> str:
    """The answer on position N for a light nothing explains: why not, and what to capture while lit."""
    p = ld.position
    named = view.events.where(EventQuery(names_module=True))
    own = sorted({e.code or e.kind.value for e in named if view.position_of(e.module_address) == p})
    if p not in read:
        why = f"no reading of position {p} itself was supplied, so its state is not known"
    elif own:
        why = f"position {p}'s own records show {', '.join(own[:4])}, but no finding ties them to a fault"
    else:
        why = f"the readings of position {p} show no alarm or protection"
    stack = sorted(
        {f.code.value for f in findings if f.module is None and f.severity != FindingSeverity.INFO}
    )
    others = sorted(
        {f.module for f in findings if f.module not in (None, p) and f.severity != FindingSeverity.INFO}
    )
    if stack:
        why += f"; the stack-level finding ({', '.join(stack)}) cites no reading of position {p}"
    if others:
        why += f"; the findings on position {', '.join(str(o) for o in others)} are about other modules"
    return (
        f"The LED of position {p} was seen '{ld.word.value}' ({_PANEL[ld.state]}) but nothing in the data "
        f"explains it on position {p}: {why}. While the LED is {'dark' if ld.state == 'off' else 'lit'}, "
        "capture "
        f"{_capture_cmds(view, p)} on the master's console, and export the inverter's battery event log."
    )


def symptoms_answered(findings: list[Finding]) -> bool:
    """The owner's symptoms are explained from the data by an ``info`` finding that cites them (e.g. the
    SOC jumps of a mixed stack shown to be the gauge at one voltage, mixed_models)."""
    return any(
        f.severity == FindingSeverity.INFO and any(e.key == "symptoms" for e in f.evidence) for f in findings
    )


def symptom_gap(view: CaseView) -> str:
    """The owner reported symptoms that the data supplied does not show."""
    words = ", ".join(s.value.replace("_", " ") for s in view.symptoms)
    return (
        f"The reported symptoms ({words}) are not visible in the console data supplied, which was probably "
        "taken while the stack was behaving: capture `pwr`, `bat N` and `stat N` for every module and `log` "
        "during the problem or right after it, and export the inverter's battery event log covering it."
    )


def _first_sentence(text: str) -> str:
    cut = text.split(FIX_MARK)[0]
    i = cut.find(". ")
    return (cut[: i + 1] if i >= 0 else cut).strip()


OUTCOME_PHRASE: Final[dict[Outcome, str]] = {
    Outcome.RECONFIGURE: "Settings must change before anything else",
    Outcome.REPLACE: "The module must be isolated and replaced",
    Outcome.ON_SITE_CHECK: "This needs an engineer on site",
    Outcome.ENVIRONMENT: "No module is faulty: the stack's surroundings cause the trips",
    Outcome.REBALANCE: "A controlled rebalancing (100 % held for 6-8 h, then re-check) should recover it",
    Outcome.MONITOR: "No action is needed now; re-check later",
}


def summary(
    view: CaseView,
    outcome: Outcome,
    primary: Finding | None,
    findings: list[Finding],
    verdicts: list[ModuleVerdict],
    leads: list[LedLead],
    reasons: list[str],
) -> str:
    n = len(verdicts)
    if outcome == Outcome.INSUFFICIENT_EVIDENCE:
        first = "Not enough evidence to decide: " + "; ".join(reasons) + "."
        facts = coverage.known_facts(view)
        if facts:
            first += " What is known: " + "; ".join(facts[:4]) + "."
        if leads:
            names = ", ".join(str(ld.position) for ld in leads)
            word = "LED" if all(ld.state == "off" for ld in leads) else "alarm LED"
            first += f" The {word} on position {names} is a lead, not a verdict (low confidence)."
        else:
            first += " Confidence in any conclusion would be low; the evidence gaps list what to capture."
        return first
    if outcome == Outcome.NO_FAULT or primary is None:
        what = f"{n}-module stack" if n else "stack"
        unjudged = [
            f for f in findings if f.code == Cause.CELL_IMBALANCE and f.severity == FindingSeverity.INFO
        ]
        if unjudged:
            where = ", ".join(str(f.module) for f in unjudged)
            return (
                f"No fault found in the evidence for this {what}. The cell spread of position {where} was "
                "read "
                "outside the validity envelope and could not be judged (low confidence on the cells): "
                "capture "
                "it again at the top of charge, idle."
            )
        read = sorted(coverage.of(view).read)
        answered = symptoms_answered(findings)
        return (
            f"No fault found in the evidence for this {what}: the states read for "
            f"{coverage.positions_text(read)} show nothing that needs action."
            + (" The symptom reported is explained by the readings (see the findings)." if answered else "")
        )
    first = _first_sentence(primary.message)
    if primary.module is not None and not first.lower().startswith("position"):
        # lower-case the first letter only of an ordinary word: "DIP switch", "SOH", "BMS" stay as written
        head = first[0].lower() if first[1:2].islower() else first[0]
        first = f"Position {primary.module}: {head}{first[1:]}"
    second = _cycle_result(primary) or _cycle_told(view, primary) or OUTCOME_PHRASE.get(outcome, "")
    checking = [f for f in findings if f.module is None and f.severity == FindingSeverity.WARNING and _fix(f)]
    if outcome == Outcome.MONITOR and checking:
        # a warning asks for a check (its steps come first): the summary must not read as "nothing to do"
        link = any(f.code == Cause.INVERTER_COMMS_CONFIG for f in checking)
        second = (
            "No module needs work, but the battery's data link to the inverter needs checking (see the "
            "steps); re-check if the failures recur"
            if link and primary in checking
            else "Nothing needs replacing or rebalancing now, but the battery's data link to the inverter "
            "needs checking (see the steps); re-check later"
            if link
            else "Nothing needs replacing or rebalancing now, but do the check in the steps; re-check later"
        )
    if primary.confidence < C.LOW_CONFIDENCE_BELOW:
        second += f" (low confidence, {primary.confidence:.0%}: see the evidence gaps)"
    swapped = replaced_after_reading(view, primary.module)
    if swapped is not None:
        second += (
            f". A module was replaced on {swapped[0]}, after this reading ({swapped[1]}): if it was position "
            f"{primary.module}, this is about the module taken out, so read the new one first (see the "
            "evidence gaps)"
        )
    return f"{first} {second}.".replace("..", ".") + _lights_not_explained(leads)


def _cycle_result(primary: Finding) -> str | None:
    """What the owner's rebalancing cycle shows, as the cell finding says it (its result read from a later
    capture, or what to capture to see it), for the summary in place of the generic outcome phrase: after
    a cycle, its result is what decides rebalance again vs weak cell, not "a rebalancing should recover
    it"."""
    if primary.code not in (Cause.CELL_IMBALANCE, Cause.WEAK_CELL):
        return None
    i = primary.message.find(AFTER_CYCLE)
    if i < 0:
        return None
    text = primary.message[i:]
    for end in (" Context: ", " Also: "):
        text = text.split(end)[0]
    # the owner's words: no citation note, no statistics word
    text = text.replace(" (history)", "").replace(" below the median", " below the others")
    return text.strip().rstrip(".")


def _cycle_told(view: CaseView, primary: Finding) -> str | None:
    """The owner's notes mention a rebalancing already done but give it no date in the history: what it
    decides, instead of advising a first rebalancing as if none had been tried."""
    if primary.code != Cause.CELL_IMBALANCE or not story.rebalance_told(view):
        return None
    return (
        "Your notes mention a rebalancing already done: give its date (see the evidence gaps). If this "
        "reading is from after it, the imbalance came back and the cell is weak (the module needs "
        "replacing); if it is from before, a controlled rebalancing (100 % held for 6-8 h, then re-check) "
        "should recover it"
    )


def _lights_not_explained(leads: list[LedLead]) -> str:
    """The owner's lights that the outcome does not account for, said on page one (issue 11 item 3)."""
    if not leads:
        return ""
    where = coverage.positions_text([ld.position for ld in leads])
    light = "dark light" if all(ld.state == "off" for ld in leads) else "alarm light"
    return f" The {light} on {where} is not explained by this: see the evidence gaps for what to capture."
