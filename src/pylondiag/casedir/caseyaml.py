"""Reading ``case.yaml`` strictly, and turning every problem into one clear paragraph.

The message names the file, the line (from the YAML node positions), the key path
(``stack[2].led``) and what to fix. Raises :class:`~pylondiag.errors.CaseError`.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from enum import Enum
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pylondiag.errors import CaseError
from pylondiag.model.case import CASE_SCHEMA, CaseFile

MAX_CASE_YAML_BYTES = 1_000_000
MAX_YAML_DEPTH = 16
"""Nested mappings/lists allowed in ``case.yaml`` (the format needs 3: ``stack[].key``)."""
MAX_YAML_NODES = 50_000
"""Scalars, mappings and lists in one ``case.yaml`` (a 16-module case has about 200)."""


class _ImpossibleValue(Exception):
    """A scalar YAML resolves to a date or time that does not exist (``2026-20-31``, offset +99:00)."""

    def __init__(self, value: str, line: int, reason: str) -> None:
        super().__init__(value)
        self.value, self.line, self.reason = value, line, reason


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    """PyYAML's timestamp, or :class:`_ImpossibleValue` where it raised a bare ``ValueError``."""
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError) as exc:
        raise _ImpossibleValue(str(node.value)[:40], node.start_mark.line + 1, str(exc)) from None


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader when PyYAML was built with it (much faster), else the pure-Python one;
    an impossible date is a clear error, not a bare ValueError."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
_LOADER: type[yaml.SafeLoader] = _Loader


def key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _descend(root: yaml.Node, loc: tuple[int | str, ...]) -> Iterator[tuple[yaml.Node, int]]:
    """The YAML nodes along ``loc`` with their 1-based lines (a mapping entry's line is its key's);
    stops where the path leaves the document."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            hit = next(
                ((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)),
                None,
            )
            if hit is None:
                return
            node, line = hit[1], hit[0].start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return
        yield node, line


def _node_line(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or of the deepest parent found)."""
    if root is None:
        return None
    path = list(_descend(root, loc))
    return path[-1][1] if path else root.start_mark.line + 1


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the mapping at ``loc`` (for listing allowed keys)."""
    model: type[BaseModel] = CaseFile
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            field = next((f for f in model.model_fields.values() if f.alias == part), None)
        if field is None:
            return None
        sub = _inner_model(field.annotation)
        if sub is None:
            return None
        model = sub
    return model


def _inner_model(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    origin = typing.get_origin(ann)
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(ann):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def _field_enum(loc: tuple[int | str, ...]) -> list[str] | None:
    parent = _model_at(loc[:-1]) if loc else None
    if parent is None or not isinstance(loc[-1], str):
        return None
    field = parent.model_fields.get(loc[-1])
    if field is None:
        return None
    for arg in (field.annotation, *typing.get_args(field.annotation)):
        if isinstance(arg, type) and issubclass(arg, Enum):
            return [str(e.value) for e in arg]
    return None


def _explain(err: Any, source: str, root: yaml.Node | None) -> str:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    path = key_path(loc) or "(top level)"
    line = _node_line(root, loc)
    where = f"{source}, line {line}" if line else source
    kind = err["type"]
    got = err.get("input")
    if kind == "extra_forbidden":
        owner = _model_at(loc[:-1])
        allowed = ", ".join(f.alias or n for n, f in owner.model_fields.items()) if owner else ""
        fix = f"remove it or correct the spelling (allowed here: {allowed})" if allowed else "remove it"
        return f"{where}, key {path}: unknown key. Fix: {fix}."
    if kind == "missing":
        if path == "schema":
            return (
                f"{where}: the required key 'schema' is missing. "
                f"Fix: add 'schema: {CASE_SCHEMA}' as the first line."
            )
        return f"{where}, key {path}: required but missing. Fix: add it."
    if kind == "literal_error" and path == "schema":
        return f"{where}, key schema: is {got!r}, expected '{CASE_SCHEMA}'. Fix: set 'schema: {CASE_SCHEMA}'."
    if kind == "enum":
        allowed_words = _field_enum(loc)
        expected = (err.get("ctx") or {}).get("expected")
        if allowed_words:
            fix = f"use one of: {', '.join(allowed_words)}"
        elif expected:
            fix = f"use one of: {str(expected).replace(chr(39), '')}"
        else:
            fix = "use one of the spec's words"
        return f"{where}, key {path}: {got!r} is not an allowed value. Fix: {fix}."
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    shown = f" (got {_short(got)})" if got is not None and not isinstance(got, dict | list) else ""
    return f"{where}, key {path}: {msg}{shown}. Fix: correct this value as the case format describes."


def _short(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters (a 5000-character value is not repeated back whole)."""
    if isinstance(value, int) and value.bit_length() > 4 * limit:
        return f"<a number of about {value.bit_length() * 3 // 10} digits>"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _restore_unquoted_dips(text: str, raw: Any) -> None:
    """Give back the switches of an unquoted ``dip: 0010`` exactly as written.

    YAML 1.1 reads ``0010`` as the octal number 8 and ``1000`` as a thousand: the digits are lost
    in the value but not in the document. Where a ``stack[].dip`` came out as a number, its scalar's
    own text is taken when it is four 0/1 switches; anything else stays a number and is refused
    with a message by the model.
    """
    stack = raw.get("stack") if isinstance(raw, dict) else None
    if not isinstance(stack, list):
        return
    numeric = [
        i
        for i, m in enumerate(stack)
        if isinstance(m, dict) and isinstance(m.get("dip"), int) and not isinstance(m.get("dip"), bool)
    ]
    if not numeric:
        return
    root = yaml.compose(text, Loader=_LOADER)
    for i in numeric:
        node = _node_at(root, ("stack", i, "dip"))
        if isinstance(node, yaml.ScalarNode) and not node.style and _DIP_TEXT.fullmatch(node.value):
            stack[i]["dip"] = node.value


