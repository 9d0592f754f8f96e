"""What ``pyproject.toml`` declares matches what the code imports, and the ranges follow ``uv.lock``.

* nothing imported but undeclared, nothing declared but unused (the import names are mapped to
  distributions by the installed metadata, ``importlib.metadata.packages_distributions``);
* each layer imports only the core plus its own extra, so ``pip install pylondiag`` stays light;
* runtime dependencies are ranges (``>=``), not pins, and each lower bound is the version in
  ``uv.lock`` — the version the tests run on.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

from pylondiag.extras import EXTRA_MODULES, EXTRA_NEEDS, missing_module
from shared_paths import REPO

SRC = REPO / "src" / "pylondiag"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
LOCK = tomllib.loads((REPO / "uv.lock").read_text(encoding="utf-8"))

LAYER_EXTRA = {
    "service": "service",
    "report": "report",
    "acquire": "bus",
    "mqtt": "mqtt",
    "cli_service.py": "service",
    "service/storage_s3.py": "s3",
}
"""Folders and modules of ``src/pylondiag`` whose code may use an extra (a module's own entry first);
everything else is core."""

LOADED_BY_NAME = {
    # distribution: (why nothing imports it, a file + text that proves the use is real)
    "python-multipart": ("Starlette's request.form() imports it", "service/web.py", "request.form("),
    "psycopg": ("SQLAlchemy loads it for postgresql+psycopg:// URLs", "../../docs/service.md", "+psycopg://"),
}
"""Declared distributions that are loaded by another library rather than imported by us."""


def _name(requirement: str) -> str:
    """``psycopg[binary]>=3.3.9 ; python_version>'3'`` -> ``psycopg`` (normalised)."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert name, requirement
    return re.sub(r"[-_.]+", "-", name.group(0)).lower()


def _declared() -> dict[str, list[str]]:
    """extra ('' for the core) -> declared third-party requirements (self-references left out)."""
    out = {"": list(PYPROJECT["project"]["dependencies"])}
    for extra, reqs in PYPROJECT["project"].get("optional-dependencies", {}).items():
        out[extra] = [r for r in reqs if _name(r) != "pylondiag"]
    return out


def _imports(path: Path) -> Iterator[str]:
    """Top-level names of the absolute imports in a file (inside functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def _third_party_imports() -> dict[str, dict[str, str]]:
    """file (relative to src/pylondiag) -> {import name: distribution} for non-stdlib imports."""
    dists = packages_distributions()
    out: dict[str, dict[str, str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        for mod in set(_imports(path)) - set(sys.stdlib_module_names) - {"pylondiag", "__future__"}:
            found = dists.get(mod)
            assert found, f"{rel} imports {mod!r}, which no installed distribution provides"
            out.setdefault(rel, {})[mod] = _name(found[0])
    return out


def _allowed(extra: str) -> set[str]:
    declared = _declared()
    names = {_name(r) for r in declared[""]}
    for e in (*EXTRA_NEEDS.get(extra, ()), extra):
        names |= {_name(r) for r in declared.get(e, [])}
    return names


def test_every_import_is_declared_in_the_core_or_the_layers_extra() -> None:
    problems = []
    for rel, mods in _third_party_imports().items():
        extra = LAYER_EXTRA.get(rel, LAYER_EXTRA.get(rel.split("/")[0], ""))
        allowed = _allowed(extra)
        for mod, dist in sorted(mods.items()):
            if dist not in allowed:
                where = f"[{extra}] extra" if extra else "core dependencies"
                problems.append(
                    f"src/pylondiag/{rel} imports {mod} ({dist}), not in the {where}: "
                    f"`uv add {'--optional ' + extra + ' ' if extra else ''}{dist}`"
                )
    assert not problems, "\n".join(problems)


def test_every_declared_dependency_is_used() -> None:
    used = {dist for mods in _third_party_imports().values() for dist in mods.values()}
    unused = []
    for extra, reqs in _declared().items():
        for req in reqs:
            dist = _name(req)
            if dist in used:
                continue
            if dist in LOADED_BY_NAME:
                _why, rel, text = LOADED_BY_NAME[dist]
                assert text in (SRC / rel).resolve().read_text(encoding="utf-8"), (dist, rel, text)
                continue
            unused.append(f"{dist} (in {'[' + extra + ']' if extra else 'dependencies'})")
    assert not unused, f"declared but never imported: {', '.join(unused)}; remove them (`uv remove`)"


def test_extras_module_lists_match_pyproject() -> None:
    """``pylondiag.extras`` names, per extra, modules that extra's distributions really provide."""
    declared = _declared()
    dists = packages_distributions()
    assert set(EXTRA_MODULES) <= set(declared), "an extra in pylondiag.extras is missing from pyproject"
    for extra, modules in EXTRA_MODULES.items():
        own = {_name(r) for r in declared[extra]}
        for mod in modules:
            assert {_name(d) for d in dists.get(mod, [])} & own, f"{mod} is not installed by [{extra}]"
        assert missing_module(extra) is None  # the test environment has every extra
    all_extras = PYPROJECT["project"]["optional-dependencies"]["all"]
    listed = set(re.findall(r"\w+", all_extras[0].split("[", 1)[1]))
    assert listed == set(declared) - {"", "all"}, "[all] must name every other extra"


def test_runtime_dependencies_are_ranges_whose_lower_bound_is_the_locked_version() -> None:
    locked = {_name(p["name"]): p["version"] for p in LOCK["package"]}
    for extra, reqs in _declared().items():
        for req in reqs:
            assert "==" not in req, f"{req} is pinned; pyproject declares ranges, uv.lock pins"
            low = re.search(r">=\s*([^,;\s]+)", req)
            assert low, f"{req} has no lower bound"
            dist = _name(req)
            assert low.group(1) == locked[dist], (
                f"{req} ({extra or 'core'}): lower bound {low.group(1)} but uv.lock tests {locked[dist]}"
            )


def test_metadata_a_user_sees() -> None:
    project = PYPROJECT["project"]
    assert project["requires-python"] == ">=3.11"
    assert "Typing :: Typed" in project["classifiers"]
    assert (SRC / "py.typed").is_file()
    assert {"Homepage", "Source", "Issues"} <= set(project["urls"])
    assert project["scripts"]["pylondiag"] == "pylondiag.cli:main"
