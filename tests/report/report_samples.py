"""Hand-built diagnoses (one per outcome) and the console records behind them, for the report tests.

The cell voltages of the imbalanced module are the real ones of GPollakDiener's US2000C capture of
2026-07-13 (shared/captures/console/bat_balancing_imbalance__...20260713.txt): cell 12 at 3345 mV, BAL=N.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from pylondiag.model.console import (
    BatCell,
    BatTable,
    ConsoleRecord,
    InfoRecord,
    Provenance,
    PwrRow,
    PwrTable,
    StatCounters,
)
from pylondiag.model.diagnosis import (
    Action,
    Cause,
    Diagnosis,
    EvidenceRef,
    Finding,
    FindingSeverity,
    ModuleVerdict,
    OnSiteSpec,
    Outcome,
    Verdict,
)
from pylondiag.model.event import BatteryEvent, EventKind, Severity
from pylondiag.report.data import ModuleFacts, ReportData, from_console

REAL_IMBALANCE_MV = (3448, 3439, 3426, 3441, 3372, 3382, 3426, 3368, 3441, 3451, 3446, 3461, 3345, 3469, 3467)
REAL_BAL = (True,) * 12 + (False, True, True)
SAFETY = [
    "Power down the whole stack before moving any module or cable.",
    "Do not disconnect inter-module cables while the stack is powered on.",
]
GENERATED = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
SRC = "console/session.txt"


def prov(line: int, raw: str = "", source: str = SRC) -> Provenance:
    return Provenance(source=source, line=line, raw=raw)


def bat(
    address: int,
    volts: tuple[int, ...],
    bal: tuple[bool, ...] | None = None,
    *,
    soc: int = 100,
    state: str = "Idle",
    line: int = 10,
    temp_mc: int = 25200,
) -> BatTable:
    cells = tuple(
        BatCell(
            cell=i,
            voltage_mv=v,
            current_ma=0,
            temperature_mc=temp_mc,
            base_state=state,
            soc_pct=soc,
            balancing=(bal[i] if bal else False),
            provenance=prov(line + 2 + i, f"{i} {v}"),
        )
        for i, v in enumerate(volts)
    )
    cols = ("Battery", "Volt", "Curr", "Tempr", "Base State", "SOC", "BAL")
    return BatTable(address=address, columns=cols, cells=cells, provenance=prov(line, f"bat {address}"))


def healthy(seed: int) -> tuple[int, ...]:
    rnd = random.Random(seed)
    return tuple(3340 + rnd.randint(0, 6) for _ in range(15))


def pwr(
    n: int,
    *,
    line: int = 2,
    temps_c: dict[int, float] | None = None,
    when: datetime | None = None,
    soc: int = 99,
) -> PwrTable:
    rows = []
    for a in range(1, n + 1):
        t = (temps_c or {}).get(a, 22.0 + a * 0.3)
        rows.append(
            PwrRow(
                address=a,
                voltage_mv=50100 + a,
                current_ma=0,
                temperature_mc=int(t * 1000),
                cell_temp_low_mc=int((t - 1.2) * 1000),
                cell_temp_high_mc=int((t + 0.8) * 1000),
                mos_temperature_mc=int((t + 2) * 1000),
                base_state="Idle",
                soc_pct=soc,
                module_time=when,
                provenance=prov(line + a, f"{a} 50100"),
            )
        )
    cols = ("Power", "Volt", "Curr", "Tempr", "Tlow", "Thigh", "Base.St", "Coulomb")
    return PwrTable(columns=cols, rows=tuple(rows), provenance=prov(line, "pwr"))


def stat(address: int, *, line: int = 60, hv: int = 0, soh: int = 99, cycles: int = 300) -> StatCounters:
    counters = {
        "Charge Times": 26076,
        "Bat HV Times": hv,
        "Pwr OV Times": hv // 2,
        "COC Times": 0,
        "Shut Times": 12,
        "CYCLE Times": cycles,
        "SOH": soh,
    }
    return StatCounters(
        address=address, counters=counters, cycle_count=cycles, soh_pct=soh, provenance=prov(line, "stat")
    )


def info(address: int, *, line: int = 100, fw: str = "B67.5.0", barcode: str = "PPTBH02400") -> InfoRecord:
    return InfoRecord(
        address=address,
        main_soft_version=fw,
        barcode=f"{barcode}{address:04d}",
        provenance=prov(line, "info"),
    )


def modules(n: int, model: str = "US3000C", *, leds: dict[int, str] | None = None) -> list[ModuleFacts]:
    return [
        ModuleFacts(
            position=p,
            address=p,
            model=model,
            installed="2019-06",
            led=(leds or {}).get(p, "green"),
            dip="0000",
            role="master" if p == 1 else "slave",
            serial=None,
        )
        for p in range(1, n + 1)
    ]


def verdicts(n: int, model: str, bad: dict[int, tuple[Verdict, list[Cause]]]) -> list[ModuleVerdict]:
    out = []
    for p in range(1, n + 1):
        v, causes = bad.get(p, (Verdict.OK, []))
        out.append(ModuleVerdict(position=p, address=p, model=model, verdict=v, causes=causes))
    return out


def ev(line: int, quote: str, source: str = SRC) -> EvidenceRef:
    return EvidenceRef(source=source, line=line, quote=quote)


def stack_records(
    n: int,
    *,
    bad: dict[int, tuple[int, ...]] | None = None,
    bal: dict[int, tuple[bool, ...]] | None = None,
    hv: dict[int, int] | None = None,
) -> list[ConsoleRecord]:
    recs: list[ConsoleRecord] = [pwr(n)]
    for a in range(1, n + 1):
        volts = (bad or {}).get(a, healthy(a))
        recs.append(bat(a, volts, (bal or {}).get(a), line=20 + 20 * a))
        recs.append(stat(a, line=400 + 60 * a, hv=(hv or {}).get(a, 0)))
        recs.append(info(a, line=1400 + 20 * a))
    return recs


# ---------------------------------------------------------------- one case per outcome
def rebalance() -> tuple[Diagnosis, ReportData]:
    d = Diagnosis(
        case_id="2026-0042",
        tool_version="0.1.0",
        outcome=Outcome.REBALANCE,
        primary_cause=Cause.CELL_IMBALANCE,
        culprit_modules=[3],
        summary="Module 3 (US3000C, installed 2019-06) has a 124 mV cell spread at 99% SOC, idle.",
        modules=verdicts(4, "US3000C", {3: (Verdict.REBALANCE, [Cause.CELL_IMBALANCE])}),
        findings=[
            Finding(
                code=Cause.CELL_IMBALANCE,
                severity=FindingSeverity.FAULT,
                module=3,
                confidence=0.9,
                message="Cell 12 at 3.345 V while cells span 3.368-3.469 V (spread 124 mV), idle.",
                evidence=[ev(94, "12 3345"), EvidenceRef(source="case.yaml", key="stack[2].led")],
            )
        ],
        actions=[
            Action(step=1, text="Charge the stack to 100% and hold it there for 6-8 hours."),
            Action(step=2, text="Capture bat 3 again at the end of the hold and send it in."),
        ],
        evidence_gaps=["No inverter event log supplied: export the battery events of the last 30 days."],
        safety=SAFETY,
    )
    recs = stack_records(4, bad={3: REAL_IMBALANCE_MV}, bal={3: REAL_BAL}, hv={3: 25})
    return d, from_console(recs, modules=modules(4, leds={3: "red_flashing"}))


def replace() -> tuple[Diagnosis, ReportData]:
    weak = tuple(3330 + (i % 3) for i in range(15))
    weak = (*weak[:6], 3190, *weak[7:])
    d = Diagnosis(
        case_id="2026-0050",
        tool_version="0.1.0",
        outcome=Outcome.REPLACE,
        primary_cause=Cause.WEAK_CELL,
        culprit_modules=[2],
        summary="Module 2 (US2000C) has a cell that sags 140 mV under load, again after a rebalance.",
        modules=verdicts(3, "US2000C", {2: (Verdict.REPLACE, [Cause.WEAK_CELL])}),
        findings=[
            Finding(
                code=Cause.WEAK_CELL,
                severity=FindingSeverity.FAULT,
                module=2,
                confidence=0.85,
                message="Cell 6 at 3.190 V under 20 A discharge while the others sit at 3.330 V.",
                evidence=[ev(48, "6 3190"), ev(12, "2 49900", "console/before.txt")],
            )
        ],
        actions=[
            Action(step=1, text="Switch the stack off and take module 2 out.", on_site=True),
            Action(step=2, text="Fit a replacement US2000C charged to the stack's SOC.", on_site=True),
            Action(step=3, text="Set the module count on the inverter back to 3."),
        ],
        on_site_spec=OnSiteSpec(
            work=["Remove module 2 from the stack", "Fit the replacement and re-make the link chain"],
            parts=["Power cable set for one module"],
            checks_after=["pwr shows 3 modules", "bat 2 spread below 30 mV after a full charge"],
        ),
        evidence_gaps=[],
        safety=SAFETY,
    )
    recs = stack_records(3, bad={2: weak})
    return d, from_console(recs, modules=modules(3, "US2000C", leds={2: "red"}))


def reconfigure() -> tuple[Diagnosis, ReportData]:
    d = Diagnosis(
        case_id="2026-0061",
        tool_version="0.1.0",
        outcome=Outcome.RECONFIGURE,
        primary_cause=Cause.DIP_MULTIPLE_MASTERS,
        culprit_modules=[3],
        summary="Two modules act as master (positions 1 and 3): the link chain is broken at position 3.",
        modules=verdicts(4, "US5000", {3: (Verdict.RECONFIGURE, [Cause.DIP_MULTIPLE_MASTERS])}),
        findings=[
            Finding(
                code=Cause.DIP_MULTIPLE_MASTERS,
                severity=FindingSeverity.FAULT,
                module=3,
                confidence=0.8,
                message="Position 3 reports role master with Link Port 0 empty; only position 1 should.",
                evidence=[EvidenceRef(source="case.yaml", key="stack[2].role")],
            )
        ],
        actions=[
            Action(step=1, text="Connect Link Port 1 of module 2 to Link Port 0 of module 3.", on_site=True)
        ],
        evidence_gaps=[],
        safety=[],
    )
    data = from_console(stack_records(4), modules=modules(4, "US5000"))
    data = ReportData(
        **{
            **data.__dict__,
            "inverter": (("Brand", "sunsynk"), ("Battery protocol", "00"), ("Configured modules", "4")),
        }
    )
    return d, data


def garage_temperature(t: datetime) -> float:
    """°C in an unheated UK garage: about 0 °C on January mornings, about 22 °C on July afternoons."""
    season = -math.cos(2 * math.pi * (t.timetuple().tm_yday - 15) / 365)
    day = -math.cos(2 * math.pi * (t.hour - 4) / 24)
    return 10.0 + 8.0 * season + 4.0 * day


def environment(events: int = 120, days: int = 365) -> tuple[Diagnosis, ReportData]:
    start = datetime(2025, 11, 20, tzinfo=UTC)
    rnd = random.Random(7)
    evs: list[BatteryEvent] = []
    for i in range(events):
        t = start + timedelta(minutes=rnd.randint(0, days * 24 * 60))
        temp = garage_temperature(t) + rnd.uniform(-1.5, 1.5)
        kind = (
            EventKind.UNDER_TEMPERATURE
            if temp < 1.0 and rnd.random() < 0.8
            else rnd.choice(
                [EventKind.BMS_COMMS_LOST, EventKind.CLEARED, EventKind.OTHER, EventKind.CELL_OVER_VOLTAGE]
            )
        )
        sev = Severity.FAULT if kind == EventKind.UNDER_TEMPERATURE else Severity.INFO
        evs.append(
            BatteryEvent(
                time=t,
                origin="inverter" if i % 3 else "bms",
                brand="sunsynk",
                code=f"F{i % 60}",
                text=kind.value,
                kind=kind,
                severity=sev,
                temperature_c=round(temp, 1),
                provenance=Provenance(
                    source="inverter/events.csv", line=i + 2, raw=f"{t:%Y-%m-%d},F{i % 60}"
                ),
            )
        )
    evs.sort(key=lambda e: e.time or start)
    cited = [e for e in evs if e.kind == EventKind.UNDER_TEMPERATURE][:8]
    d = Diagnosis(
        case_id="2026-0077",
        tool_version="0.1.0",
        outcome=Outcome.ENVIRONMENT,
        primary_cause=Cause.THERMAL_INTERMITTENT,
        culprit_modules=[],
        summary="Trips cluster on cold mornings below 0 °C in the garage; no module is faulty.",
        modules=verdicts(2, "US3000C", {}),
        findings=[
            Finding(
                code=Cause.THERMAL_INTERMITTENT,
                severity=FindingSeverity.WARNING,
                module=None,
                confidence=0.75,
                message=f"{len(cited)} under-temperature trips from December to February, all below 0 °C.",
                evidence=[
                    EvidenceRef(source=e.provenance.source, line=e.provenance.line, quote=e.provenance.raw)
                    for e in cited
                ],
            )
        ],
        actions=[Action(step=1, text="Insulate the garage or move the stack indoors before winter.")],
        evidence_gaps=[],
        safety=SAFETY,
    )
    recs: list[ConsoleRecord] = []
    for k in range(6):
        when = datetime(2026, 1, 10 + k, 7, tzinfo=UTC)
        recs.append(pwr(2, line=2 + 20 * k, when=when, temps_c={1: -2.0 + k, 2: -1.5 + k}))
    data = from_console(recs, modules=modules(2), events=evs)
    return d, data


def monitor() -> tuple[Diagnosis, ReportData]:
    d = Diagnosis(
        case_id="2026-0080",
        tool_version="0.1.0",
        outcome=Outcome.MONITOR,
        primary_cause=Cause.CAPACITY_FADE,
        culprit_modules=[],
        summary="Module 1 reports SOH 82%; it still keeps up with the stack.",
        modules=verdicts(2, "US2000C", {1: (Verdict.MONITOR, [Cause.CAPACITY_FADE])}),
        findings=[
            Finding(
                code=Cause.CAPACITY_FADE,
                severity=FindingSeverity.WARNING,
                module=1,
                confidence=0.6,
                message="stat SOH 82 on position 1.",
                evidence=[ev(460, "SOH : 82")],
            )
        ],
        actions=[Action(step=1, text="Capture stat again in six months.")],
        evidence_gaps=[],
        safety=SAFETY,
    )
    return d, from_console(stack_records(2), modules=modules(2, "US2000C"))


def no_fault() -> tuple[Diagnosis, ReportData]:
    d = Diagnosis(
        case_id="2026-0090",
        tool_version="0.1.0",
        outcome=Outcome.NO_FAULT,
        primary_cause=None,
        culprit_modules=[],
        summary="All five modules read normally: cell spreads under 10 mV, no alarms.",
        modules=verdicts(5, "US2000C", {}),
        findings=[],
        actions=[],
        evidence_gaps=[],
        safety=SAFETY,
    )
    return d, from_console(stack_records(5), modules=modules(5, "US2000C"))


def on_site_check() -> tuple[Diagnosis, ReportData]:
    d = Diagnosis(
        case_id="2026-0095",
        tool_version="0.1.0",
        outcome=Outcome.ON_SITE_CHECK,
        primary_cause=Cause.MODULE_NOT_COMMUNICATING,
        culprit_modules=[4],
        summary="Module 4 is in the stack but missing from the master's pwr table.",
        modules=verdicts(4, "US3000C", {4: (Verdict.ON_SITE_CHECK, [Cause.MODULE_NOT_COMMUNICATING])}),
        findings=[
            Finding(
                code=Cause.MODULE_NOT_COMMUNICATING,
                severity=FindingSeverity.FAULT,
                module=4,
                confidence=0.7,
                message="pwr prints 4 as Absent.",
                evidence=[ev(6, "4 - - Absent")],
            )
        ],
        actions=[Action(step=1, text="Check the link cable between modules 3 and 4.", on_site=True)],
        evidence_gaps=[],
        safety=SAFETY,
    )
    return d, from_console(stack_records(3), modules=modules(4, leds={4: "off"}))


def insufficient() -> tuple[Diagnosis, ReportData]:
    d = Diagnosis(
        case_id="2026-0101",
        tool_version="0.1.0",
        outcome=Outcome.INSUFFICIENT_EVIDENCE,
        primary_cause=None,
        culprit_modules=[],
        summary="No console capture and no inverter log were supplied.",
        modules=[],
        findings=[],
        actions=[],
        evidence_gaps=[
            "A console capture of pwr, bat N and stat for every module.",
            "The inverter's battery event log for the last 30 days.",
        ],
        safety=[],
    )
    return d, ReportData()


def big_stack(modules_n: int = 16, events: int = 5000) -> tuple[Diagnosis, ReportData]:
    """A 16-module stack with a year of events: the size/time benchmark and the heatmap case."""
    env_d, env_data = environment(events=events, days=365)
    bad = {7: REAL_IMBALANCE_MV, 12: tuple(v - 20 for v in REAL_IMBALANCE_MV)}
    recs = stack_records(modules_n, bad=bad, bal={7: REAL_BAL}, hv={7: 25, 12: 3})
    for k in range(24 * 7):
        when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=k)
        recs.append(
            pwr(
                modules_n,
                line=5000 + 20 * k,
                when=when,
                temps_c={a: 10 + 6 * ((k % 24) / 24) + a * 0.2 for a in range(1, modules_n + 1)},
            )
        )
    d = Diagnosis(
        case_id="2026-0200",
        tool_version="0.1.0",
        outcome=Outcome.REBALANCE,
        primary_cause=Cause.CELL_IMBALANCE,
        culprit_modules=[7, 12],
        summary="Modules 7 and 12 of 16 have cell spreads above 100 mV at full charge.",
        modules=verdicts(
            modules_n,
            "US5000",
            {7: (Verdict.REBALANCE, [Cause.CELL_IMBALANCE]), 12: (Verdict.REBALANCE, [Cause.CELL_IMBALANCE])},
        ),
        findings=[
            Finding(
                code=Cause.CELL_IMBALANCE,
                severity=FindingSeverity.FAULT,
                module=7,
                confidence=0.9,
                message="Spread 124 mV on position 7.",
                evidence=[ev(162, "12 3345")],
            ),
            Finding(
                code=Cause.CELL_IMBALANCE,
                severity=FindingSeverity.FAULT,
                module=12,
                confidence=0.85,
                message="Spread 124 mV on position 12.",
                evidence=[ev(262, "12 3325")],
            ),
            *env_d.findings,
        ],
        actions=[
            Action(step=1, text="Charge to 100% and hold 6-8 hours."),
            Action(step=2, text="Capture bat 7 and bat 12 again."),
        ],
        evidence_gaps=[],
        safety=SAFETY,
    )
    data = from_console(recs, modules=modules(modules_n, "US5000"), events=env_data.events)
    return d, data


ALL_OUTCOMES = {
    "rebalance": rebalance,
    "replace": replace,
    "reconfigure": reconfigure,
    "environment": environment,
    "monitor": monitor,
    "no_fault": no_fault,
    "on_site_check": on_site_check,
    "insufficient_evidence": insufficient,
}
