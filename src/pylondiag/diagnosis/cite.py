"""Building evidence references (``findings[].evidence``) from provenance and ``case.yaml`` keys."""

from __future__ import annotations

from typing import Final

from pylondiag.model.console import Provenance
from pylondiag.model.diagnosis import EvidenceRef

_MAX_QUOTE_TOKENS = 40


def line(prov: Provenance, quote: str | None = None) -> EvidenceRef:
    """Cite the first line of a record; the quote is the line's own text (whitespace-normalized)."""
    text = quote if quote is not None else " ".join(prov.raw.split()[:_MAX_QUOTE_TOKENS])
    return EvidenceRef(source=prov.source, line=prov.line, quote=text or None)


def at(source: str, line_no: int, raw: str) -> EvidenceRef:
    return EvidenceRef(source=source, line=line_no, quote=" ".join(raw.split()[:_MAX_QUOTE_TOKENS]) or None)


def key(path: str) -> EvidenceRef:
    """Cite an observation in ``case.yaml``, e.g. ``stack[2].led``."""
    return EvidenceRef(source="case.yaml", key=path)


def stack_key(index: int | None, field: str) -> EvidenceRef | None:
    return None if index is None else key(f"stack[{index}].{field}")


STACK_WIDE_CITATIONS: Final = 16
"""Lines a stack-wide finding cites at most: one per module of a full group (16 addresses per master,
``shared/domain/hardware/panel_dip.md`` §3), so the finding names every module it speaks for."""


def distinct_lines(provs: list[Provenance], limit: int = STACK_WIDE_CITATIONS) -> list[EvidenceRef]:
    """Cite each (source, line) once, in order, at most ``limit`` of them."""
    seen: set[tuple[str, int]] = set()
    out: list[EvidenceRef] = []
    for p in provs:
        if (p.source, p.line) in seen:
            continue
        seen.add((p.source, p.line))
        out.append(line(p))
        if len(out) >= limit:
            break
    return out
