"""One diagnosis in a child process with CPU-time, memory and output limits and a wall-clock timeout.

:func:`run_limited` (the service's default runner) hands the case directory to a child process and
waits for its one result. Children are forked from a ``multiprocessing`` *forkserver* that has imported
the pipeline once (a fork costs milliseconds; a fresh interpreter would spend ~0.7 s of CPU importing),
and which is itself a fresh interpreter: nothing of the web or worker process (threads, database
connections, sockets) is inherited. Each child sets its limits with ``setrlimit`` before it reads the
case, then sends one JSON document through a pipe (at most ``output_bytes``). A case that needs more
than the limits ends its child: ``SIGXCPU`` for CPU time, ``MemoryError`` under ``RLIMIT_AS``, the
parent's ``SIGKILL`` at the wall-clock deadline; the parent raises :class:`LimitExceeded` with a sentence
an engineer can read. The web process never shares its interpreter (GIL, memory) with a diagnosis, and a
child dies with the process that waits for it (``PR_SET_PDEATHSIG`` on the forkserver, which exits with
its parent).

This module imports only the standard library at top level.
"""

from __future__ import annotations

import io
import json
import math
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing import context, forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

EXIT_ERROR = 3
"""The child caught an exception from the pipeline and sent ``{"error": "..."}``."""
EXIT_MEMORY = 4
"""The child ran out of its address-space limit."""
EXIT_OUTPUT = 5
"""The child's result is larger than its output limit."""
ERROR_CHARS = 2000
"""An error message from the child is cut to this many characters."""
WAIT_STEP_S = 0.02
"""How often the parent looks whether the child has answered or ended (s)."""
NEAR_MEMORY_LIMIT = 0.8
"""An exception raised after the child's address space peaked above this share of its limit is taken
for a memory breach: C code that cannot allocate often raises ``SystemError`` or its own error, not
``MemoryError``."""
STALL_S = 10.0
"""A child whose address space has peaked above ``NEAR_MEMORY_LIMIT`` of its limit and that then uses no
CPU time for this long (s) is taken for stuck after a failed allocation and stopped as over its memory
limit. Seen once in a full test run: under ``RLIMIT_AS`` a child blocked in a futex inside a C extension
after an allocation failed, until the wall-clock limit (300 s) killed it and it was reported as too slow.
A child only reads local files and computes: 10 s without CPU time is not a diagnosis at work."""
STALL_CHECK_S = 1.0
"""How often the parent reads the child's peak address space and CPU time from ``/proc`` (s)."""
SINGLE_THREADED_NUMERICS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Set in each child before numpy is imported there (the column readers import it): the diagnosis uses
no linear algebra, and OpenBLAS would otherwise start a thread per core with its buffers — one more
thread and ~40 MiB more address space under the child's memory limit (measured: ``VmPeak`` of
``import numpy`` 139 MB with the default, 98 MB with one thread, 2 cores)."""
MiB = 1024 * 1024


@dataclass(frozen=True)
class ChildLimits:
    """What one diagnosis may use. Times in seconds, sizes in bytes."""

    cpu_s: float = 60.0
    """CPU time (user + system) of the child. The example cases need 0.01–0.3 s after the fork; a year
    of inverter log at one row a minute (525 600 rows, 22–38 MiB), read as columns, 1.2–1.9 s
    (``bench/year_case.py``, docs/benchmarks.md); a log only the row-wise reader takes (a 12-hour
    clock...) costs ~4.5 s per 100,000 rows and is refused over 16 MiB (``ROW_WISE_MAX_BYTES``). The limit
    leaves room for a slower machine and for that row-wise reading."""
    memory_bytes: int = 2048 * MiB
    """Address space of the child (``RLIMIT_AS``), the preloaded pipeline included: 60–200 MiB on the
    example cases, 190–280 MB peak RSS for a year of inverter log as columns, 35–65 MB per MiB for the
    row-wise reader (a 16 MiB log: up to ~1 GB)."""
    wall_s: float = 300.0
    """Wall-clock time from start to result; the parent kills the child after it. A backstop for a
    child that waits instead of computing (before the logs were read as columns, a year of events took
    77 s of wall clock for its 17 s of CPU on the loaded 2-core development machine, niced)."""
    output_bytes: int = 16 * MiB
    """Size of the JSON result (and of any file the child writes, ``RLIMIT_FSIZE``)."""
    nice: int = 10
    """Added to the child's niceness: web requests on the same machine come first."""


