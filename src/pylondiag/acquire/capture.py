"""Capture a stack through its console into a case directory (``shared/spec/case-format.md``).

Order: ``pwr`` (which addresses answer), then for each present module ``pwr N``, ``bat N``,
``soh N``, ``stat N``, ``info N``; then ``pwrsys``, ``time``, plain ``stat`` (firmware without
``stat N``), the BMS ``log`` (paged) and ``data event``. Every answer is appended to
``console/capture-<time>.txt`` as it arrives, with a timestamp line before its prompt, so a capture
cut short (the stack stops answering, the cable is pulled, Ctrl-C) still leaves a readable case:
``case.yaml`` is rewritten at the end with what the stack said and a note of what is missing and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import yaml

from pylondiag.acquire.session import Answer, ConsoleSession, NoAnswer
from pylondiag.model.case import ModuleModel
from pylondiag.model.console import InfoRecord, PwrTable, StatCounters

PER_MODULE = ("pwr {a}", "bat {a}", "soh {a}", "stat {a}", "info {a}")
STACK_WIDE = ("pwrsys", "time", "stat", "log", "data event")
OWN_CONSOLE = ("info", "stat", "soh", "log", "data event")
"""On one module's own console: what only that console shows truly (B67 firmware prints `stat` only
for the module plugged into and reads slave SOH counts as 0 through the master, console_fields.md)."""
DEAD_AFTER = 2
"""Consecutive commands without an answer after which the stack is taken as no longer answering."""

Progress = Callable[[str, int, int], None]
"""``progress(what, done, total)``: called before each command."""


@dataclass
class CaptureResult:
    case_dir: Path
    transcript: Path
    addresses: list[int] = field(default_factory=list)
    answered: int = 0
    gaps: list[str] = field(default_factory=list)
    stopped: str | None = None
    """Why the capture ended early (None = it ran to the end)."""
    interrupted: bool = False


class Transcript:
    """The raw console transcript file: each answer as received, after an ISO timestamp and its prompt."""

    def __init__(self, path: Path, header: list[str]) -> None:
        self.path = path
        new = not path.exists()
        self._f: IO[bytes] = path.open("ab")
        if new:
            self._f.write("".join(f"# {h}\n" for h in header).encode("utf-8"))
            self._f.flush()

    def write(self, ans: Answer) -> None:
        stamp = ans.started_at.strftime("%Y-%m-%dT%H:%M:%S")
        self._f.write(f"{stamp} ".encode("ascii") + ans.prompt.encode("ascii") + ans.raw)
        if not ans.raw.endswith((b"\n", b"\r")):
            self._f.write(b"\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


@dataclass
class _State:
    session: ConsoleSession
    transcript: Transcript
    result: CaptureResult
    progress: Progress | None
    total: int
    done: int = 0
    silent: int = 0
    infos: dict[int, InfoRecord] = field(default_factory=dict)
    stat_by_address: bool = True
    vanished: set[int] = field(default_factory=set)


def _ask(st: _State, command: str) -> Answer | None:
    """One command; a missing answer becomes a gap. Raises :class:`_Dead` when the stack has stopped
    answering."""
    if st.progress is not None:
        st.progress(command, st.done, st.total)
    st.done += 1
    try:
        ans = st.session.read(command)
    except NoAnswer as exc:
        st.result.gaps.append(f"{command}: {exc.reason}")
        st.silent += 1
        if st.silent >= DEAD_AFTER or "connection was lost" in exc.reason:
            raise _Dead(f"the stack stopped answering ({exc.reason})") from None
        return None
    st.silent = 0
    st.transcript.write(ans)
    st.result.answered += 1
    return ans


class _Dead(Exception):
    pass


def _present(ans: Answer | None) -> list[int]:
    if ans is None:
        return []
    for r in ans.records:
        if isinstance(r, PwrTable):
            return [row.address for row in r.rows if not row.absent and row.voltage_mv is not None]
    return []


def _module_steps(addresses: list[int]) -> Iterator[tuple[int, str]]:
    for a in addresses:
        for tmpl in PER_MODULE:
            yield a, tmpl.format(a=a)


def run_capture(
    session: ConsoleSession,
    out: Path,
    *,
    port: str,
    progress: Progress | None = None,
    own: bool = False,
) -> CaptureResult:
    """Capture into ``out`` (created; an existing case's files are kept and a new transcript added).

    ``own``: the cable is on one module's own console: read :data:`OWN_CONSOLE` only, and keep an
    existing ``case.yaml`` as it is (the transcript is added to the case)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "console").mkdir(exist_ok=True)
    started = session.clock()
    name = "own" if own else "capture"
    path = out / "console" / f"{name}-{started:%Y%m%d-%H%M%S}.txt"
    header = [
        f"pylondiag capture from {port}",
        f"started {started.isoformat()} (times on each command line are this computer's local time)",
    ]
    if session.info is not None:
        woke = ", after the 1200-baud wake-up" if session.info.woke else ""
        header.append(f"console prompt {session.info.prompt!r} at {session.info.baud} baud{woke}")
    result = CaptureResult(case_dir=out, transcript=path)
    transcript = Transcript(path, header)
    if own:
        return _run_own(
            session, out, port, started, _State(session, transcript, result, progress, len(OWN_CONSOLE))
        )
    st = _State(session, transcript, result, progress, total=1 + len(STACK_WIDE))
    pending: list[str] = ["pwr"]
    try:
        pwr = _ask(st, "pwr")
        pending = []
        result.addresses = _present(pwr)
        if pwr is None:
            result.gaps.append("no module list: `pwr` did not answer, so no module could be read")
        steps = list(_module_steps(result.addresses))
        st.total += len(steps)
        pending = [c for _, c in steps] + list(STACK_WIDE)
        for a, command in steps:
            pending.pop(0)
            if a in st.vanished:
                continue
            _module_step(st, a, command)
        for command in STACK_WIDE:
            pending.pop(0)
            if command == "stat" and st.stat_by_address:
                continue
            _ask(st, command)
    except _Dead as exc:
        result.stopped = str(exc)
    except KeyboardInterrupt:
        result.stopped = "interrupted (Ctrl-C)"
        result.interrupted = True
    finally:
        transcript.close()
        if result.stopped and pending:
            result.gaps.append(f"not read ({result.stopped}): " + ", ".join(pending))
        write_case_yaml(out, result, st.infos, port, started)
        if progress is not None:
            progress("done", st.total, st.total)
    return result


