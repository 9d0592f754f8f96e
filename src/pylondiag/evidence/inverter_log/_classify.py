"""Kind and severity of an inverter event: from the brand's code table, else from the message's words."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final, NamedTuple

from pylondiag.domain.inverter_codes import lookup
from pylondiag.model.event import EventKind, Severity

_CLEARED: Final = re.compile(
    r"\b(cleared|recovered|recovery|restored|resolved|ended|back to normal|returned to normal|"
    r"disappeared)\s*+[.!]?\s*+$|^\s*+(cleared|recovered|restored|resolved)\b[:\s-]*+",
    re.I,
)

# BMS communication: a comms word *and* a battery word ("Meter communication failed" is not a battery event).
_COMMS: Final = re.compile(
    r"comm|\bcom\b|com[_ ]?fail|\bcan\b|rs485|connect|no reply|time-?out|\blost\b|\blose\b|link|no bms",
    re.I,
)
_BATTERY: Final = re.compile(r"bms|batt|lithium|li-ion", re.I)
_NOT_COMMS: Final = re.compile(r"direction|reverse|polarity", re.I)

MAX_CLASSIFIED_CHARS: Final = 512
"""Characters of a message that classification reads (inverter messages are one short line): a longer
cell is cut here, so no keyword search costs more than this per row whatever the file holds."""

# Words are ``[^\W_]*`` (letters and digits, not ``_``) where ``[\s_-]*`` follows, so the two never
# compete for the same underscores (``cell\w*[\s_-]*`` backtracks quadratically on ``cell____...x``).
# Ordered: the first pattern that matches names the kind. Words as inverter apps write them.
_KEYWORDS: Final[tuple[tuple[re.Pattern[str], EventKind], ...]] = tuple(
    (re.compile(p, re.I), k)
    for p, k in (
        (
            r"cell[^\W_]*[\s_-]*((over|high)[\s_-]*volt|volt[^\W_]*[\s_-]*(high|over))|(over|high)[\s_-]*cell[\s_-]*volt|"
            r"cell[^\W_]*[\s_-]*ov\b|cov\b",
            EventKind.CELL_OVER_VOLTAGE,
        ),
        (
            r"cell[^\W_]*[\s_-]*((under|low)[\s_-]*volt|volt[^\W_]*[\s_-]*(low|under))|(under|low)[\s_-]*cell[\s_-]*volt|"
            r"cell[^\W_]*[\s_-]*uv\b|cuv\b",
            EventKind.CELL_UNDER_VOLTAGE,
        ),
        (
            r"(over|high)[\s_-]*volt|volt[^\W_]*[\s_-]*(high|over)|\bov\b|ovp\b",
            EventKind.BATTERY_OVER_VOLTAGE,
        ),
        (
            r"(under|low)[\s_-]*volt|volt[^\W_]*[\s_-]*(low|under)|\buv\b|uvp\b",
            EventKind.BATTERY_UNDER_VOLTAGE,
        ),
        (
            r"(over|high)[\s_-]*temp|temp[^\W_]*[\s_-]*(high|over|too high)|\bot\b|otp\b",
            EventKind.OVER_TEMPERATURE,
        ),
        (
            r"(under|low)[\s_-]*temp|temp[^\W_]*[\s_-]*(low|under|too low)|\but\b|utp\b|cold",
            EventKind.UNDER_TEMPERATURE,
        ),
        (r"(?<!dis)charg[^\W_]*[\s_-]*(over[\s_-]*current|ocp|oc\b)|\bcoc\b", EventKind.CHARGE_OVER_CURRENT),
        (r"(over[\s_-]*current|ocp\b|overcurr|over[\s_-]*load|\bdoc\b)", EventKind.DISCHARGE_OVER_CURRENT),
        (
            r"(low|min)[\s_-]*soc|soc[\s_-]*(low|protect)|low[\s_-]*(capacity|battery)\b|power low",
            EventKind.LOW_SOC_SHUTDOWN,
        ),
        (
            r"bms[\s_-]*(fault|internal|hardware|failure)|internal[\s_-]*failure|sensor fault|relay fault|"
            r"mos[^\W_]*[\s_-]*fail",
            EventKind.BMS_FAULT,
        ),
        (r"protect|bms[\s_-]*alarm|forbid|disabled|lock", EventKind.BMS_PROTECTION),
    )
)
_FAULT_WORDS: Final = re.compile(r"fault|fail|error|err\b|lost|lose|shut", re.I)
_WARN_WORDS: Final = re.compile(r"warn|alarm|alert|low|high", re.I)

_SEVERITY_WORDS: Final[dict[str, Severity]] = {
    **dict.fromkeys(
        ("fault", "error", "err", "alarm", "critical", "fatal", "failure", "f", "e", "2"), Severity.FAULT
    ),
    **dict.fromkeys(("warning", "warn", "alert", "w", "1", "caution", "minor"), Severity.WARNING),
    **dict.fromkeys(
        ("info", "information", "notice", "event", "recovery", "normal", "ok", "cleared", "i", "0"),
        Severity.INFO,
    ),
}


class Classified(NamedTuple):
    kind: EventKind
    severity: Severity
    verified: bool
    classified_by: str
    clears: EventKind | None


def severity_word(word: str) -> Severity | None:
    """A severity column's value (``fault``, ``Warning``, ``Alarm``...), or None when not one of those."""
    return _SEVERITY_WORDS.get(word.strip().lower())


def _by_text(text: str) -> EventKind:
    if _COMMS.search(text) and _BATTERY.search(text) and not _NOT_COMMS.search(text):
        return EventKind.BMS_COMMS_LOST
    for pattern, kind in _KEYWORDS:
        if pattern.search(text):
            return kind
    return EventKind.OTHER


def _text_severity(text: str) -> Severity:
    if _FAULT_WORDS.search(text):
        return Severity.FAULT
    if _WARN_WORDS.search(text):
        return Severity.WARNING
    return Severity.INFO


@lru_cache(maxsize=8192)
def classify(brand: str | None, code: str, text: str) -> Classified:
    """Kind, severity and grade of one event as shown: ``code`` and ``text`` as the inverter wrote them.

    A message that ends in ``cleared`` / ``recovered`` (or starts with it) is kind ``cleared`` and
    ``clears`` names what ended. Table entries beat keywords; a code missing from the table is
    classified by its message (``classified_by = "text"``).
    """
    text = text[:MAX_CLASSIFIED_CHARS]
    stripped = _CLEARED.sub("", text).strip()
    is_clear = stripped != text.strip()
    entry = lookup(brand, code) if code else None
    if entry is None and stripped:
        entry = lookup(brand, stripped)
    if entry is not None:
        kind, severity, verified, how = entry.kind, entry.severity, entry.verified, "table"
    else:
        kind = _by_text(stripped or code)
        severity, verified, how = _text_severity(stripped or code), True, "text"
    if is_clear:
        return Classified(EventKind.CLEARED, Severity.INFO, verified, how, kind)
    return Classified(kind, severity, verified, how, None)
