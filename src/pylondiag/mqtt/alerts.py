"""When to raise an alert: one per change of outcome or new culprit, not one per poll (pure).

A monitor diagnoses the stack on every poll. A value that flaps around a rule's threshold (a cell
spread of 49, 51, 49, 51 mV around 50 mV) would turn the outcome over on every poll; the gate below
keeps that from becoming an alert storm in three ways:

* **confirmation (hysteresis)** — a new outcome/culprit set must be seen on ``confirm`` consecutive
  polls before it replaces the confirmed one (default 2: one odd poll changes nothing);
* **one alert per change** — an alert is raised only when the confirmed situation changes: a different
  outcome, or a culprit module that was not a culprit before; the same situation never alerts twice;
* **rate limit** — at most one alert per ``min_interval_s`` (default 1 h); a change confirmed inside
  that window is held back and sent, as the latest situation, once the window has passed (if it still
  differs from what was last alerted).

The first confirmed situation alerts only if it is actionable (the owner must do something).
Times are seconds from any monotonic clock, passed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pylondiag.model.diagnosis import Diagnosis, Outcome
from pylondiag.mqtt.discovery import ACTIONABLE, culprits_text, finding_lines
from pylondiag.report.words import OUTCOME_HEADLINE, OUTCOME_MEANING


@dataclass(frozen=True)
class Situation:
    outcome: Outcome
    culprits: frozenset[int]

    @classmethod
    def of(cls, diagnosis: Diagnosis) -> Situation:
        return cls(diagnosis.outcome, frozenset(diagnosis.culprit_modules))


@dataclass(frozen=True)
class Alert:
    title: str
    body: str
    outcome: Outcome
    culprits: tuple[int, ...]
    previous: Outcome | None


@dataclass
class AlertGate:
    confirm: int = 2
    min_interval_s: float = 3600.0
    _confirmed: Situation | None = None
    _candidate: Situation | None = None
    _seen: int = 0
    _alerted: Situation | None = None
    _last_alert_at: float | None = None
    _pending: Diagnosis | None = field(default=None, repr=False)

    def observe(self, diagnosis: Diagnosis, now: float) -> Alert | None:
        """Feed one poll's diagnosis; the alert to send now, if any."""
        situation = Situation.of(diagnosis)
        if situation == self._candidate:
            self._seen += 1
        else:
            self._candidate, self._seen = situation, 1
        if self._seen >= self.confirm:
            if situation != self._confirmed:
                self._confirmed = situation
                # a change back to what was last alerted cancels an alert still held by the rate limit
                self._pending = diagnosis if self._worth_alerting(situation) else None
            elif self._pending is not None:
                self._pending = diagnosis  # same confirmed situation: keep the freshest wording
        return self._release(now)

    def _worth_alerting(self, situation: Situation) -> bool:
        before = self._alerted
        if before is None:
            return situation.outcome in ACTIONABLE
        if situation.outcome != before.outcome:
            return True
        return bool(situation.culprits - before.culprits)

    def _release(self, now: float) -> Alert | None:
        if self._pending is None:
            return None
        if self._last_alert_at is not None and now - self._last_alert_at < self.min_interval_s:
            return None
        diagnosis, self._pending = self._pending, None
        situation = Situation.of(diagnosis)
        if self._alerted is not None and not self._differs(situation):
            return None
        previous = self._alerted.outcome if self._alerted else None
        self._alerted, self._last_alert_at = situation, now
        return _alert(diagnosis, previous)

    def _differs(self, situation: Situation) -> bool:
        assert self._alerted is not None
        return situation.outcome != self._alerted.outcome or bool(situation.culprits - self._alerted.culprits)


def _alert(diagnosis: Diagnosis, previous: Outcome | None) -> Alert:
    headline = OUTCOME_HEADLINE[diagnosis.outcome]
    culprits = culprits_text(diagnosis)
    title = f"Battery: {headline}" + (f" (module {culprits})" if diagnosis.culprit_modules else "")
    lines = [OUTCOME_MEANING[diagnosis.outcome], diagnosis.summary, *finding_lines(diagnosis)[:5]]
    if previous is not None:
        lines.append(f"Before: {OUTCOME_HEADLINE[previous]}.")
    return Alert(
        title=title,
        body="\n".join(lines),
        outcome=diagnosis.outcome,
        culprits=tuple(diagnosis.culprit_modules),
        previous=previous,
    )
