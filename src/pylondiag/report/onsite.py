"""The on-site specification: what an engineer is sent to do, with what, and how to check it after.

Built from the diagnosis (``on_site_spec``, on-site actions, configuration findings, safety) and the case's
observations (models, DIP switches, inverter settings as found). It adds no judgement of its own; it only
spells out what the diagnosis implies for the visit — e.g. that a replacement must be the same model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pylondiag.model.diagnosis import Cause, Diagnosis, Verdict
from pylondiag.report.data import ReportData
from pylondiag.report.words import CONFIG_CAUSES, GENERIC_SAFETY, cause_label

LINK_CAUSES: Final = frozenset(
    {Cause.MODULE_NOT_COMMUNICATING, Cause.DIP_MULTIPLE_MASTERS, Cause.DIP_NO_MASTER}
)
"""Causes that point at the link chain: bring a spare link cable (RJ45; panel_dip.md §1 [M])."""

DIP_CAUSES: Final = frozenset(
    {Cause.DIP_MULTIPLE_MASTERS, Cause.DIP_NO_MASTER, Cause.DIP_DUPLICATE_ADDRESS, Cause.DIP_ADDRESS_GAP}
)

DIP_REFERENCE: Final = (
    "ADD switch on US modules (switch 1 first): switch 1 = RS485 baud to the inverter (OFF 115200, ON 9600; "
    "the same on every module, takes effect after a BMS restart); switches 2–4 = group number, on the master "
    "of each group only (all OFF for a single group). Slaves leave every switch OFF — their address is "
    "assigned along the link chain. The master is the module whose Link Port 0 is empty. "
    "(Pylontech US-series manual, ADD switch section.)"
)


@dataclass(frozen=True)
class SettingChange:
    what: str
    where: str
    detail: str


@dataclass(frozen=True)
class OnSiteSection:
    work: tuple[str, ...]
    parts: tuple[str, ...]
    settings: tuple[SettingChange, ...]
    dip_found: tuple[tuple[str, str, str, str, str], ...]
    """(position, model, DIP as read, role, group) for every module with an observation."""
    inverter_found: tuple[tuple[str, str], ...]
    dip_reference: str | None
    checks_after: tuple[str, ...]
    safety: tuple[str, ...]


def needs_site_visit(diagnosis: Diagnosis) -> bool:
    return diagnosis.on_site_spec is not None or any(a.on_site for a in diagnosis.actions)


def safety_lines(diagnosis: Diagnosis) -> tuple[str, ...]:
    """The diagnosis' safety lines, or the seed guide's generic warning when it gave none."""
    return tuple(diagnosis.safety) or GENERIC_SAFETY


def on_site_section(diagnosis: Diagnosis, data: ReportData) -> OnSiteSection | None:
    if not needs_site_visit(diagnosis):
        return None
    spec = diagnosis.on_site_spec
    # The diagnosis' own work list when it wrote one; otherwise its on-site actions, in step order.
    work = list(spec.work) if spec and spec.work else []
    if not work:
        work = [a.text for a in sorted(diagnosis.actions, key=lambda a: a.step) if a.on_site]
    parts = list(spec.parts) if spec else []
    causes = {f.code for f in diagnosis.findings}
    for verdict in diagnosis.modules:
        if verdict.verdict != Verdict.REPLACE:
            continue
        model = verdict.model or (m.model if (m := data.module(verdict.position)) else None)
        if model and not any(model.lower() in p.lower() for p in parts):
            parts.append(
                f"1 × {model} replacement module for position {verdict.position} — the same model as the "
                "module it replaces (do not mix models, e.g. US3000C with US5000), charged to the stack's "
                "state of charge before it is connected"
            )
        elif not model:
            parts.append(
                f"1 × replacement module for position {verdict.position}: model not known — read the "
                "label on the module and order the same model"
            )
    if causes & LINK_CAUSES and not any("cable" in p.lower() for p in parts):
        parts.append(
            "Spare RJ45 link cable(s) for the module link chain (Link Port 1 → Link Port 0 of the next)"
        )
    settings = tuple(
        SettingChange(
            what=cause_label(f.code),
            where=f"position {f.module}" if f.module is not None else "stack / inverter",
            detail=f.message,
        )
        for f in diagnosis.findings
        if f.code in CONFIG_CAUSES or f.code in DIP_CAUSES
    )
    dip_found = tuple(
        (
            str(m.position),
            m.model or "–",
            m.dip or "–",
            m.role or "–",
            "–" if m.group is None else str(m.group),
        )
        for m in data.modules
        if m.dip or m.role or m.group is not None
    )
    return OnSiteSection(
        work=tuple(work),
        parts=tuple(parts),
        settings=settings,
        dip_found=dip_found,
        inverter_found=data.inverter,
        dip_reference=DIP_REFERENCE if causes & DIP_CAUSES else None,
        checks_after=tuple(spec.checks_after) if spec else (),
        safety=safety_lines(diagnosis),
    )