def _node_at(root: yaml.Node | None, loc: tuple[int | str, ...]) -> yaml.Node | None:
    """The YAML node at ``loc``, or None when the path is not in the document."""
    path = list(_descend(root, loc)) if root is not None else []
    return path[-1][0] if loc and len(path) == len(loc) else None


_DIP_TEXT = re.compile(r"[01]{4}")


MAX_SCALAR_CHARS = 20_000
"""The longest single value (``notes``); anything longer is not a description of a battery stack."""
MAX_NUMBER_DIGITS = 30
"""An unquoted number with more digits than this is refused (Python will not even convert 4300)."""
_PLAIN_NUMBER = re.compile(r"[-+]?[0-9][0-9_]*+(?:\.[0-9_]*+)?(?:[eE][-+]?[0-9]++)?")


class _Path:
    """The key path (``stack[2].dip``) of the node each YAML event belongs to, kept from events alone."""

    def __init__(self) -> None:
        self.frames: list[list[Any]] = []  # [kind "map"/"seq", key or index, expecting a key]

    def node(self) -> tuple[str, bool]:
        """The path of the node starting now, and whether it is a mapping key; advances the parent."""
        if not self.frames:
            return "", False
        frame = self.frames[-1]
        if frame[0] == "seq":
            frame[1] += 1
            return self.text(), False
        is_key = frame[2]
        frame[2] = not is_key
        return self.text(), is_key

    def named(self, key: str) -> None:
        self.frames[-1][1] = key

    def text(self) -> str:
        return key_path(tuple(f[1] for f in self.frames if f[1] is not None and f[1] != -1))

    def push(self, kind: str) -> None:
        self.frames.append([kind, -1 if kind == "seq" else None, True])

    def pop(self) -> None:
        if self.frames:
            self.frames.pop()


