"""``schema/diagnosis.schema.json`` is up to date with the model, and every document we produce
validates against it (and the validator rejects documents that break it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from pylondiag.diagnosis.schema import SCHEMA_PATH, schema_json
from pylondiag.pipeline import run_case

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"


def test_shipped_schema_is_up_to_date():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_json(), (
        "schema/diagnosis.schema.json is stale: run `python -m pylondiag.diagnosis.schema`"
    )


@pytest.fixture(scope="module")
def schema() -> dict:
    found = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(found)
    return found


def validate(doc: dict, schema: dict) -> list[str]:
    """Problems ``jsonschema`` finds (``$.path: message``); empty when the document is valid."""
    return [f"{e.json_path}: {e.message}" for e in Draft202012Validator(schema).iter_errors(doc)]


@pytest.mark.parametrize("case", sorted(p for p in EXAMPLES.iterdir() if p.is_dir()), ids=lambda p: p.name)
def test_every_example_document_validates(case, schema):
    doc = json.loads(json.dumps(run_case(case).diagnosis.to_json_dict()))
    assert validate(doc, schema) == []


def test_real_capture_documents_validate(captures_dir, schema, check_doc):
    """Each real capture as a single-file case: schema-valid and spec-valid (evidence lines and quotes)."""
    for f in sorted(captures_dir.glob("*.txt")):
        doc = json.loads(json.dumps(run_case(f).diagnosis.to_json_dict()))
        assert validate(doc, schema) == [], f.name
        assert check_doc(f, doc) == [], f.name


@pytest.mark.parametrize(
    ("mutate", "says"),
    [
        (lambda d: d.update(outcome="broken"), "$.outcome: 'broken' is not one of"),
        (lambda d: d.pop("safety"), "'safety' is a required property"),
        (lambda d: d.update(extra=1), "('extra' was unexpected)"),
        (lambda d: d["findings"][0].update(confidence=1.5), "greater than the maximum"),
        (lambda d: d["findings"][0].update(evidence=[]), "$.findings[0].evidence"),
        (lambda d: d["modules"][0].update(position="1"), "is not of type 'integer'"),
    ],
)
def test_validator_rejects_broken_documents(schema, mutate, says):
    doc = json.loads(
        json.dumps(run_case(EXAMPLES / "rebalance-us2000c-cell-imbalance").diagnosis.to_json_dict())
    )
    mutate(doc)
    problems = validate(doc, schema)
    assert problems and any(says in p for p in problems), problems
