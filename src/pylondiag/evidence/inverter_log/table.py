"""Columnar events as a table of plain arrays, for statistics over year-long logs.

:func:`read_event_table` reads a log with :func:`~pylondiag.evidence.inverter_log.columns.read_log_columns`
(column-wise for the generic CSV with ISO times, row by row for every other shape) and keeps the arrays
the statistics need; :meth:`EventTable.from_events` builds the same table from event objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from pylondiag.model.columns import KIND_INDEX as _KIND_INDEX
from pylondiag.model.columns import KINDS, SEVERITIES, EventColumns
from pylondiag.model.columns import SEVERITY_INDEX as _SEV_INDEX
from pylondiag.model.event import BatteryEvent, EventKind

__all__ = ["KINDS", "SEVERITIES", "EventTable", "read_event_table"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class EventTable:
    """One row per event, oldest first as in the file."""

    source: str
    utc_s: IntArray
    """Event time, seconds since 1970-01-01 UTC."""
    local_s: IntArray
    """The same instant as site wall-clock seconds (``utc_s`` + the zone's offset then);
    hour of day = ``local_s // 3600 % 24``."""
    kind: npt.NDArray[np.int8]
    """Index into :data:`KINDS`."""
    severity: npt.NDArray[np.int8]
    temperature_c: FloatArray
    """Temperature recorded with the event, NaN where none."""
    line: npt.NDArray[np.int32]
    """1-based line in ``source``."""

    def __len__(self) -> int:
        return int(self.utc_s.shape[0])

    def of_kind(self, *kinds: EventKind) -> npt.NDArray[np.bool_]:
        """Mask of the rows of the given kinds."""
        wanted = np.array([_KIND_INDEX[k] for k in kinds], dtype=np.int8)
        return np.isin(self.kind, wanted)

    @classmethod
    def from_columns(cls, c: EventColumns) -> EventTable:
        """The table of a log's event columns (:mod:`~pylondiag.evidence.inverter_log.columns`)."""
        return cls(
            source=c.source,
            utc_s=np.trunc(c.utc_s).astype(np.int64),
            local_s=c.local_us // 1_000_000,
            kind=c.kind,
            severity=c.severity,
            temperature_c=c.temperature_c,
            line=c.line,
        )

    @classmethod
    def from_events(
        cls, events: Sequence[BatteryEvent], source: str = "", timezone: str = "Europe/London"
    ) -> EventTable:
        """Arrays from event objects (events without a time are left out)."""
        zone = ZoneInfo(timezone)
        timed = [e for e in events if e.time is not None]
        utc = np.empty(len(timed), dtype=np.int64)
        local = np.empty(len(timed), dtype=np.int64)
        for i, e in enumerate(timed):
            t = e.time
            assert t is not None
            aware = t if t.tzinfo is not None else t.replace(tzinfo=zone)
            utc[i] = int(aware.timestamp())
            offset = aware.astimezone(zone).utcoffset()
            local[i] = utc[i] + (int(offset.total_seconds()) if offset is not None else 0)
        return cls(
            source=source,
            utc_s=utc,
            local_s=local,
            kind=np.array([_KIND_INDEX[e.kind] for e in timed], dtype=np.int8),
            severity=np.array([_SEV_INDEX[e.severity] for e in timed], dtype=np.int8),
            temperature_c=np.array(
                [np.nan if e.temperature_c is None else e.temperature_c for e in timed], dtype=np.float64
            ),
            line=np.array([e.provenance.line for e in timed], dtype=np.int32),
        )


def read_event_table(
    data: bytes, source: str, *, brand: str | None = None, timezone: str = "Europe/London"
) -> EventTable:
    """Events of an inverter log as arrays; same arguments and errors as ``read_inverter_log``."""
    from pylondiag.evidence.inverter_log.columns import read_log_columns  # the package imports this module

    return EventTable.from_columns(read_log_columns(data, source, brand=brand, timezone=timezone).events)
