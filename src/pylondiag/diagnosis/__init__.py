"""The diagnosis engine: pure rules over a :class:`~pylondiag.model.stack.CaseView`.

Entry point: :func:`diagnose` (``CaseView -> Diagnosis``, no I/O).

Rule-family protocol
--------------------
A rule family is one module ``pylondiag/diagnosis/<family>.py`` exposing::

    def findings(view: CaseView) -> list[Finding]: ...

- Pure: reads only ``view`` (no files, no clock, no globals that change).
- Every :class:`~pylondiag.model.diagnosis.Finding` cites evidence: console lines via
  :func:`pylondiag.diagnosis.cite.line` (``Provenance`` → ``{"source","line","quote"}``), or
  ``case.yaml`` keys via :func:`pylondiag.diagnosis.cite.key` (``stack[2].led``).
- ``module`` is a **position** (``view.position_of(address)`` maps a BMS address), or ``None`` for
  stack/inverter-level findings.
- ``severity`` says what the finding means for the verdict: ``fault`` = the cause applies now and
  drives the verdict of the spec's cause→action table; ``warning`` = worth re-checking (module
  verdict ``monitor``, outcome ``monitor``); ``info`` = context only (no verdict).
- Thresholds are named constants in :mod:`pylondiag.diagnosis.thresholds` (unit + source); each rule's
  docstring cites the fact and its source in ``shared/domain``. ``confidence`` is a level of the one
  scale in :mod:`pylondiag.diagnosis.confidence`, never a literal.
- Domain tables both the readers and the rules use (inverter codes) live in :mod:`pylondiag.domain`.
- Low confidence (a reading outside its validity envelope, a single reading) lowers ``confidence``
  and the severity (``warning``), it never invents a fault.

The engine (:mod:`pylondiag.diagnosis.engine`) runs the families of the static tuple
:data:`~pylondiag.diagnosis.engine.RULE_FAMILIES` (imported plainly: a missing one is an import
error), collects their findings, merges those with the same ``(code, module)`` into one
(:func:`~pylondiag.diagnosis.engine.merge`: the strongest's message and severity, the union of the
evidence — two families may reach one cause by different evidence), derives module verdicts, the
stack outcome (the spec's precedence), ``primary_cause``, ``culprit_modules``, summary, actions,
``on_site_spec``, ``evidence_gaps`` and ``safety``. The cause→action table both the engine and the
action planner read is :mod:`pylondiag.diagnosis.cause_table`. To add a family: write the module and
add one ``(name, module.findings)`` line to ``RULE_FAMILIES``.
"""

from __future__ import annotations

from pylondiag.diagnosis.engine import RULE_FAMILIES, collect_findings, diagnose

__all__ = ["RULE_FAMILIES", "collect_findings", "diagnose"]
