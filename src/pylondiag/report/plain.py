"""Owner-facing words: the diagnosis' texts without our internal names, and the answer to the lights the
owner reported.

Owners read page one of the report and the private case page. The diagnosis writes its texts for both
audiences, so some carry what only an engineer (or this repository) needs: source notes such as
``(settings.md, confidence MEDIUM)``, statistics such as ``(Fisher's exact test, one-sided, p = 0.0008)``,
folder names of a case directory (``put the file in console/``) and ``case.yaml`` keys. :func:`owner_text`
takes those out or says them in plain words; the engineer's pages keep the precise text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pylondiag.model.diagnosis import Cause
from pylondiag.report.words import CAUSE_LABEL, LED_LABEL, VERDICT_LABEL

CASE_FOLDERS: Final = ("console", "inverter", "can", "rs485", "photos")

_FOLDERS: Final = "|".join(CASE_FOLDERS)
_REWRITES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # a parenthesis that cites a source file, a confidence grade or a statistical test: engineer-only
    (
        re.compile(
            r"\s*\((?:[^()]*\.md\b|[^()]*\bconfidence (?:HIGH|MEDIUM|LOW)\b"
            r"|[^()]*\bp\s*[=<]\s*[\d.eE-]+)[^()]*\)"
        ),
        "",
    ),
    (re.compile(rf"\s*\([^()]*\b(?:{_FOLDERS})/[^()]*\)"), ""),  # "(in console/pwr.txt, ...)"
    # a reader's note on the first line or frame it skipped (one level of parentheses inside): engineer-only
    (re.compile(r"\s*\(first(?: problem)?: [^()]*(?:\([^()]*\)[^()]*)*\)"), ""),
    # the engineer's confidence figure: the owner is told the answer is not yet certain, in words
    (
        re.compile(r"\(low confidence, \d{1,3}\s?%: see the evidence gaps\)"),
        "(not yet certain: see what to send next)",
    ),
    (re.compile(r"\(event: [a-z_]+, "), "("),
    (re.compile(rf"\bput (?:it|the file) in (?:{_FOLDERS})/"), "add it to your case"),
    (
        re.compile(rf"\b(?:add|send) it to the case under (?:{_FOLDERS})/"),
        "add it to your case",
    ),
    (re.compile(rf"\b(?:in|under|into) (?:{_FOLDERS})/(?=[\s.,;)]|$)"), "to your case"),
    (re.compile(r"\bcase\.yaml gives no stack\[\]\.(\w+)"), r"the case gives no module \1"),
    (re.compile(r"\bstack\[\d*\]\.(\w+)"), r"module \1"),
    (re.compile(r"\bto case\.yaml\b"), "to your case"),
    (re.compile(r"\bcase\.yaml history\b"), "the case's list of recent changes"),
    (re.compile(r"\bcase\.yaml\b"), "the case details"),
    (re.compile(rf"\b(?:{_FOLDERS})/[\w.-]*"), "one of your files"),
)


_CAUSE_CODE: Final = re.compile(r"\b(?:" + "|".join(c.value for c in CAUSE_LABEL) + r")\b")
_SNAKE_CASE: Final = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def owner_text(text: str) -> str:
    """``text`` as an owner should read it: internal names, source notes and statistics taken out; a
    cause code named in a sentence (``inverter_charge_limits``) said by its label, any other internal
    key (an event kind such as ``cell_over_voltage``) in words."""
    out = text
    for pattern, repl in _REWRITES:
        out = pattern.sub(repl, out)
    out = _CAUSE_CODE.sub(lambda m: CAUSE_LABEL[Cause(m.group(0))].lower(), out)
    out = _SNAKE_CASE.sub(lambda m: m.group(0).replace("_", " "), out)
    return re.sub(r"\s+([.,;])", r"\1", out).strip()


ALARM_LEDS: Final = frozenset({"amber", "amber_flashing", "red", "red_flashing"})
"""LED states an owner reports as a warning (``shared/domain/hardware/panel_dip.md`` §2)."""

LED_WORDS: Final[dict[str, str]] = {
    "amber": "the red ALM light flashing while the module still runs (what people often call amber)",
    "amber_flashing": "the alarm light flashing",
    "red": "the red ALM light on all the time",
    "red_flashing": "the red ALM light flashing with the green RUN light off",
}

VERDICT_ANSWER: Final[dict[str, str]] = {
    "ok": "the diagnosis found nothing wrong with this module in the evidence sent",
    "monitor": "the diagnosis says to keep an eye on this module; no work is needed on it now",
    "rebalance": "the diagnosis says this module needs rebalancing",
    "reconfigure": "the diagnosis says a switch or setting for this module must be changed",
    "isolate": "the diagnosis says to take this module out of the stack",
    "replace": "the diagnosis says this module needs replacing",
    "on_site_check": "the diagnosis says an engineer must check this module on site",
}


@dataclass(frozen=True)
class LedAnswer:
    """One module the owner saw in alarm, and what the diagnosis says about it."""

    position: int
    led: str
    seen: str
    verdict: str
    verdict_label: str
    answer: str
    causes: tuple[str, ...]
    explained: bool
    """``False`` when the diagnosis gives that module no verdict beyond ok and no finding: the alarm is
    then not explained by the evidence, and the owner is told so (never silence)."""
    notes: tuple[str, ...] = ()
    """The diagnosis' findings about this module, in owner words."""


def led_answers(
    stack: Iterable[Mapping[str, Any]],
    modules: Sequence[Mapping[str, Any]],
    findings: Sequence[Mapping[str, Any]],
) -> list[LedAnswer]:
    """For every module the owner reported amber or red (``stack`` = ``case.yaml`` ``stack`` entries), what
    the diagnosis (``modules`` and ``findings`` of a ``pylondiag.diagnosis/1`` document) says about it."""
    verdicts = {m.get("position"): m for m in modules}
    noted = {f.get("module") for f in findings if f.get("module") is not None}
    out = []
    for entry in stack:
        led = entry.get("led")
        position = entry.get("position")
        if led not in ALARM_LEDS or not isinstance(position, int):
            continue
        v = verdicts.get(position) or {}
        verdict = str(v.get("verdict") or "ok")
        explained = verdict != "ok" or position in noted
        answer = VERDICT_ANSWER.get(verdict, verdict.replace("_", " "))
        if not explained:
            answer = (
                "the evidence sent does not explain that alarm light; the diagnosis found nothing wrong with "
                "this module in it. An alarm light is the module's own warning: while it is lit, capture the "
                "module's console readings (see what to send next) so the cause can be found"
            )
        elif verdict == "ok":
            answer = "the diagnosis judges this module OK, with the note below"
        causes = tuple(_cause(c) for c in v.get("causes") or [])
        out.append(
            LedAnswer(
                position=position,
                led=str(led),
                seen=LED_WORDS.get(str(led), LED_LABEL.get(str(led), str(led))),
                verdict=verdict,
                verdict_label=_verdict(verdict),
                answer=answer,
                causes=causes,
                explained=explained,
                notes=tuple(
                    owner_text(str(f.get("message") or ""))
                    for f in findings
                    if f.get("module") == position and f.get("message")
                ),
            )
        )
    return out


def _verdict(code: str) -> str:
    return next((label for v, label in VERDICT_LABEL.items() if v.value == code), code.replace("_", " "))


def _cause(code: str) -> str:
    return next((label for c, label in CAUSE_LABEL.items() if c.value == code), code.replace("_", " "))
