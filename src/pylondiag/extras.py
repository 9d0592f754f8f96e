"""Optional parts of pylondiag and the one-line message when one is not installed.

``pip install pylondiag`` gives the light core (parse, diagnose, text/JSON output, the simulator);
the extras add the rest. :func:`require` checks that an extra's libraries are importable *without*
importing them (``importlib.util.find_spec``) so a command can refuse in one line before it starts.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import Final

from pylondiag.errors import PylondiagError

EXTRA_MODULES: Final[dict[str, tuple[str, ...]]] = {
    "report": ("matplotlib", "jinja2", "markupsafe", "weasyprint", "PIL"),
    "service": ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "argon2", "itsdangerous"),
    "bus": ("serial",),
    "mqtt": ("paho", "apprise"),
    "s3": ("boto3", "botocore"),
}
"""Top-level modules each extra installs (the import names, not the distribution names)."""

EXTRA_NEEDS: Final[dict[str, tuple[str, ...]]] = {"service": ("report",)}
"""Extras that include other extras (``[service]`` renders reports)."""


class MissingExtra(PylondiagError):
    """A command needs an optional extra that is not installed (the CLI prints one line, exit 2)."""

    def __init__(self, extra: str, what: str, module: str) -> None:
        self.extra = extra
        super().__init__(
            f"{what} needs the [{extra}] extra (no module {module!r}): pip install 'pylondiag[{extra}]'"
        )


def missing_module(extra: str) -> str | None:
    """The first module of ``extra`` (or of an extra it includes) that cannot be imported, else None."""
    for needed in (*EXTRA_NEEDS.get(extra, ()), extra):
        for module in EXTRA_MODULES[needed]:
            if find_spec(module) is None:
                return module
    return None


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingExtra` naming ``extra`` when its libraries are not installed."""
    module = missing_module(extra)
    if module is not None:
        raise MissingExtra(extra, what, module)
