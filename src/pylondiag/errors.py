"""The project's own error types. Nothing else is raised out of pylondiag's public functions.

Each error carries enough to tell a person which file, which line and what was expected.
"""

from __future__ import annotations


class PylondiagError(Exception):
    """Base of every error pylondiag raises on purpose."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.source = source
        self.line = line
        where = source or ""
        if source and line is not None:
            where = f"{source}:{line}"
        super().__init__(f"{where}: {message}" if where else message)


class EvidenceError(PylondiagError):
    """An evidence file cannot be used at all (the case is still diagnosed without it)."""


class NotAConsoleCapture(EvidenceError):
    """The bytes given to the console reader hold no recognisable console output."""


class NotAnInverterLog(EvidenceError):
    """The bytes given to the inverter-log reader are in no known event-log shape."""


class CaseError(PylondiagError):
    """The case as a whole cannot be used (missing path, invalid ``case.yaml``): CLI exit 2."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.key = key
        if key:
            message = f"{key}: {message}"
        super().__init__(message, source=source, line=line)
