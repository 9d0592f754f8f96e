"""The CLI's case.yaml reader refuses alias expansion, deep nesting and huge values before building any
structure (issue 15 item 3): a clear CaseError with line and key, never a segfault, RecursionError or a
bare ValueError (exit 2 from the CLI, not 70)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pylondiag.casedir.caseyaml import parse_case_yaml
from pylondiag.cli import app
from pylondiag.errors import CaseError

HEAD = "schema: pylondiag.case/1\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEAD + "a: &a [1, 2]\nb: *a\n", "anchors and aliases"),
        (HEAD + "notes: " + "[" * 50_000 + "]" * 50_000 + "\n", "nested more than"),
        (HEAD + "stack:\n  - position: " + "9" * 5000 + "\n", "stack[0].position: a number of 5000 digits"),
        (HEAD + "notes: '" + "x" * 30_000 + "'\n", "a value of 30000 characters"),
    ],
)
def test_refused_from_the_event_stream(text: str, expected: str) -> None:
    with pytest.raises(CaseError) as err:
        parse_case_yaml(text.encode())
    assert expected in str(err.value) and err.value.line is not None


def test_the_cli_exits_2_with_the_message(tmp_path: Path) -> None:
    (tmp_path / "case.yaml").write_text(HEAD + "notes: " + "[" * 50_000 + "]" * 50_000 + "\n")
    result = CliRunner().invoke(app, ["diagnose", str(tmp_path), "--format", "json"])
    assert result.exit_code == 2, result.output
    assert "nested more than" in result.output


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-20-31", "month must be in 1..12"),
        ("2026-02-30", "day is out of range"),
        ("2026-01-01 10:00:00 +99:00", "offset must be"),
    ],
)
def test_a_date_that_does_not_exist_is_a_clear_error(value: str, reason: str) -> None:
    """YAML reads ``2026-20-31`` as a timestamp and PyYAML raised a bare ValueError (exit 70 from the CLI,
    500 from the service); found by the bounded fuzz run (tests/fuzz/crashes/case_yaml)."""
    text = HEAD + "history:\n  - date: " + value + "\n    event: inverter_replaced\n"
    with pytest.raises(CaseError) as err:
        parse_case_yaml(text.encode())
    assert err.value.line == 3 and "does not exist" in str(err.value) and reason in str(err.value)


def test_the_service_refuses_an_impossible_date_with_the_line() -> None:
    from pylondiag.service.cases import parse_case_yaml as service_case_yaml
    from pylondiag.service.uploads import UploadRefused

    with pytest.raises(UploadRefused) as err:
        service_case_yaml((HEAD + "observed_at: 2026-13-01\n").encode())
    assert err.value.status == 422 and "line 2" in str(err.value)
