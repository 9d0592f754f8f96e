"""The shipped JSON Schema of the diagnosis document, and a small validator for it.

``schema/diagnosis.schema.json`` is generated from :meth:`Diagnosis.json_schema` (regenerate with
``python -m pylondiag.diagnosis.schema``; a test fails when it is out of date). Documents are checked
against it with the ``jsonschema`` library (the tests; any JSON Schema 2020-12 validator will do for a
user): no validator of our own.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Final

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


def main() -> int:
    SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_PATH.write_text(schema_json(), encoding="utf-8")
    sys.stdout.write(f"wrote {SCHEMA_PATH}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
