"""``schema/diagnosis.schema.json`` is up to date with the model, and every document we produce
validates against it (and the validator rejects documents that break it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pylondiag.diagnosis.schema import SCHEMA_PATH, schema_json, validate
from pylondiag.pipeline import run_case

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"


def test_shipped_schema_is_up_to_date():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_json(), (
        "schema/diagnosis.schema.json is stale: run `python -m pylondiag.diagnosis.schema`"
    )


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


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
        (lambda d: d.update(outcome="broken"), "outcome"),
        (lambda d: d.pop("safety"), "safety"),
        (lambda d: d.update(extra=1), "unexpected key"),
        (lambda d: d["findings"][0].update(confidence=1.5), "maximum"),
        (lambda d: d["findings"][0].update(evidence=[]), "fewer than"),
        (lambda d: d["modules"][0].update(position="1"), "expected"),
    ],
)
def test_validator_rejects_broken_documents(schema, mutate, says):
    doc = json.loads(
        json.dumps(run_case(EXAMPLES / "rebalance-us2000c-cell-imbalance").diagnosis.to_json_dict())
    )
    mutate(doc)
    problems = validate(doc, schema)
    assert problems and any(says in p for p in problems), problems
