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
"""days: a change this long before the case (:meth:`CaseView.as_of`: ``observed_at``, else the newest
capture or inverter-log row) can still be what
started its trouble. Tool parameter [U]: wide enough for an owner who reports weeks after a swap; a swap
years ago, the inverter talking to the BMS since, is not "right after" (settings.md)."""

INVERTER_CHANGES: Final = frozenset({HistoryEvent.INVERTER_REPLACED, HistoryEvent.INVERTER_FIRMWARE_UPDATE})

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
    """Known to be at most :data:`CHANGE_RECENT_DAYS` before the case. In a case nothing dates (no
    ``observed_at``, no dated capture or log row) how long ago a change was is unknown: it is not taken
    as recent (:func:`undated` names such changes, and a gap asks for the dates). Found by perturbing the
    cold-mornings example: without ``observed_at`` a swap of 2023 was blamed for the comms trips of 2026."""
    return recent_day(view, change.day)


def recent_day(view: CaseView, day: date) -> bool:
    """``day`` is known to be at most :data:`CHANGE_RECENT_DAYS` before the case (:func:`recent`)."""
    as_of = view.as_of()
    return as_of is not None and (as_of - day).days <= CHANGE_RECENT_DAYS


def story_changes(view: CaseView) -> list[Change]:
    """Every dated change the owner's story records that can start trouble: inverter replacements and
    firmware updates (:func:`inverter_changes` without its filters) and modules added, oldest first."""
    found = _history_changes(view, INVERTER_CHANGES | {HistoryEvent.MODULES_ADDED})
    if not any(c.event in INVERTER_CHANGES for c in found):
        found += _inverter_keys(view)[:1]
    return sorted(found, key=lambda c: c.day)


def undated(view: CaseView) -> list[Change]:
    """The story's changes when nothing dates the case (:meth:`CaseView.as_of` is None): whether each is
    recent is unknown. Empty when the case is dated."""
    return story_changes(view) if view.as_of() is None else []


def undated_gap(view: CaseView) -> str | None:
    """What to send when the owner reports trouble and a change but nothing dates the case."""
    found = undated(view)
    if not found or not view.symptoms:
        return None
    which = ", ".join(f"the {c.words} of {c.day}" for c in found[-3:])
    return (
        f"Nothing in the case says when it was observed (no observed date, no dated capture or inverter "
        f"log), so whether the trouble began soon after {which} is unknown: add the date you looked at the "
        "system (observed_at) and, in the notes, when the trouble began, or add the inverter's event log."
    )


def _history_changes(view: CaseView, events: frozenset[HistoryEvent]) -> list[Change]:
    """The ``case.yaml`` history entries of ``events``, as changes, in history order."""
    return [
        Change(h.date, f"history[{i}]", h.event.value.replace("_", " "), h.event)
        for i, h in enumerate(view.history)
        if h.event in events
    ]


def _inverter_keys(view: CaseView) -> list[Change]:
    """The ``inverter.replaced_on`` / ``inverter.firmware_updated_on`` dates, as changes."""
    inv = view.inverter
    out: list[Change] = []
    if inv is not None and inv.replaced_on:
        out.append(
            Change(
                inv.replaced_on,
                "inverter.replaced_on",
                "inverter replacement",
                HistoryEvent.INVERTER_REPLACED,
            )
        )
    if inv is not None and inv.firmware_updated_on:
        out.append(
            Change(
                inv.firmware_updated_on,
                "inverter.firmware_updated_on",
                "inverter firmware update",
                HistoryEvent.INVERTER_FIRMWARE_UPDATE,
            )
        )
    return out


def inverter_changes(view: CaseView) -> list[Change]:
    """Inverter replacements / firmware updates that can have started BMS comms alarms, oldest first:
    recent (:func:`recent`) and with no BMS comms failure in the inverter's log before the change's day.

    Found by perturbing the cold-mornings example: a firmware update in the middle of a month of
    cold-morning comms trips, and a swap three years before the case, were each blamed as the cause
    ("settings must change").
    """
    found = _history_changes(view, INVERTER_CHANGES)
    if not found:
        found = _inverter_keys(view)[:1]
    zone = ZoneInfo(view.timezone)
    comms = view.events.where(_COMMS)
    return [
        c
        for c in sorted(found, key=lambda c: c.day)
        if recent(view, c)
        and not (comms and comms.before(datetime(c.day.year, c.day.month, c.day.day, tzinfo=zone)))
    ]
