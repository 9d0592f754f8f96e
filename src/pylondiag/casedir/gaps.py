"""Every gap message of the case reader, in one place: what is missing or unusable, in words an owner
can act on (``EvidenceGap.text``). Each function returns the sentence; callers decide where it goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from pylondiag.model.stack import AddressConflict

# ---------------------------------------------------------------- one file


def too_many_files(skipped: int, limit: int) -> str:
    return f"{skipped} more files were not read (more than {limit} in the case)."


def too_large(rel: str, size: int, limit: int, what: str = "an evidence file") -> str:
    """``size`` and ``limit`` in bytes."""
    return (
        f"{rel}: not read, {size} bytes is too large for {what} "
        f"(limit {limit}); split it or keep only the relevant part."
    )


def out_of_window(rel: str, count: int, line: int, when: str, window: tuple[datetime, datetime]) -> str:
    """``count`` rows of ``rel`` dated outside ``window`` (the first at ``line``, dated ``when``)."""
    rows = "1 row is" if count == 1 else f"{count} rows are"
    return (
        f"{rel}: {rows} dated outside {window[0].date().isoformat()} to {window[1].date().isoformat()} "
        f"(e.g. line {line}, {when}) and left out of the timeline; check the clock of the device that wrote "
        "them."
    )


def repeated_rows(rel: str, count: int, line: int, first_rel: str, first_line: int) -> str:
    """``count`` event rows of ``rel`` repeat rows read before (the first at ``line``, the same as
    ``first_rel`` line ``first_line``)."""
    rows = "1 row repeats an event" if count == 1 else f"{count} rows repeat events"
    where = f"line {first_line}" if first_rel == rel else f"{first_rel} line {first_line}"
    return (
        f"{rel}: {rows} already read (same time, code, message and values), counted once "
        f"(first: line {line}, the same as {where}); overlapping exports or a file added twice do this."
    )


def unreadable(rel: str, reason: str) -> str:
    return f"{rel}: cannot be read ({reason}); check the file's permissions."


def empty(rel: str) -> str:
    return f"{rel}: the file is empty; capture again and save the output."


def misplaced(rel: str, note: str) -> str:
    """``note`` is the file's own note (:func:`misplaced_note`)."""
    return f"{rel}: {note}; it was read as such."


def misplaced_note(folder: str, kind: str) -> str:
    return f"found in {folder}/ but its content is a {kind.replace('_', ' ')}"


def console_unreadable(rel: str, message: str) -> str:
    return f"{rel}: looks like a console capture but could not be read: {message}"


def console_without_records(rel: str) -> str:
    return (
        f"{rel}: a console session but without any command output that the "
        "tool reads (run pwr, bat N, stat N and save all the output)."
    )


def console_lines_skipped(rel: str, count: int, first_line: int, first_message: str) -> str:
    """``count`` lines of a console capture the reader could not place (the first at ``first_line``)."""
    lines = "1 line" if count == 1 else f"{count} lines"
    was = "was" if count == 1 else "were"
    return (
        f"{rel}: {lines} of the console output could not be read and {was} skipped (first: line "
        f"{first_line}, {first_message}); the rest was read. If a table row is among them, that cell or "
        "module was not read: capture that command again."
    )


def console_cut_short(rel: str, line: int, message: str) -> str:
    """The capture stopped inside a command's answer (its last line read at ``line``; ``message`` names
    the command)."""
    return (
        f"{rel}: {message}, after line {line}: what it printed was read, the rest of that answer is missing. "
        "Capture that command again and save the session only after the prompt comes back."
    )


def log_unreadable(rel: str, message: str) -> str:
    return f"{rel}: looks like an inverter event log but could not be read: {message}"


def log_without_rows(rel: str) -> str:
    return (
        f"{rel}: an inverter event log without any rows (only its header, or blank lines); export the events "
        "again, covering the weeks the trouble shows."
    )


def rows_skipped(rel: str, count: int, first_line: int, first_message: str) -> str:
    return (
        f"{rel}: {count} row(s) could not be read and were skipped "
        f"(first: line {first_line}, {first_message})."
    )


CAN_SHAPES: Final = {
    "blf": "a Vector BLF CAN log",
    "asc": "a Vector ASC CAN log",
    "candump_log": "CAN frames (candump -l log)",
    "candump": "CAN frames (candump output)",
}
"""How a CAN capture's sniffed shape (``evidence.can.log.detect_shape``) is named to the reader."""


def bus_without_battery(rel: str, kind: str, first_problem: str | None, shape: str = "") -> str:
    """A bus capture read as ``shape`` in which no battery frame could be read."""
    what = CAN_SHAPES.get(shape, "CAN frames") if kind == "can" else "RS485 protocol frames"
    return (
        f"{rel}: recognised as {what} but no battery frame in it could be read"
        + (f" (first problem: {first_problem})" if first_problem else "")
        + "; capture again with the stack switched on (see the README, 'Capturing the bus')."
    )


def frames_skipped(rel: str, count: int, first: str) -> str:
    return f"{rel}: {count} frame(s) or line(s) could not be read and were skipped (first: {first})."


def console_utf16(rel: str) -> str:
    return (
        f'{rel}: a console capture saved as UTF-16 (Windows "Unicode"), which is not read: save it again '
        "as UTF-8 (Notepad: Save As, Encoding UTF-8; PowerShell: add -Encoding utf8) and add it again."
    )


def not_recognised(rel: str, binary: bool) -> str:
    reason = "binary data" if binary else "text"
    return (
        f"{rel}: not recognised ({reason}); expected a console capture (prompt such as 'pylon>' with "
        "commands and their output), an inverter event log (CSV with a time,code,message header), "
        "CAN frames (candump, Vector ASC or BLF) or RS485 '~...' frames."
    )


def internal_error(rel: str, exc: Exception) -> str:
    return (
        f"{rel}: could not be read because of an internal error ({type(exc).__name__}: {exc}); the rest of "
        "the case was diagnosed without it. Please report it with the file attached."
    )


# ---------------------------------------------------------------- module identity (the whole case)


def address_conflict(conflict: AddressConflict) -> str:
    a = conflict.address
    return (
        f"case.yaml gives address {a} to positions "
        f"{', '.join(map(str, conflict.positions))}: console "
        f"readings for address {a} could not be assigned to a position. Capture `pwr` "
        "and check "
        "each module's address (its row in `pwr`, counting along the link chain from the master)."
    )


def cross_group(addresses: Iterable[int]) -> str:
    return (
        "In a multi-group (LV-HUB) system each group numbers its modules from 1, so console "
        "address "
        f"{', '.join(map(str, addresses))} exists in more than one group; readings at such an "
        "address were "
        "not assigned to a position. Capture each group's console separately (one file per group "
        "master)."
    )


def no_addresses() -> str:
    return (
        "case.yaml gives no stack[].address, so console address N was taken as position N; add "
        "each "
        "module's address (its row in `pwr`) to case.yaml to be sure the right module is named."
    )


def assumed_address(sources: Iterable[str], address: int | None) -> str:
    names = ", ".join(sorted(sources))
    return (
        f"`bat`/`stat` without a module number or `getpwr` (in {names}) shows the module the console "
        f"cable is plugged into; it was taken as address {address}. Capture `bat N` / `stat N` from the "
        "master's console to name each module for certain."
    )
