"""``--verbose`` / ``--quiet``: one process-wide level, set by the CLI's root callback (a light module:
it is imported on every command, before anything heavy)."""

from __future__ import annotations

import logging
import sys

_level = 0  # -1 quiet, 0 normal, 1 verbose, 2 debug


def set_verbosity(verbose: int, quiet: bool) -> None:
    """Apply ``--verbose`` (repeatable) / ``--quiet`` to what the commands print and to logging."""
    global _level
    _level = -1 if quiet else min(verbose, 2)
    if _level == 0:  # logging as configured (Python's default: warnings and errors on stderr)
        logging.getLogger("pylondiag").setLevel(logging.NOTSET)
        return
    level = {-1: logging.ERROR, 1: logging.INFO, 2: logging.DEBUG}[_level]
    # Our own loggers at the chosen level; other libraries' (WeasyPrint, fontTools...) stay at WARNING.
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("pylondiag").setLevel(level)


def verbosity() -> int:
    """-1 with ``--quiet``, 0 by default, 1 with ``-v``, 2 with ``-vv``."""
    return _level
