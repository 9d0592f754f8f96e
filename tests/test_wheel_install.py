"""The wheel, installed into fresh virtual environments, works from outside the repository.

Built with ``uv build``; the dependencies come from ``uv.lock`` (``uv export --format pylock.toml``) and
are installed offline from uv's cache, so this runs in seconds and without a network. Two installs:

* ``pylondiag[all]``: ``diagnose``, ``report`` and ``serve --demo`` (which must load the example cases
  the wheel carries), the shipped JSON Schema validating the diagnosis;
* ``pylondiag`` alone (the light core): ``diagnose`` text/JSON work, and a command needing an extra
  refuses in one line naming it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from shared_paths import REPO

pytestmark = pytest.mark.slow

UV = shutil.which("uv")
CASE = "healthy-us3000c-stack"


def _run(*args: str | Path, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["UV_OFFLINE"] = "1"
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def _ok(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 0, f"{r.args}: exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return r.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The directory of the wheel and the locked dependencies (``pylock.all.toml``, ``pylock.core.toml``)."""
    assert UV, "uv is not on PATH (scripts/setup.sh installs it)"
    out = tmp_path_factory.mktemp("dist")
    _ok(_run(UV, "build", "--wheel", "--out-dir", out, REPO, cwd=out))
    for name, extras in (("all", ["--all-extras"]), ("core", [])):
        _ok(
            _run(
                UV, "export", "--frozen", *extras, "--no-dev", "--no-emit-project", "--format", "pylock.toml",
                "-q", "-o", out / f"pylock.{name}.toml", "--project", REPO, cwd=out,
            )
        )  # fmt: skip
    yield out


def _venv(where: Path, dist: Path, extras: str) -> Path:
    """A fresh venv with the locked dependencies and the wheel; returns its bin/ directory.

    The locked set goes in first (offline, from uv's cache); installing the wheel then checks that
    what it declares is satisfied by that set (offline: anything else would need a download and fail).
    """
    assert UV
    (wheel,) = dist.glob("pylondiag-*.whl")
    _ok(_run(UV, "venv", "-q", "--python", sys.executable, where, cwd=where.parent))
    python = where / "bin" / "python"
    lock = dist / ("pylock.all.toml" if extras else "pylock.core.toml")
    _ok(_run(UV, "pip", "install", "-q", "--python", python, "-r", lock, cwd=where.parent))
    _ok(_run(UV, "pip", "install", "-q", "--python", python, f"{wheel}{extras}", cwd=where.parent))
    _ok(_run(UV, "pip", "check", "--python", python, cwd=where.parent))
    return where / "bin"


def _installed_package(bin_dir: Path, cwd: Path) -> Path:
    out = _ok(_run(bin_dir / "python", "-c", "import pylondiag; print(pylondiag.__file__)", cwd=cwd))
    return Path(out.strip()).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_full_install_diagnoses_reports_and_serves_the_demo(built: Path, tmp_path: Path) -> None:
    bin_dir = _venv(tmp_path / "venv", built, "[all]")
    work = tmp_path / "work"
    work.mkdir()
    package = _installed_package(bin_dir, work)
    assert REPO not in package.parents, f"imported from the repository: {package}"
    assert (package / "py.typed").is_file()

    assert _ok(_run(bin_dir / "pylondiag", "--version", cwd=work)).startswith("pylondiag ")
    assert _ok(_run(bin_dir / "python", "-m", "pylondiag", "--version", cwd=work)).startswith("pylondiag ")

    case = package / "_shipped" / "examples" / "cases" / CASE
    doc = json.loads(_ok(_run(bin_dir / "pylondiag", "diagnose", case, "--format", "json", cwd=work)))
    expected = json.loads((REPO / "examples" / "cases" / CASE / "expected.json").read_text(encoding="utf-8"))
    assert doc["outcome"] == expected["outcome"]
    schema = package / "_shipped" / "schema" / "diagnosis.schema.json"
    shipped = json.loads(schema.read_text(encoding="utf-8"))
    assert shipped == json.loads((REPO / "schema" / "diagnosis.schema.json").read_text(encoding="utf-8"))
    assert not [e.message for e in Draft202012Validator(shipped).iter_errors(doc)]
    (work / "d.json").write_text(json.dumps(doc), encoding="utf-8")
    _ok(_run(bin_dir / "pylondiag", "report", "d.json", "--format", "html", "--output", "r.html", cwd=work))
    assert "<html" in (work / "r.html").read_text(encoding="utf-8").lower()

    shipped_cases = sorted(p.name for p in case.parent.iterdir() if (p / "case.yaml").is_file())
    assert shipped_cases == sorted(
        p.name for p in (REPO / "examples" / "cases").iterdir() if (p / "case.yaml").is_file()
    )
    _serve_demo(bin_dir, work, shipped_cases)


def _serve_demo(bin_dir: Path, work: Path, cases: list[str]) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [bin_dir / "pylondiag", "serve", "--demo", "--port", str(port), "--data-dir", work / "data"],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Open http" in line:
                break
        text = "".join(lines)
        assert "Engineer demo account" in text, text
        loaded = [n for n in cases if f"  {n}: http://" in text]
        assert loaded == cases, f"demo loaded {len(loaded)} of {len(cases)} example cases:\n{text}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    assert r.status == 200
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the demo service never answered")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_core_install_is_light_and_names_the_missing_extra(built: Path, tmp_path: Path) -> None:
    bin_dir = _venv(tmp_path / "venv", built, "")
    work = tmp_path / "work"
    work.mkdir()
    package = _installed_package(bin_dir, work)
    case = package / "_shipped" / "examples" / "cases" / CASE
    doc = json.loads(_ok(_run(bin_dir / "pylondiag", "diagnose", case, "--format", "json", cwd=work)))
    assert doc["schema"] == "pylondiag.diagnosis/1"
    assert _ok(_run(bin_dir / "pylondiag", "diagnose", case, cwd=work)).strip()
    for args, extra in (
        (["diagnose", str(case), "--format", "html"], "[report]"),
        (["report", "d.json"], "[report]"),
        (["serve", "--demo"], "[service]"),
        (["publish", str(case), "--mqtt", "mqtt://127.0.0.1:1"], "[mqtt]"),
    ):
        r = _run(bin_dir / "pylondiag", *args, cwd=work)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.count("\n") == 1 and extra in r.stderr and "pip install" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
