"""The command line's habits (issue 16 item 4): format from ``--output``, ``-`` and batches, ``--force``,
one-line errors with distinct exit codes, verbosity, completion, progress only on a terminal."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner

from pylondiag import cli_output
from pylondiag.cli import EXIT_CODES, app
from shared_paths import REPO

CASES = REPO / "examples" / "cases"
HEALTHY = CASES / "healthy-us3000c-stack"
NO_MASTER = CASES / "reconfigure-no-master"
CONSOLE = REPO / "tests" / "fixtures" / "console" / "pwr_newfw_id_mos_sysalarm.txt"
runner = CliRunner()


def cli(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """``python -m pylondiag ARGS`` with stdout and stderr as pipes (not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "pylondiag", *map(str, args)],
        capture_output=True,
        input=stdin,
        timeout=120,
        env={**os.environ, "COLUMNS": "80"},
    )


def test_format_follows_the_output_extension(tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    r = runner.invoke(app, ["diagnose", str(HEALTHY), "--output", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text(encoding="utf-8"))["schema"] == "pylondiag.diagnosis/1"
    txt = tmp_path / "d.txt"
    assert runner.invoke(app, ["diagnose", str(HEALTHY), "--output", str(txt)]).exit_code == 0
    assert not txt.read_text(encoding="utf-8").lstrip().startswith("{")
    # --format wins over the extension; an extension naming no format is a usage error
    r = runner.invoke(app, ["diagnose", str(HEALTHY), "--format", "json", "--output", str(txt)])
    assert r.exit_code == 0
    assert json.loads(txt.read_text(encoding="utf-8"))["outcome"] == "no_fault"
    r = runner.invoke(app, ["diagnose", str(HEALTHY), "--output", str(tmp_path / "d.docx")])
    assert r.exit_code == 2 and "cannot tell the format from 'd.docx'" in r.stderr
    html = tmp_path / "r.html"
    r = runner.invoke(app, ["report", str(out), "--output", str(html)])
    assert r.exit_code == 0, r.output
    assert html.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def test_choose_format_table() -> None:
    allowed = ("text", "json", "html", "pdf")
    assert cli_output.choose_format(None, None, "text", allowed) == "text"
    assert cli_output.choose_format(None, Path("a/B.PDF"), "text", allowed) == "pdf"
    assert cli_output.choose_format(None, Path("x.jsonl"), "text", allowed) == "json"
    assert cli_output.choose_format("HTML", Path("x.json"), "text", allowed) == "html"
    with pytest.raises(cli_output.UsageError, match="not one of"):
        cli_output.choose_format("xml", None, "text", allowed)
    with pytest.raises(cli_output.UsageError, match="cannot tell"):
        cli_output.choose_format(None, Path("r.txt"), "html", ("html", "pdf"))


def test_diagnose_batch_is_json_lines_and_a_bad_path_is_exit_2(tmp_path: Path, validator: Path) -> None:
    missing = tmp_path / "no-such-case"
    r = cli("diagnose", HEALTHY, missing, NO_MASTER)
    assert r.returncode == 2
    lines = r.stdout.decode().splitlines()
    assert len(lines) == 2
    docs = [json.loads(line) for line in lines]
    assert [d["case_id"] for d in docs] == ["ex-healthy", "ex-no-master"]
    for case, line in zip((HEALTHY, NO_MASTER), lines, strict=True):
        v = subprocess.run([sys.executable, validator, case, "-"], input=line, capture_output=True, text=True)
        assert v.returncode == 0, v.stdout
    err = r.stderr.decode()
    assert err.count("\n") == 1 and str(missing) in err and "Traceback" not in err
    r = runner.invoke(app, ["diagnose", str(HEALTHY), str(NO_MASTER), "--format", "pdf"])
    assert r.exit_code == 2 and "JSON Lines or text" in r.stderr


def test_stdin_dash_for_diagnose_and_parse(validator: Path, tmp_path: Path) -> None:
    session = (HEALTHY / "console" / "session.txt").read_bytes()
    r = cli("diagnose", "-", "--format", "json", stdin=session)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["outcome"] == "no_fault"
    saved = tmp_path / "session.txt"
    saved.write_bytes(session)
    v = subprocess.run([sys.executable, validator, saved, "-"], input=r.stdout, capture_output=True)
    assert v.returncode == 0, v.stdout
    assert cli("diagnose", "-", stdin=b"").returncode == 2
    r = cli("parse", "--format", "json", "-", CONSOLE, stdin=session)
    assert r.returncode == 0, r.stderr
    first, second = (json.loads(line) for line in r.stdout.decode().splitlines())
    assert first["schema"] == second["schema"] == "pylondiag.console-parse/1"
    assert first["files"][0]["source"] == "<stdin>" and second["files"][0]["source"] == str(CONSOLE)


def test_sim_case_refuses_a_non_empty_directory_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "case"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    r = runner.invoke(app, ["sim", "case", "healthy", "--seed", "1", "--out", str(out)])
    assert r.exit_code == 2 and "is not empty" in r.stderr and "--force" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    r = runner.invoke(app, ["sim", "case", "healthy", "--seed", "1", "--out", str(out), "--force"])
    assert r.exit_code == 0, r.output
    assert (out / "case.yaml").is_file() and (out / "notes.txt").is_file()


def test_messages_do_not_wrap_long_paths_when_piped(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 70) / ("e" * 70) / "capture.txt"
    for args in (["parse", deep], ["diagnose", deep], ["diagnose", "--bogus", deep]):
        r = cli(*args)
        assert r.returncode == 2
        err = r.stderr.decode()
        assert "Traceback" not in err and "╭" not in err
        if args[1] != "--bogus":
            assert str(deep) in err, err  # the whole path on one line


def _listening() -> tuple[socket.socket, int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s, int(s.getsockname()[1])


def test_busy_port_and_unreachable_database_are_one_line_with_their_own_exit_code(tmp_path: Path) -> None:
    holder, port = _listening()
    with holder:
        r = cli("serve", "--port", port, "--data-dir", tmp_path)
        assert r.returncode == cli_output.EXIT_ADDRESS_IN_USE == 4
        assert r.stderr.decode().count("\n") == 1 and "already in use" in r.stderr.decode()
        r = cli("sim", "serve", "--tcp", f"127.0.0.1:{port}")
        assert r.returncode == 4 and "already in use" in r.stderr.decode()
    closed, dead_port = _listening()
    closed.close()  # nothing listens there now
    url = f"postgresql+psycopg://someone:s3cret@127.0.0.1:{dead_port}/nothing"
    admin = ["admin", "create-user", "a@b.example", "--password", "long enough secret"]
    for args in (["serve", "--port", str(_free_port())], admin):
        r = cli(*args, "--database", url, "--data-dir", tmp_path)
        err = r.stderr.decode()
        assert r.returncode == cli_output.EXIT_UNAVAILABLE == 3, err
        assert err.count("\n") == 1 and "cannot reach the database" in err
        assert "s3cret" not in err and "Traceback" not in err


def _free_port() -> int:
    s, port = _listening()
    s.close()
    return port


def test_exit_codes_in_help_match_the_constants() -> None:
    said = dict((int(n), w) for n, w in re.findall(r"(\d+) ([a-z][^;.]*)", EXIT_CODES))
    consts = {v: k for k, v in vars(cli_output).items() if k.startswith("EXIT_") and isinstance(v, int)}
    assert set(said) == set(consts), (said, consts)
    assert "Exit status" in runner.invoke(app, ["--help"]).output


def test_verbose_and_quiet(tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    r = runner.invoke(app, ["-v", "diagnose", str(HEALTHY), "--output", str(out)])
    assert r.exit_code == 0 and "file(s) read" in r.stderr and "written to" in r.stderr
    r = runner.invoke(app, ["--quiet", "diagnose", str(HEALTHY), "--output", str(out)])
    assert r.exit_code == 0 and r.stderr == ""
    r = runner.invoke(app, ["diagnose", str(HEALTHY), "--output", str(out)])
    assert "written to" in r.stderr and "file(s) read" not in r.stderr


def test_version_and_shell_completion() -> None:
    from pylondiag import __version__

    assert cli("--version").stdout.decode().strip() == f"pylondiag {__version__}"
    r = cli("--show-completion", "bash")
    assert r.returncode == 0 and b"_PYLONDIAG_COMPLETE" in r.stdout


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    cases = [str(HEALTHY), str(NO_MASTER), str(HEALTHY)]
    out = tmp_path / "out.jsonl"
    cmd = f"{sys.executable} -m pylondiag diagnose {' '.join(cases)} > {out}"
    child = pexpect.spawn("/bin/sh", ["-c", cmd], timeout=120, dimensions=(24, 100), encoding="utf-8")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "diagnosing" in (child.before or "")  # the bar drew on the terminal (stderr)
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3  # stdout kept only the documents
    piped = cli("diagnose", *cases)
    assert piped.returncode == 0 and piped.stderr == b""


def test_one_case_shows_a_bar_over_its_evidence_bytes(tmp_path: Path) -> None:
    """One case: the bar counts the evidence bytes read (rich's byte column), then says "diagnosing";
    stdout still holds only the JSON document."""
    case = HEALTHY.parent / "inv-cold-mornings-deye"
    out = tmp_path / "out.json"
    cmd = f"{sys.executable} -m pylondiag diagnose {case} --format json > {out}"
    child = pexpect.spawn("/bin/sh", ["-c", cmd], timeout=120, dimensions=(24, 120), encoding="utf-8")
    child.expect(pexpect.EOF)
    child.close()
    drawn = child.before or ""
    assert child.exitstatus == 0
    assert re.search(r"\d+(\.\d+)?/\d+(\.\d+)? kB", drawn), drawn[-500:]  # bytes read / bytes in the case
    assert "inv-cold-mornings-deye: diagnosing" in drawn
    assert json.loads(out.read_text(encoding="utf-8"))["outcome"]