def check_yaml_shape(text: str, source: str = "case.yaml") -> None:
    """Refuse anchors/aliases, cap nesting, node count and value sizes, from the event stream alone.

    Runs before any YAML structure is built: an alias ("billion laughs") would be expanded by the
    constructor, a deeply nested document overflows the recursive composer (a segfault in libyaml's
    binding, ``RecursionError`` in the pure-Python one), and a number of thousands of digits makes the
    constructor raise a bare ``ValueError``. The parser's events come one at a time, so a bad document is
    refused at the first offending event. Raises :class:`CaseError` naming the line and the key.
    """
    depth = nodes = 0
    path = _Path()

    def refuse(event: yaml.Event, at: str, message: str) -> CaseError:
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        return CaseError(message, source=source, line=line, key=at or None)

    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
                path.pop()
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            at, is_key = path.node()
            nodes += 1
            if isinstance(event, yaml.AliasEvent) or event.anchor is not None:
                raise refuse(
                    event,
                    at,
                    "YAML anchors and aliases (&name, *name) are not accepted in case.yaml. "
                    "Fix: write each value out in full.",
                )
            if nodes > MAX_YAML_NODES:
                raise refuse(
                    event,
                    at,
                    f"more than {MAX_YAML_NODES} values; a case.yaml is a short description. "
                    "Fix: remove what does not belong in it.",
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise refuse(
                        event,
                        at,
                        f"nested more than {MAX_YAML_DEPTH} levels deep; case.yaml needs at most 3. "
                        "Fix: flatten it as the case format describes.",
                    )
                path.push("map" if isinstance(event, yaml.MappingStartEvent) else "seq")
            elif isinstance(event, yaml.ScalarEvent):
                _check_scalar(event, at, refuse)
                if is_key:
                    path.named(event.value[:40])
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "YAML syntax error"
        raise CaseError(
            f"YAML syntax error: {problem}. Fix: check indentation and quoting on that line "
            "(strings with ':' or '#' need quotes).",
            source=source,
            line=mark.line + 1 if mark is not None else None,
        ) from None
    except yaml.YAMLError as exc:
        raise CaseError(f"cannot be read as YAML: {exc}", source=source) from None


def _check_scalar(event: yaml.ScalarEvent, at: str, refuse: Any) -> None:
    value = event.value
    if len(value) > MAX_SCALAR_CHARS:
        raise refuse(
            event,
            at,
            f"a value of {len(value)} characters (at most {MAX_SCALAR_CHARS}). Fix: shorten it.",
        )
    if not event.style and len(value) > MAX_NUMBER_DIGITS and _PLAIN_NUMBER.fullmatch(value):
        raise refuse(
            event,
            at,
            f"a number of {len(value)} digits is not a value of a case (at most {MAX_NUMBER_DIGITS}). "
            "Fix: correct it, or quote it if it is text.",
        )


def load_yaml_text(text: str, source: str = "case.yaml") -> Any:
    """``text`` loaded as safe YAML after :func:`check_yaml_shape`; :class:`CaseError` when it cannot be."""
    check_yaml_shape(text, source)
    try:
        return yaml.load(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "YAML syntax error"
        raise CaseError(
            f"YAML syntax error: {problem}. Fix: check indentation and quoting on that line "
            "(strings with ':' or '#' need quotes).",
            source=source,
            line=line,
        ) from None
    except yaml.YAMLError as exc:
        raise CaseError(f"cannot be read as YAML: {exc}", source=source) from None
    except _ImpossibleValue as exc:
        raise CaseError(
            f"{exc.value!r} reads as a date or time that does not exist ({exc.reason}). Fix: write a real "
            "date as YYYY-MM-DD (or quote the value if it is not a date).",
            source=source,
            line=exc.line,
        ) from None


def parse_case_yaml(data: bytes, source: str = "case.yaml") -> CaseFile:
    """Validate ``case.yaml`` bytes. Raises :class:`CaseError` with one paragraph saying what to fix."""
    if len(data) > MAX_CASE_YAML_BYTES:
        raise CaseError(
            f"file is larger than {MAX_CASE_YAML_BYTES} bytes; a case.yaml is a short text file",
            source=source,
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaseError(
            f"not UTF-8 text (byte {exc.start} cannot be decoded). Fix: save the file as UTF-8.",
            source=source,
        ) from None
    raw = load_yaml_text(text, source)
    if raw is None:
        raise CaseError(
            f"file is empty. Fix: it needs at least the line 'schema: {CASE_SCHEMA}'.", source=source
        )
    _restore_unquoted_dips(text, raw)
    if not isinstance(raw, dict):
        raise CaseError(
            "the top level must be a mapping of keys (schema, case_id, stack, ...), "
            f"not a {type(raw).__name__}. "
            f"Fix: start the file with 'schema: {CASE_SCHEMA}'.",
            source=source,
            line=1,
        )
    try:
        return CaseFile.model_validate(raw)
    except ValidationError as exc:
        root = yaml.compose(text, Loader=_LOADER)  # node positions, only needed to explain an error
        errors = exc.errors()
        parts = [_explain(e, source, root) for e in errors[:3]]
        more = f" ({len(errors) - 3} more problems after fixing these.)" if len(errors) > 3 else ""
        first = errors[0]
        loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        err = CaseError(" ".join(parts) + more, source=None)
        err.source = source
        err.line = _node_line(root, loc)
        err.key = key_path(loc)
        raise err from None
