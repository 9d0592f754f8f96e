"""Live, read-only acquisition from a battery console (all serial I/O of pylondiag lives here).

* :class:`ConsoleSession` — ``ConsoleSession.open(url)`` then ``read(command) -> Answer`` (typed
  records from the sans-IO console reader); one command in flight, retries, resync, reconnects.
* :mod:`~pylondiag.acquire.whitelist` — the read-only commands and their argument shapes; anything
  else is refused before a byte is written (:class:`CommandRefused`).
* :mod:`~pylondiag.acquire.capture` — a whole stack into a case directory.
"""

from pylondiag.acquire.link import ConsoleLink, LinkLost
from pylondiag.acquire.session import (
    Answer,
    ConsoleInfo,
    ConsoleSession,
    NoAnswer,
    NoConsole,
    PortUnavailable,
)
from pylondiag.acquire.whitelist import CommandRefused

__all__ = [
    "Answer",
    "CommandRefused",
    "ConsoleInfo",
    "ConsoleLink",
    "ConsoleSession",
    "LinkLost",
    "NoAnswer",
    "NoConsole",
    "PortUnavailable",
]