def _run_own(session: ConsoleSession, out: Path, port: str, started: datetime, st: _State) -> CaptureResult:
    result = st.result
    pending = list(OWN_CONSOLE)
    try:
        for command in OWN_CONSOLE:
            ans = _ask(st, command)
            pending.pop(0)
            for r in ans.records if ans is not None else ():
                if isinstance(r, InfoRecord) and r.address is not None:
                    st.infos[r.address] = r
                    result.addresses = [r.address]
    except _Dead as exc:
        result.stopped = str(exc)
    except KeyboardInterrupt:
        result.stopped = "interrupted (Ctrl-C)"
        result.interrupted = True
    finally:
        st.transcript.close()
        if result.stopped and pending:
            result.gaps.append(f"not read ({result.stopped}): " + ", ".join(pending))
        if not (out / "case.yaml").exists():
            write_case_yaml(out, result, st.infos, port, started)
        if progress := st.progress:
            progress("done", st.total, st.total)
    return result


def _module_step(st: _State, a: int, command: str) -> None:
    ans = _ask(st, command)
    if ans is None:
        return
    text = ans.raw.decode("utf-8", "replace")
    if "is absent" in text:
        st.vanished.add(a)
        st.result.gaps.append(
            f"module {a}: listed by `pwr` but absent when `{command}` asked for it (it stopped answering "
            "on the link bus mid-capture)"
        )
        return
    if command.startswith("stat ") and ans.status != "ok":
        st.stat_by_address = False  # this firmware has plain `stat` only (the module plugged into)
    for r in ans.records:
        if isinstance(r, InfoRecord):
            st.infos[a] = r
        if isinstance(r, StatCounters) and r.address not in (None, a):
            st.stat_by_address = False


def _model(name: str | None) -> str:
    if not name:
        return ModuleModel.OTHER.value
    n = name.strip().upper()
    if n in {m.value.upper() for m in ModuleModel}:
        return next(m.value for m in ModuleModel if m.value.upper() == n)
    if n.startswith("US2K"):
        return ModuleModel.US2000.value  # "US2KBPL" is what a US2000 (Plus) calls itself [C]
    return ModuleModel.OTHER.value


def case_yaml_doc(
    out: Path, result: CaptureResult, infos: dict[int, InfoRecord], port: str, started: datetime
) -> dict[str, Any]:
    """``case.yaml`` with what the stack itself said: module count, models, barcodes, firmware."""
    stack: list[dict[str, Any]] = []
    for a in result.addresses:
        e: dict[str, Any] = {"position": a, "address": a}
        r = infos.get(a)
        if r is not None:
            e["model"] = _model(r.device_name)
            if r.barcode:
                e["serial"] = r.barcode
            facts = [
                f"{label} {v}"
                for label, v in (
                    ("device name", r.device_name),
                    ("main firmware", r.main_soft_version),
                    ("board", r.board_version),
                    ("released", r.release_date),
                )
                if v
            ]
            e["notes"] = "console info: " + ", ".join(facts) if facts else None
            if e["notes"] is None:
                del e["notes"]
        stack.append(e)
    notes = [
        f"Captured live by `pylondiag capture` from {port} on {started:%Y-%m-%d %H:%M}. "
        f"`pwr` listed {len(result.addresses)} module(s) at BMS address(es) "
        + (", ".join(map(str, result.addresses)) or "none")
        + "; stack positions here are those addresses (the console cannot see the physical order)."
    ]
    if result.gaps:
        notes.append("Capture incomplete: " + "; ".join(result.gaps) + ".")
    doc: dict[str, Any] = {
        "schema": "pylondiag.case/1",
        "case_id": out.resolve().name,
        "observed_at": started.strftime("%Y-%m-%dT%H:%M"),
    }
    if stack:
        doc["stack"] = stack
    doc["notes"] = "\n".join(notes)
    return doc


def write_case_yaml(
    out: Path, result: CaptureResult, infos: dict[int, InfoRecord], port: str, started: datetime
) -> None:
    """Write ``case.yaml`` (atomically: a capture interrupted while writing never leaves half a file)."""
    path = out / "case.yaml"
    doc = case_yaml_doc(out, result, infos, port, started)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    tmp.replace(path)


def write_empty_case(out: Path, port: str, why: str) -> None:
    """A valid case holding no evidence, whose notes say why (nothing on the port answered)."""
    out.mkdir(parents=True, exist_ok=True)
    started = datetime.now().replace(microsecond=0)
    result = CaptureResult(case_dir=out, transcript=out / "console", gaps=[why])
    write_case_yaml(out, result, {}, port, started)
