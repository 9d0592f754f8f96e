"""What the commands share: exit codes, messages on stderr, output format, stdin, progress, writing a report.

Exit codes (``cli.EXIT_CODES`` says them in ``pylondiag --help``; the README too):

====  ==========================================================================================
0     done (for ``diagnose``: a diagnosis was produced, whatever it found)
1     failed: the command ran but did not reach its goal (e.g. ``monitor`` lost the battery)
2     usage error or unusable input (the spec's code for ``diagnose``), or a missing extra
3     a service it needs is unreachable: the database, the MQTT broker, the battery console
4     the address to listen on is already in use (``serve``, ``sim serve``)
70    an internal error (a bug, EX_SOFTWARE), said in one paragraph instead of a traceback
130   interrupted with Ctrl-C (``capture`` still writes the partial case)
====  ==========================================================================================

Messages go to stderr, one paragraph each, never wrapped (a path stays on one line when piped);
stdout holds only the document. ``--quiet`` keeps only errors; ``--verbose`` adds details and logging.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from pylondiag.verbosity import verbosity

if TYPE_CHECKING:
    from pylondiag.model.diagnosis import Diagnosis

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_UNUSABLE: Final = 2
EXIT_UNAVAILABLE: Final = 3
EXIT_ADDRESS_IN_USE: Final = 4
EXIT_BUG: Final = 70
EXIT_INTERRUPTED: Final = 130

FORMAT_BY_SUFFIX: Final = {
    ".json": "json",
    ".jsonl": "json",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".txt": "text",
}
"""``--output``'s extension -> the format written when ``--format`` is not given."""

Step = Callable[[str], None]
"""``step(label)``: one unit of work done (what :func:`progress` yields)."""

STDIN_LIMIT: Final = 20 * 1024 * 1024
"""Bytes read from stdin at most (the case reader's per-file limit)."""


class UsageError(Exception):
    """A command line that cannot be followed (exit 2); the message says what to give instead."""


def choose_format(fmt: str | None, output: Path | None, default: str, allowed: tuple[str, ...]) -> str:
    """``--format`` if given, else the one ``--output``'s extension names, else ``default``."""
    if fmt is not None:
        chosen = fmt.lower().strip()
    elif output is not None and output.suffix:
        found = FORMAT_BY_SUFFIX.get(output.suffix.lower())
        if found is None or found not in allowed:
            raise UsageError(
                f"cannot tell the format from {output.name!r}; give --format ({'|'.join(allowed)}) "
                f"or an output ending in {', '.join(s for s, f in FORMAT_BY_SUFFIX.items() if f in allowed)}."
            )
        chosen = found
    else:
        chosen = default
    if chosen not in allowed:
        raise UsageError(f"--format {chosen!r} is not one of: {', '.join(allowed)}.")
    return chosen


def read_stdin_to(directory: Path, name: str = "stdin") -> Path:
    """Save what arrives on stdin (at most :data:`STDIN_LIMIT` bytes) as ``directory/name``."""
    data = sys.stdin.buffer.read(STDIN_LIMIT + 1)
    if len(data) > STDIN_LIMIT:
        raise UsageError(f"stdin holds more than {STDIN_LIMIT} bytes; save it to a file and give the path.")
    if not data.strip():
        raise UsageError("stdin is empty; pipe a console capture or an inverter log into `-`.")
    path = directory / name
    path.write_bytes(data)
    return path


@contextmanager
def stdin_dir() -> Iterator[Path]:
    """A temporary directory for what ``-`` reads from stdin (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="pylondiag-stdin-") as tmp:
        yield Path(tmp)


def show_progress() -> bool:
    """Progress bars only on a terminal (stderr) and not with ``--quiet``."""
    return verbosity() >= 0 and sys.stderr.isatty()


def stderr_bar(
    counts: Literal["steps", "bytes"], *, label: str = "{task.description}", transient: bool = True
) -> Any:
    """The one shape of our progress bars: a rich ``Progress`` on stderr — label, bar, what is done
    (``steps``: "3/16"; ``bytes``: "1.2/4.8 MB") and the time elapsed. Callers check
    :func:`show_progress` first."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    done = MofNCompleteColumn() if counts == "steps" else DownloadColumn()
    return Progress(
        TextColumn(label),
        BarColumn(),
        done,
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=transient,
    )


@contextmanager
def progress(total: int, what: str) -> Iterator[Step]:
    """A progress bar on stderr for ``total`` steps, shown only on a terminal; yields ``step(label)``."""
    if not show_progress():
        yield _no_progress
        return
    bar = stderr_bar("steps")
    with bar:
        task = bar.add_task(what, total=total)

        def step(label: str) -> None:
            bar.update(task, advance=1, description=f"{what} {label}".strip())

        yield step


def _no_progress(label: str) -> None:
    return None


class CaseProgress:
    """What :func:`case_progress` yields: ``file_read(rel, size)`` (the ``on_file`` of ``run_case``)
    advances the bar by the file's bytes; ``phase(words)`` names the step now running."""

    def __init__(self, bar: Any = None, task: Any = None, what: str = "", total_bytes: int = 0) -> None:
        self._bar, self._task, self._what = bar, task, what
        self._left = total_bytes

    def file_read(self, rel: str, size: int) -> None:
        """One file read: advance by its size; once every byte is read, the step is "diagnosing"."""
        self._left -= size
        if self._bar is not None:
            words = "diagnosing" if self._left <= 0 else f"read {rel}"
            self._bar.update(self._task, advance=size, description=f"{self._what}: {words}")

    def phase(self, words: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=f"{self._what}: {words}")


@contextmanager
def case_progress(total_bytes: int, what: str, *, shown: bool = True) -> Iterator[CaseProgress]:
    """A bar over the bytes of evidence a case holds (each file counted once read), then "diagnosing";
    on stderr, only when ``shown``, on a terminal and without ``--quiet``."""
    if not (shown and show_progress()):
        yield CaseProgress()
        return
    bar = stderr_bar("bytes")
    with bar:
        task = bar.add_task(f"{what}: reading", total=max(total_bytes, 1))
        yield CaseProgress(bar, task, what, total_bytes)


@contextmanager
def spinner(what: str) -> Iterator[None]:
    """An elapsed-time spinner on stderr for one long step without countable parts (terminal only)."""
    if not show_progress():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(what):
        yield


def note(msg: str) -> None:
    """An informational line on stderr (dropped with ``--quiet``)."""
    if verbosity() >= 0:
        say(msg)


def detail(msg: str) -> None:
    """A detail only ``--verbose`` shows."""
    if verbosity() >= 1:
        say(msg)


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
        note(f"{diagnosis.outcome.value}: {fmt} report written to {output}")
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