class LimitExceeded(Exception):
    """The diagnosis needed more than its limits: deterministic for the case, so not retried."""


class DiagnosisCrashed(Exception):
    """The child failed for another reason (an exception in the pipeline, a signal): may be retried."""


# -- parent ---------------------------------------------------------------------------------------
_server_lock = threading.Lock()
_server_ready = False


def _forkserver() -> None:
    """Have the forkserver preload the pipeline (it starts with the first child)."""
    global _server_ready
    with _server_lock:
        if not _server_ready:
            forkserver.set_forkserver_preload(["pylondiag.service.diagnose_child", "pylondiag.pipeline"])
            _server_ready = True


class _ChildPopen(popen_forkserver.Popen):
    """The forkserver's ``Popen`` without the parent's ``__main__``: a child normally prepares itself by
    re-running the parent's main script or module (and on Python 3.11 the forkserver cannot preload it:
    it looks for a ``main_path`` key that ``spawn.get_preparation_data`` no longer writes). In the web
    or worker process that is the whole service stack, ~3 s per child on the loaded development
    machine (measured with strace: every child re-read the main script and sqlalchemy). The child runs
    :func:`_child_main` of this module, so it needs nothing from ``__main__``."""

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        context.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            context.set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        parent_w = os.dup(w)  # the child's sentinel of its parent, as in the standard library
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))  # type: ignore[attr-defined]
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _ChildProcess(context.ForkServerProcess):
    _start_method = "forkserver"

    @staticmethod
    def _Popen(process_obj: Any) -> _ChildPopen:
        return _ChildPopen(process_obj)


def run_limited(case_dir: Path, limits: ChildLimits) -> dict[str, Any]:
    """Diagnose ``case_dir`` in a limited child process; the ``pylondiag.diagnosis/1`` document.

    Raises :class:`LimitExceeded` (CPU, memory, wall clock, output) or :class:`DiagnosisCrashed`.
    """
    return _run_child(case_dir, limits, DIAGNOSE)


def check_limited(case_dir: Path, limits: ChildLimits) -> None:
    """Read ``case_dir`` as the diagnosis will (``load_case``) in a limited child process.

    Raises the reader's :class:`~pylondiag.errors.CaseError` (message, file, line) when the case cannot be
    used, :class:`LimitExceeded` or :class:`DiagnosisCrashed` as :func:`run_limited`.
    """
    answer = _run_child(case_dir, limits, CHECK)
    problem = answer.get("case_error")
    if isinstance(problem, dict):
        from pylondiag.errors import CaseError

        line = problem.get("line")
        raise CaseError(
            str(problem.get("message", "")),
            source=problem.get("source") if isinstance(problem.get("source"), str) else None,
            line=line if isinstance(line, int) else None,
        )


DIAGNOSE, CHECK = "diagnose", "check"


def _run_child(case_dir: Path, limits: ChildLimits, task: str) -> dict[str, Any]:
    _forkserver()
    receive, send = multiprocessing.Pipe(duplex=False)
    child = _ChildProcess(target=_child_main, args=(str(case_dir), limits, task, send), daemon=True)
    start = time.monotonic()
    child.start()
    send.close()
    try:
        data, killed = _await(child, receive, start + limits.wall_s, limits)
        child.join(5.0)
        code = child.exitcode
    finally:
        if child.is_alive():
            child.kill()
            child.join()
        receive.close()
        child.close()
    if killed == STALLED:
        raise LimitExceeded(_memory_breach(limits))
    if killed:
        raise LimitExceeded(
            f"the diagnosis took longer than its {limits.wall_s:g} s time limit and was stopped; "
            "not retried automatically"
        )
    return _result(code, data, limits)


