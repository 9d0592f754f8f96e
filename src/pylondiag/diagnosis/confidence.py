"""The one confidence scale of the rules: every ``Finding.confidence`` is one of these levels (plus,
at most, the LED corroboration bonus of :mod:`pylondiag.diagnosis.leds`).

A level says what kind of evidence the finding rests on, so that findings of different families
mean the same thing at the same number; ``bench/calibration.py`` prints how often findings at each
level were right on the simulated and real-report corpora. Beside :mod:`~pylondiag.diagnosis.thresholds`
(the figures rules compare against), this module holds how sure a rule may be of what it concludes.

| level | value | the finding rests on |
|---|---|---|
| ``CONJECTURE`` | 0.30 | a sign read outside its validity envelope and under current (not judged) |
| ``WEAK`` | 0.40 | a sign read outside its validity envelope (not judged) |
| ``EVEN`` | 0.50 | one of two readings the evidence supports about equally; a symptom without data |
| ``TENTATIVE`` | 0.55 | settings or counters alone, without the data that would confirm them |
| ``FAIR`` | 0.60 | one direct sign with no corroboration (a count, a pattern of few points) |
| ``REASONABLE`` | 0.65 | a direct sign whose reading has a known alternative |
| ``PROBABLE`` | 0.70 | one reading inside its envelope, or a setting that explains a symptom |
| ``LIKELY`` | 0.75 | a reading plus its context agreeing (a state plus a counter, a trend) |
| ``STRONG`` | 0.80 | a direct reading of the cause (a state word, a spread at the top of charge, a log) |
| ``FIRM`` | 0.85 | a configuration fact read directly (switches, roles, a setting against a limit) |
| ``NEAR_CERTAIN`` | 0.90 | a cause read directly and confirmed by a second, independent source or test |

Below :data:`LOW_CONFIDENCE_BELOW` the summary says the cause is uncertain and points at the gaps.
"""

from __future__ import annotations

from typing import Final

CONJECTURE: Final = 0.3
WEAK: Final = 0.4
EVEN: Final = 0.5
TENTATIVE: Final = 0.55
FAIR: Final = 0.6
REASONABLE: Final = 0.65
PROBABLE: Final = 0.7
LIKELY: Final = 0.75
STRONG: Final = 0.8
FIRM: Final = 0.85
NEAR_CERTAIN: Final = 0.9

CEILING: Final = 0.99
"""No finding is certain: corroboration (an LED on the same module) never lifts one above this."""

LOW_CONFIDENCE_BELOW: Final = PROBABLE
"""A primary cause below this is called low confidence in the summary."""

LEVELS: Final[tuple[tuple[str, float], ...]] = (
    ("conjecture", CONJECTURE),
    ("weak", WEAK),
    ("even", EVEN),
    ("tentative", TENTATIVE),
    ("fair", FAIR),
    ("reasonable", REASONABLE),
    ("probable", PROBABLE),
    ("likely", LIKELY),
    ("strong", STRONG),
    ("firm", FIRM),
    ("near_certain", NEAR_CERTAIN),
)
"""The scale in rising order, with the names ``bench/calibration.py`` prints."""


def level_of(confidence: float) -> str:
    """The name of the highest level at or below ``confidence`` (a corroborated finding sits between
    two levels and is counted with the lower one it started from or reached)."""
    name = LEVELS[0][0]
    for level, value in LEVELS:
        if confidence + 1e-9 >= value:
            name = level
    return name
