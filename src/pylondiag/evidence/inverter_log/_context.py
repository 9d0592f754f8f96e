"""What every shape reader is given: the file's lines and how to read its times and codes."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pylondiag.errors import NotAnInverterLog
from pylondiag.model.case import is_zone_name


@dataclass(frozen=True, slots=True)
class Context:
    source: str
    lines: list[str]
    """File lines without ends; ``lines[i]`` is line ``i + 1``."""
    zone: ZoneInfo
    brand: str | None
    """Canonical code-table brand, or None."""
    encoding: str
    cite_lines: list[str] | None = None
    """The spec's text of each line (:func:`~pylondiag.evidence.inverter_log._text.spec_lines`) when it
    differs from ``lines`` (a file that is not UTF-8): provenance quotes these. None: quote ``lines``."""

    def cited(self, line: int) -> str:
        """The text a citation of ``line`` (1-based) quotes; empty outside the file."""
        lines = self.cite_lines if self.cite_lines is not None else self.lines
        return lines[line - 1] if 0 < line <= len(lines) else ""


def site_zone(timezone: str, source: str) -> ZoneInfo:
    """The site's IANA zone, or :class:`NotAnInverterLog` naming the bad name."""
    if not is_zone_name(timezone):  # the zone list, not a file opened after user text ("Europe" is a folder)
        raise NotAnInverterLog(
            f"unknown site timezone {timezone[:60]!r} (expected an IANA name such as Europe/London)",
            source=source,
        )
    return ZoneInfo(timezone)


def parse_float(text: str) -> float | None:
    """A number as exports write it: ``4.5``, ``4,5``, ``4.5 °C``, ``39.2°F`` (converted to °C)."""
    t = text.strip().replace("\u00b0", "").replace(" ", "")
    if not t:
        return None
    fahrenheit = t[-1:] in ("F", "f")
    if t[-1:] in ("C", "c", "F", "f"):
        t = t[:-1]
    t = t.replace(",", ".")
    try:
        value = float(t)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return (value - 32.0) * 5.0 / 9.0 if fahrenheit else value