def _await(child: Any, receive: Connection, deadline: float, limits: ChildLimits) -> tuple[bytes | None, str]:
    """The child's message (``None`` when it ended without one) and why it was killed: ``""`` when it
    was not, ``WALL`` at the deadline, ``STALLED`` when :class:`StallWatch` found it stuck at its memory
    limit."""
    watch = StallWatch(child.pid, limits.memory_bytes)
    while True:
        if receive.poll(WAIT_STEP_S):
            try:
                return receive.recv_bytes(limits.output_bytes), ""
            except EOFError:  # ended without a message
                return None, ""
            except OSError:  # "bad message length": more than output_bytes (the child checks first)
                child.kill()
                return b"", ""
        if not child.is_alive() and not receive.poll(0):
            return None, ""
        now = time.monotonic()
        if now >= deadline:
            child.kill()
            return None, WALL
        if watch.stalled(now):
            child.kill()
            return None, STALLED


WALL, STALLED = "wall", "stalled"


class StallWatch:
    """Whether a child is stuck at its memory limit: its peak address space (``VmPeak``) at or above
    ``NEAR_MEMORY_LIMIT`` of the limit and no CPU time used (``utime + stime`` of ``/proc/PID/stat``)
    for ``STALL_S``. Without ``/proc`` (not Linux) it never answers yes; the wall-clock limit remains."""

    def __init__(
        self, pid: int, memory_bytes: int, stall_s: float = STALL_S, check_s: float = STALL_CHECK_S
    ) -> None:
        self.pid, self.memory_bytes, self.stall_s, self.check_s = pid, memory_bytes, stall_s, check_s
        self.next_check = time.monotonic() + check_s
        self.cpu_ticks = -1
        self.idle_since = time.monotonic()

    def stalled(self, now: float) -> bool:
        if now < self.next_check:
            return False
        self.next_check = now + self.check_s
        usage = process_usage(self.pid)
        if usage is None:
            return False
        peak, ticks = usage
        if ticks != self.cpu_ticks:
            self.cpu_ticks, self.idle_since = ticks, now
            return False
        return peak >= NEAR_MEMORY_LIMIT * self.memory_bytes and now - self.idle_since >= self.stall_s


