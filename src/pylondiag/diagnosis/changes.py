"""What changed, and when (the owner's story, ``case.yaml`` history and ``inverter.*_on``): which changes can
still explain the trouble the case describes.

Facts: ``inverters/settings.md`` — a comms fault "that starts right after an inverter replacement, factory
reset or firmware update" points at the inverter's battery settings; ``hardware/field_failures.md`` #15
(BMS comms fault after an inverter swap or re-cabling), #1/#2 (trouble since modules were added is the
mix first). A change explains trouble that starts *after* it, *soon* after it: a wrong battery type or
protocol fails at once, so alarms first met months later, with the system working in between, are not the
change's; and failures the inverter's own log shows before the change were not started by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from pylondiag.model.case import HistoryEvent
from pylondiag.model.event import EventKind
from pylondiag.model.stack import CaseView
from pylondiag.model.timeline import EventQuery

CHANGE_RECENT_DAYS: Final = 90
"""days: a change this long before the case (``observed_at``, else the newest capture) can still be what
started its trouble. Tool parameter [U]: wide enough for an owner who reports weeks after a swap; a swap
years ago, the inverter talking to the BMS since, is not "right after" (settings.md)."""

INVERTER_CHANGES: Final = frozenset({HistoryEvent.INVERTER_REPLACED, HistoryEvent.INVERTER_FIRMWARE_UPDATE})

_LOGGED: Final = EventQuery(origin="inverter", timed=True)
_COMMS: Final = EventQuery(
    origin="inverter", timed=True, kinds=frozenset({EventKind.BMS_COMMS_LOST}), not_info=True
)


@dataclass(frozen=True)
class Change:
    """One change the story records."""

    day: date
    key: str
    """Its ``case.yaml`` key, for the citation (``history[2]``, ``inverter.replaced_on``)."""
    words: str
    """How the summary names it ("inverter replaced")."""
    event: HistoryEvent


def recent(view: CaseView, change: Change) -> bool:
    """At most :data:`CHANGE_RECENT_DAYS` before the case (an undated case: every change counts)."""
    return recent_day(view, change.day)


def recent_day(view: CaseView, day: date) -> bool:
    """``day`` is at most :data:`CHANGE_RECENT_DAYS` before the case's day (:func:`case_day`)."""
    as_of = case_day(view)
    return as_of is None or (as_of - day).days <= CHANGE_RECENT_DAYS


def case_day(view: CaseView) -> date | None:
    """The day the case describes: ``observed_at`` or the newest capture (:meth:`CaseView.as_of`), else the
    last timed event of the inverter's log in the site's zone. Found by removing ``observed_at`` from the
    cold-mornings example (a log, no console) with a swap in 2023: the swap counted as recent and was
    blamed ("settings must change") for the 2026 cold-morning trips."""
    as_of = view.as_of()
    if as_of is not None:
        return as_of
    timed = view.events.where(_LOGGED)
    last = timed[-1].time if len(timed) else None
    return last.astimezone(ZoneInfo(view.timezone)).date() if last is not None else None


def inverter_changes(view: CaseView) -> list[Change]:
    """Inverter replacements / firmware updates that can have started BMS comms alarms, oldest first:
    recent (:func:`recent`) and with no BMS comms failure in the inverter's log before the change's day.

    Found by perturbing the cold-mornings example: a firmware update in the middle of a month of
    cold-morning comms trips, and a swap three years before the case, were each blamed as the cause
    ("settings must change").
    """
    inv = view.inverter
    found = [
        Change(h.date, f"history[{i}]", h.event.value.replace("_", " "), h.event)
        for i, h in enumerate(view.history)
        if h.event in INVERTER_CHANGES
    ]
    if not found and inv is not None and inv.replaced_on:
        found.append(
            Change(
                inv.replaced_on,
                "inverter.replaced_on",
                "inverter replacement",
                HistoryEvent.INVERTER_REPLACED,
            )
        )
    if not found and inv is not None and inv.firmware_updated_on:
        found.append(
            Change(
                inv.firmware_updated_on,
                "inverter.firmware_updated_on",
                "inverter firmware update",
                HistoryEvent.INVERTER_FIRMWARE_UPDATE,
            )
        )
    zone = ZoneInfo(view.timezone)
    comms = view.events.where(_COMMS)
    return [
        c
        for c in sorted(found, key=lambda c: c.day)
        if recent(view, c)
        and not (comms and comms.before(datetime(c.day.year, c.day.month, c.day.day, tzinfo=zone)))
    ]
