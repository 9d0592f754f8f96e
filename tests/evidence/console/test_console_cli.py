"""``pylondiag parse``: JSON document (JSON Lines for several files), text summary, clean errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pylondiag.cli import app

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "console"
runner = CliRunner()


def test_json_document_with_records_provenance_and_warnings(tmp_path: Path) -> None:
    garbled = tmp_path / "garbled.txt"
    garbled.write_bytes(b"pylon>bat\n@\nBattery  Volt  BAL\n0  3300  Y\n1  33x0  N\n$$\npylon>")
    result = runner.invoke(
        app, ["parse", "--format", "json", str(FIXTURES / "stat_N_histograms_newfw.txt"), str(garbled)]
    )
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in result.stdout.splitlines()]  # several files: JSON Lines
    assert [d["schema"] for d in docs] == ["pylondiag.console-parse/1"] * 2
    assert [d["errors"] for d in docs] == [[], []]
    (stat,), (bat,) = (d["files"] for d in docs)
    (rec,) = stat["records"]
    assert rec["kind"] == "stat" and rec["counters"]["CYCLE Times"] == 211
    source = str(FIXTURES / "stat_N_histograms_newfw.txt")
    assert rec["provenance"] == {"source": source, "line": 2, "end_line": 56, "raw": "pylon>stat 2"}
    assert [c["voltage_mv"] for c in bat["records"][0]["cells"]] == [3300]
    (w,) = bat["warnings"]
    assert (w["line"], w["raw"]) == (5, "1  33x0  N")


def test_text_summary() -> None:
    result = runner.invoke(app, ["parse", str(FIXTURES / "pwr_newfw_id_mos_sysalarm.txt")])
    assert result.exit_code == 0, result.output
    assert "3 module(s) present" in result.stdout
    assert "51.204" in result.stdout and "High" in result.stdout


def test_missing_and_non_console_files_exit_2_without_traceback(tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)))
    missing = tmp_path / "nope.txt"
    result = runner.invoke(app, ["parse", str(photo), str(missing)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "photo.jpg" in result.stderr and "no console command answer" in result.stderr
    assert "nope.txt" in result.stderr and "cannot read" in result.stderr


def test_bad_format_option() -> None:
    result = runner.invoke(app, ["parse", "--format", "xml", str(FIXTURES / "log_paged.txt")])
    assert result.exit_code == 2 and "--format" in result.stderr