def process_usage(pid: int) -> tuple[int, int] | None:
    """Peak address space (bytes, ``VmPeak``) and CPU time used (clock ticks, user + system) of a live
    process from ``/proc``; ``None`` when unknown (ended, not Linux)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of proc(5)
        return _peak_address_space(f"/proc/{pid}/status"), ticks
    except (OSError, ValueError, IndexError):
        return None


def _result(code: int | None, data: bytes | None, limits: ChildLimits) -> dict[str, Any]:
    if code in (-signal.SIGXCPU, -signal.SIGKILL) and data is None:
        # SIGXCPU at the soft CPU limit; SIGKILL at the hard one (soft + 2 s) if SIGXCPU was not enough
        raise LimitExceeded(
            f"the diagnosis used more than its {limits.cpu_s:g} s CPU-time limit and was stopped; "
            "not retried automatically"
        )
    if code == EXIT_MEMORY:
        raise LimitExceeded(_memory_breach(limits))
    if code in (EXIT_OUTPUT, -signal.SIGXFSZ) or data == b"":
        raise LimitExceeded(
            f"the diagnosis wrote more than its {_size(limits.output_bytes)} output limit and was "
            "stopped; not retried automatically"
        )
    if code == EXIT_ERROR:
        raise DiagnosisCrashed(_child_error(data))
    if code != 0 or data is None:
        why = (
            f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit status {code}"
        )
        raise DiagnosisCrashed(f"the diagnosis process ended with {why} and no result")
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise DiagnosisCrashed(f"the diagnosis process sent no readable result ({exc})") from None
    if not isinstance(document, dict):
        raise DiagnosisCrashed("the diagnosis process sent no diagnosis document")
    return document


def _memory_breach(limits: ChildLimits) -> str:
    return (
        f"the diagnosis needed more than its {_size(limits.memory_bytes)} memory limit and was "
        "stopped; not retried automatically"
    )


def _size(n: int) -> str:
    return f"{n / MiB:.0f} MiB" if n >= MiB else f"{n} bytes"


def _child_error(raw: bytes | None) -> str:
    try:
        message = json.loads(raw or b"")["error"]
    except (ValueError, KeyError, TypeError):
        return "the diagnosis process failed without a message"
    return str(message)[:ERROR_CHARS]


# -- child ----------------------------------------------------------------------------------------
def _die_with_parent() -> None:
    """Linux: SIGKILL to this child when its parent (the forkserver) ends; the forkserver ends when the
    process that uses it does (kill -9 included)."""
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the wall-clock limit still ends it
        return
    if os.getppid() != parent:  # the parent died before prctl: nobody waits for the result
        os._exit(1)


def _set_limits(limits: ChildLimits) -> None:
    import resource

    def cap(which: int, soft: int, hard: int | None = None) -> None:
        _, old_hard = resource.getrlimit(which)
        new_hard = hard if hard is not None else soft
        if old_hard != resource.RLIM_INFINITY:
            new_hard, soft = min(new_hard, old_hard), min(soft, old_hard)
        resource.setrlimit(which, (soft, new_hard))

    cpu = max(1, math.ceil(limits.cpu_s))
    cap(resource.RLIMIT_CPU, cpu, cpu + 2)  # SIGXCPU at the soft limit, SIGKILL 2 s later
    cap(resource.RLIMIT_AS, limits.memory_bytes)
    cap(resource.RLIMIT_FSIZE, limits.output_bytes)
    cap(resource.RLIMIT_CORE, 0)  # SIGXCPU would otherwise dump core
    if limits.nice:
        os.nice(limits.nice)


def _peak_address_space(status_path: str = "/proc/self/status") -> int:
    """A process's peak address space in bytes (``VmPeak``; this process's by default), 0 when unknown."""
    try:
        with open(status_path, encoding="ascii") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _work(case_dir: Path, task: str) -> dict[str, Any]:
    """The child's job: the diagnosis document, or for ``check`` whether the case can be read."""
    if task == CHECK:
        from pylondiag.casedir import load_case
        from pylondiag.errors import CaseError

        try:
            load_case(case_dir)
        except CaseError as exc:
            return {"case_error": {"message": exc.message, "source": exc.source, "line": exc.line}}
        return {"ok": True}
    from pylondiag.pipeline import run_case

    return run_case(case_dir).diagnosis.to_json_dict()


def _child_main(case_dir: str, limits: ChildLimits, task: str, send: Connection) -> None:
    """In the child: limits, the work, one message, exit (``os._exit``: no clean-up of the
    forkserver's state is this process's business)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on a worker's terminal: the worker decides
    _die_with_parent()
    os.environ.update(SINGLE_THREADED_NUMERICS)  # before numpy is first imported, in this child
    _set_limits(limits)
    try:
        data = json.dumps(_work(Path(case_dir), task)).encode("utf-8")
    except MemoryError:
        os._exit(EXIT_MEMORY)  # nothing more is allocated: no message, the exit status says it
    except Exception as exc:  # the pipeline's own failure: reported; the parent decides about retries
        if _peak_address_space() >= NEAR_MEMORY_LIMIT * limits.memory_bytes:
            os._exit(EXIT_MEMORY)
        send.send_bytes(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]}).encode())
        os._exit(EXIT_ERROR)
    if len(data) > limits.output_bytes:
        os._exit(EXIT_OUTPUT)
    send.send_bytes(data)
    send.close()
    os._exit(0)
