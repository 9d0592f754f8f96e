"""The shipped JSON Schema of the diagnosis document, and a small validator for it.

``schema/diagnosis.schema.json`` is generated from :meth:`Diagnosis.json_schema` (regenerate with
``python -m pylondiag.diagnosis.schema``; a test fails when it is out of date). :func:`validate`
checks a document against the subset of JSON Schema that pydantic emits (``type``, ``properties``,
``required``, ``additionalProperties``, ``enum``, ``const``, ``$ref``/``$defs``, ``anyOf``, ``items``,
``minimum``/``maximum``, ``minLength``/``minItems``) — enough to validate our own documents without a
new dependency.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Final

from pylondiag.model.diagnosis import Diagnosis

SCHEMA_PATH: Final = Path(__file__).resolve().parents[3] / "schema" / "diagnosis.schema.json"


def schema_json() -> str:
    """The schema as written to ``schema/diagnosis.schema.json``."""
    schema = Diagnosis.json_schema()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "pylondiag.diagnosis/1",
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def validate(doc: Any, schema: dict[str, Any]) -> list[str]:
    """Problems found (``path: what``); empty when ``doc`` matches ``schema``."""
    defs = schema.get("$defs", {})
    out: list[str] = []
    _check(doc, schema, defs, "$", out)
    return out


def _check(v: Any, s: dict[str, Any], defs: dict[str, Any], path: str, out: list[str]) -> None:
    if "$ref" in s:
        name = s["$ref"].rsplit("/", 1)[-1]
        _check(v, defs[name], defs, path, out)
        return
    if "anyOf" in s:
        for alt in s["anyOf"]:
            sub: list[str] = []
            _check(v, alt, defs, path, sub)
            if not sub:
                break
        else:
            out.append(f"{path}: matches none of the allowed shapes")
        return
    t = s.get("type")
    if t is not None:
        types = t if isinstance(t, list) else [t]
        ok = any(
            isinstance(v, _TYPES[x]) and not (x in ("integer", "number") and isinstance(v, bool))
            for x in types
        )
        if not ok:
            out.append(f"{path}: expected {t}, got {type(v).__name__}")
            return
    if "enum" in s and v not in s["enum"]:
        out.append(f"{path}: {v!r} not in {s['enum']}")
    if "const" in s and v != s["const"]:
        out.append(f"{path}: must be {s['const']!r}")
    if isinstance(v, int | float) and not isinstance(v, bool):
        if "minimum" in s and v < s["minimum"]:
            out.append(f"{path}: {v} < minimum {s['minimum']}")
        if "maximum" in s and v > s["maximum"]:
            out.append(f"{path}: {v} > maximum {s['maximum']}")
    if isinstance(v, str) and len(v) < s.get("minLength", 0):
        out.append(f"{path}: shorter than {s['minLength']}")
    if isinstance(v, list):
        if len(v) < s.get("minItems", 0):
            out.append(f"{path}: fewer than {s['minItems']} items")
        if "items" in s:
            for i, item in enumerate(v):
                _check(item, s["items"], defs, f"{path}[{i}]", out)
    if isinstance(v, dict):
        props = s.get("properties", {})
        for req in s.get("required", []):
            if req not in v:
                out.append(f"{path}: missing required {req!r}")
        for k, item in v.items():
            if k in props:
                _check(item, props[k], defs, f"{path}.{k}", out)
            elif s.get("additionalProperties") is False:
                out.append(f"{path}: unexpected key {k!r}")


def main() -> int:
    SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_PATH.write_text(schema_json(), encoding="utf-8")
    sys.stdout.write(f"wrote {SCHEMA_PATH}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
