"""What the report commands share: exit codes, messages on stderr, and writing a rendered report.

Exit codes are the spec's (``shared/spec/diagnosis-format.md``): 0 done, 2 unusable input; 70
(EX_SOFTWARE) marks a bug, said in one paragraph instead of a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

from pylondiag.model.diagnosis import Diagnosis

EXIT_OK: Final = 0
EXIT_UNUSABLE: Final = 2
EXIT_BUG: Final = 70


def say(msg: str) -> None:
    """One message on stderr (stdout stays the document's)."""
    sys.stderr.write(msg.rstrip() + "\n")


def write_rendered(rendered: str | bytes, fmt: str, output: Path | None, diagnosis: Diagnosis) -> int:
    """Write a rendered report to ``output``, or to stdout (binary formats only to a pipe or file)."""
    if output is not None:
        try:
            if isinstance(rendered, bytes):
                output.write_bytes(rendered)
            else:
                output.write_text(rendered, encoding="utf-8")
        except OSError as exc:
            say(
                f"error: cannot write {output}: {exc.strerror or exc}. "
                "Fix: choose a writable path for --output."
            )
            return EXIT_UNUSABLE
        say(f"{diagnosis.outcome.value}: {fmt} report written to {output}")
        return EXIT_OK
    if isinstance(rendered, bytes):
        if sys.stdout.isatty():
            say(f"error: {fmt} is binary; use --output FILE.")
            return EXIT_UNUSABLE
        sys.stdout.buffer.write(rendered)
        sys.stdout.flush()
    else:
        sys.stdout.write(rendered)
    return EXIT_OK
