"""The engineer's amend form in the service's own words: which form field a refusal is about, and
validation errors said plainly (never pydantic's text or its links).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

SPEC_FIELDS = {"work": "spec_work", "parts": "spec_parts", "checks_after": "spec_checks"}


class FormFieldError(ValueError):
    """One field of the amend form that cannot be read (``field`` = its form name)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _label(loc: Sequence[Any], positions: Sequence[int]) -> tuple[str | None, str]:
    """(form field, words) for a location in the review or diagnosis document."""
    head = loc[0] if loc else ""
    index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    rest = [str(x) for x in loc[2:] if not isinstance(x, int)]
    if head == "modules" and index is not None:
        pos = positions[index] if index < len(positions) else index + 1
        key = "causes" if "causes" in rest else "verdict"
        return f"mod{index}_{key}", f"Module {pos} {key}"
    if head == "findings" and index is not None:
        part = rest[0] if rest else "message"
        field = part if part in ("severity", "confidence", "message") else "message"
        return f"f{index}_{field}", f"Finding {index + 1} {part.replace('_', ' ')}"
    if head == "actions":
        return "actions", "Actions"
    if head == "on_site_spec":
        part = rest[0] if rest else "work"
        return SPEC_FIELDS.get(part, "spec_work"), f"On-site specification ({part.replace('_', ' ')})"
    if head in ("outcome", "primary_cause", "summary", "note"):
        return str(head), str(head).replace("_", " ").capitalize()
    return None, str(head).replace("_", " ") or "The amendment"


def _words(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "string_too_short":
        return "cannot be empty"
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length')} characters"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        return "must be a number"
    if kind == "less_than_equal":
        return f"must be {ctx.get('le')} or less"
    if kind == "greater_than_equal":
        return f"must be {ctx.get('ge')} or more"
    if kind == "less_than":
        return f"must be less than {ctx.get('lt')}"
    if kind == "greater_than":
        return f"must be more than {ctx.get('gt')}"
    if kind in ("enum", "literal_error"):
        return "is not one of the choices"
    if kind == "extra_forbidden":
        return "is not a field of a review"
    if kind in ("list_type", "dict_type", "model_type", "string_type", "bool_type"):
        return "has the wrong kind of value"
    return "is not valid"


def plain_errors(exc: ValidationError, positions: Sequence[int] = ()) -> list[tuple[str | None, str]]:
    """``(form field, message)`` for each error of ``exc``, in words an engineer reads at a glance."""
    out = []
    for error in exc.errors(include_url=False):
        field, label = _label(error.get("loc") or (), positions)
        out.append((field, f"{label} {_words(dict(error))}"))
    return out


def field_of(message: str, positions: Sequence[int]) -> str | None:
    """The amend-form field a refusal message (``review.ReviewError``) is about, if it names one."""
    if m := re.match(r"findings\[(\d+)\]", message):
        return f"f{m.group(1)}_message"
    if m := re.search(r"module (\d+) has verdict", message):
        pos = int(m.group(1))
        return f"mod{list(positions).index(pos)}_verdict" if pos in positions else "outcome"
    if "primary_cause" in message or "primary cause" in message:
        return "primary_cause"
    if re.search(r"\boutcome\b", message):
        return "outcome"
    if "nothing to change" in message:
        return "note"
    return None
