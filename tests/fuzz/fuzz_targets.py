"""What the fuzzers feed: one function per reader of user bytes, and where their seeds come from.

A target returns normally, or raises :class:`~pylondiag.errors.PylondiagError` (the project's way of
saying "this input is refused, and here is why"). Anything else escaping (``KeyError``, ``RecursionError``,
``MemoryError``, ``ValueError`` from deep inside a library...) is a bug: the fuzzer reports it as a crash
and the input goes into ``crashes/<target>/``, which ``test_fuzzers.py`` replays on every run.

The readers: the console capture reader (``read_console``), the inverter-log readers (object and column
paths), the ``case.yaml`` reader (the CLI's strict one and the service's), and the service's upload path
(zip inflation, names, sizes, content checks). The bus codecs (RS485/CAN) do not exist in the tree yet.
"""

from __future__ import annotations

import contextlib
import io
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cases"
SHARED = Path(os.environ.get("PYLONDIAG_SHARED", REPO.parent / "shared"))
CAPTURES = Path(os.environ.get("PYLONDIAG_CAPTURES", SHARED / "captures"))
CRASHES = Path(__file__).resolve().parent / "crashes"

BRANDS = (None, "deye", "sunsynk", "victron", "solis", "goodwe", "luxpower", "sofar", "growatt")


def load(target: str) -> Callable[[bytes], None]:
    """The function fuzzing ``target``. Each imports only what its reader needs, here, so the runner
    can instrument exactly those modules (``atheris.instrument_imports``) and start in a second or two."""
    return TARGETS[target]()


def _console() -> Callable[[bytes], None]:
    from pylondiag.casedir import detect
    from pylondiag.errors import PylondiagError
    from pylondiag.evidence.console import read_console

    def console(data: bytes) -> None:
        with contextlib.suppress(PylondiagError):
            read_console(data, "console/fuzz.txt")
        detect.sniff(data, "fuzz.txt", None)

    return console


def _inverter_log() -> Callable[[bytes], None]:
    from pylondiag.errors import PylondiagError
    from pylondiag.evidence.inverter_log import read_inverter_log
    from pylondiag.evidence.inverter_log.columns import read_log_columns

    readers: tuple[Callable[..., Any], ...] = (read_inverter_log, read_log_columns)

    def inverter_log(data: bytes) -> None:
        brand = BRANDS[data[0] % len(BRANDS)] if data else None
        zone = "America/New_York" if data[:1] == b"A" else "Europe/London"
        for read in readers:
            with contextlib.suppress(PylondiagError):
                read(data, "inverter/fuzz.csv", brand=brand, timezone=zone)

    return inverter_log


def _case_yaml() -> Callable[[bytes], None]:
    from pylondiag.casedir.caseyaml import parse_case_yaml
    from pylondiag.errors import PylondiagError
    from pylondiag.service.cases import parse_case_yaml as service_case_yaml

    readers: tuple[Callable[[bytes], Any], ...] = (parse_case_yaml, service_case_yaml)

    def case_yaml(data: bytes) -> None:
        for read in readers:
            with contextlib.suppress(PylondiagError):
                read(data)

    return case_yaml


def _upload() -> Callable[[bytes], None]:
    from pylondiag.errors import PylondiagError
    from pylondiag.service.cases import parse_case_yaml as service_case_yaml
    from pylondiag.service.settings import Limits
    from pylondiag.service.uploads import IncomingFile, check_content, check_files, read_zip, safe_relpath

    limits = Limits(max_file_bytes=2_000_000, max_total_bytes=4_000_000, max_files=50)

    def upload(data: bytes) -> None:
        """A zip (``PK`` first) or one named file (name, NUL, content) through the upload checks."""
        try:
            if data.startswith(b"PK"):
                files = read_zip(data, limits, name="fuzz.zip")
            else:
                name, _, content = data.partition(b"\x00")
                files = [IncomingFile(safe_relpath(name.decode("utf-8", "replace")), content)]
            check_files(files, limits)
            for f in files:
                check_content(f.path, f.data)
                if f.path == "case.yaml":
                    service_case_yaml(f.data)
        except PylondiagError:
            pass

    return upload


def _rs485() -> Callable[[bytes], None]:
    from pylondiag.casedir import detect
    from pylondiag.evidence.rs485 import Frame, decode_frame, decode_payload, read_rs485
    from pylondiag.evidence.rs485.payloads import PayloadError

    def rs485(data: bytes) -> None:
        """The capture reader on the whole input; the frame and payload decoders on its first line."""
        read_rs485(data, "rs485/fuzz.txt")
        detect.sniff(data, "rs485/fuzz.txt", "rs485")
        frame = decode_frame(data.split(b"\n", 1)[0][:4096])
        if isinstance(frame, Frame):
            with contextlib.suppress(PayloadError):
                decode_payload(frame.cid2, frame.info, frame.ver)

    return rs485


def _can() -> Callable[[bytes], None]:
    from pylondiag.casedir import detect
    from pylondiag.evidence.can import read_can
    from pylondiag.evidence.can.codec import decode

    def can(data: bytes) -> None:
        """The dump reader on the whole input; the DBC decoder on an identifier and up to 8 data bytes
        taken from the input's first bytes (11-bit or 29-bit by the first byte's low bit)."""
        read_can(data, "can/fuzz.log")
        detect.sniff(data, "can/fuzz.log", "can")
        if len(data) >= 4:
            extended = bool(data[0] & 1)
            arb = int.from_bytes(data[:4], "big") & (0x1FFFFFFF if extended else 0x7FF)
            decode(arb, data[4:12], extended=extended)

    return can


TARGETS: dict[str, Callable[[], Callable[[bytes], None]]] = {
    "console": _console,
    "inverter_log": _inverter_log,
    "case_yaml": _case_yaml,
    "upload": _upload,
    "rs485": _rs485,
    "can": _can,
}


# ---------------------------------------------------------------- seeds
def _files(pattern: str, *roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.is_dir():
            yield from sorted(p for p in root.glob(pattern) if p.is_file())


def _zip_of(case: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(case.rglob("*")):
            if p.is_file() and p.name != "expected.json":
                zf.write(p, p.relative_to(case).as_posix())
    return buf.getvalue()


def seeds(target: str, max_bytes: int = 64 * 1024) -> Iterator[bytes]:
    """Seed inputs for ``target``, read in place from the real captures and the examples (never
    copied into the repository); each cut to ``max_bytes``."""
    if target == "console":
        found = _files("*.txt", CAPTURES / "console")
        paths = [*found, *_files("*/console/*", EXAMPLES)]
    elif target == "inverter_log":
        paths = list(_files("*/inverter/*", EXAMPLES))
    elif target == "case_yaml":
        paths = list(_files("*/case.yaml", EXAMPLES))
    elif target in ("rs485", "can"):
        yield from (_rs485_seeds() if target == "rs485" else _can_seeds())
        return
    else:
        for case in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
            yield _zip_of(case)[:max_bytes]
        yield b"console/pwr.txt\x00pylon>pwr\r\n"
        return
    for p in paths:
        yield p.read_bytes()[:max_bytes]


PROTOCOLS = SHARED / "domain" / "protocols"
"""The public RS485/CAN samples (``samples_rs485_*``, ``samples_can_public_sources.txt``), read in place."""


def _rs485_seeds() -> Iterator[bytes]:
    """Each public sample file whole, each of its frames alone, and the simulator's poll rounds."""
    for path in _files("samples_rs485_*", PROTOCOLS):
        data = path.read_bytes()
        yield data
        for line in data.splitlines():
            frame = line.strip().removeprefix(b"TX ").removeprefix(b"RX ")
            if frame.startswith(b"~"):
                yield frame
    yield from _simulated_bus("rs485")


def _can_frames() -> Iterator[tuple[int, bytes]]:
    """(identifier, data) of every ``ID: 351 Buffer: 14 2 C0 ...`` line of the public CAN samples."""
    for path in _files("samples_can_*", PROTOCOLS):
        for line in path.read_text(errors="replace").splitlines():
            head, sep, buffer = line.partition(" Buffer: ")
            if sep and head.startswith("ID: "):
                with contextlib.suppress(ValueError):
                    yield int(head[4:], 16), bytes(int(b, 16) for b in buffer.split()[:8])


def _can_seeds() -> Iterator[bytes]:
    """The public CAN frames as candump ``-l`` text, candump console text, and python-can's ASC, BLF and
    log files (written by python-can itself), each frame alone (identifier then data) for the decoder."""
    import tempfile

    import can

    frames = list(_can_frames())
    yield "".join(f"({1_700_000_000 + i}.000000) can0 {a:03X}#{d.hex().upper()}\n" for i, (a, d) in
                  enumerate(frames)).encode()  # fmt: skip
    yield "".join(f"  can0  {a:03X}   [{len(d)}]  {d.hex(' ').upper()}\n" for a, d in frames).encode()
    messages = [
        can.Message(timestamp=1_700_000_000 + i, arbitration_id=a, data=d, is_extended_id=False)
        for i, (a, d) in enumerate(frames)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in ("asc", "blf", "log"):
            path = Path(tmp) / f"seed.{suffix}"
            with can.Logger(path) as writer:
                for message in messages:
                    writer.on_message_received(message)
            yield path.read_bytes()
    for a, d in frames:
        yield a.to_bytes(4, "big") + d
    yield from _simulated_bus("can")


def _simulated_bus(folder: str) -> Iterator[bytes]:
    """The bus files of two simulated cases (a healthy stack and one with a module in alarm)."""
    import tempfile

    from pylondiag.sim import write_case

    with tempfile.TemporaryDirectory() as tmp:
        for scenario in ("healthy", "cell_imbalance"):
            case = write_case(scenario, 1, Path(tmp) / scenario, evidence="bus")
            yield from (p.read_bytes() for p in sorted((case / folder).glob("*")) if p.is_file())


def regressions(target: str) -> list[Path]:
    """Inputs that once crashed ``target`` (``crashes/<target>/``), replayed by the tests."""
    return sorted(p for p in (CRASHES / target).glob("*") if p.is_file() and p.name != "README.md")
