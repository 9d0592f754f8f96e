"""All case-file reading: a case directory or a single evidence file → one :class:`CaseView`.

``load_case(path)`` validates ``case.yaml`` strictly (:class:`~pylondiag.errors.CaseError` when it is
invalid or the path is missing: the CLI's exit 2), recognises every other file by its content, reads
console captures and inverter logs, and reports anything it cannot use in ``view.gaps`` — the rest
of the case is still read. Nothing in the case directory is ever modified.

Address → position (``case-format.md`` "Module identity"): ``stack[].address`` maps a BMS address to
a physical position; without any addresses in ``case.yaml``, position = address. Duplicate addresses
are ambiguous: records at that address are kept with ``position=None`` and the conflict is listed in
``view.address_conflicts`` (the diagnosis says so instead of guessing).
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from pylondiag.casedir import bms_events
from pylondiag.casedir.caseyaml import parse_case_yaml
from pylondiag.casedir.detect import FOLDER_KIND, sniff
from pylondiag.errors import CaseError, EvidenceError
from pylondiag.evidence.console import read_console
from pylondiag.evidence.inverter_log import read_inverter_log
from pylondiag.model.case import DEFAULT_TIMEZONE, CaseFile, Role
from pylondiag.model.console import (
    BatTable,
    ConsoleCapture,
    EventLog,
    InfoRecord,
    PwrDetail,
    PwrSys,
    PwrTable,
    SohTable,
    StatCounters,
)
from pylondiag.model.event import BatteryEvent, TemperatureSample
from pylondiag.model.stack import (
    AddressConflict,
    BatReading,
    CaseView,
    EvidenceFile,
    EvidenceGap,
    EvidenceKind,
    InfoReading,
    LogReading,
    ModuleView,
    PwrDetailReading,
    PwrSnapshot,
    PwrSysReading,
    SohReading,
    StatReading,
)

__all__ = ["load_case"]

MAX_FILE_BYTES: Final = 20 * 1024 * 1024
"""Bytes: an evidence file larger than this is reported, not read (a console session is kilobytes)."""
MAX_FILES: Final = 5000
"""Files read per case; the rest are reported in one gap line."""
METADATA_FILES: Final = frozenset({"expected.json", "label.json", "readme.md", "readme.txt", "readme"})
"""Files at the case root that describe the case (examples, notes), not evidence."""


@dataclass
class _Loaded:
    files: list[EvidenceFile] = field(default_factory=list)
    gaps: list[EvidenceGap] = field(default_factory=list)
    captures: list[ConsoleCapture] = field(default_factory=list)
    events: list[BatteryEvent] = field(default_factory=list)
    temperatures: list[TemperatureSample] = field(default_factory=list)
    notes: dict[str, int] = field(default_factory=dict)


def load_case(path: Path) -> CaseView:
    """Read a case directory, or a single evidence file as a case holding just that file."""
    path = Path(path)
    if not path.exists():
        raise CaseError(
            "no such file or directory. Fix: give a case directory or an evidence file.", source=str(path)
        )
    case: CaseFile | None = None
    loaded = _Loaded()
    if path.is_dir():
        yaml_path = path / "case.yaml"
        if yaml_path.is_file():
            try:
                data = yaml_path.read_bytes()
            except OSError as exc:
                raise CaseError(
                    f"cannot be read ({exc.strerror}). Fix: check its permissions.", source=str(yaml_path)
                ) from None
            case = parse_case_yaml(data, source=str(yaml_path))
        tz = _zone(case)
        brand = case.inverter.brand.value if case and case.inverter and case.inverter.brand else None
        entries = _walk(path, loaded)
        for rel, full in entries:
            _read_file(full, rel, loaded, tz, brand)
        case_id = (case.case_id if case and case.case_id else None) or path.resolve().name
    else:
        if path.name == "case.yaml":
            case = parse_case_yaml(path.read_bytes(), source=str(path))
        else:
            _read_file(path, path.name, loaded, _zone(None), None)
        case_id = (case.case_id if case and case.case_id else None) or path.stem
    return _build(case_id, str(path), case, loaded)


def _zone(case: CaseFile | None) -> ZoneInfo:
    return ZoneInfo(case.site.timezone if case else DEFAULT_TIMEZONE)


def _walk(root: Path, loaded: _Loaded) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    skipped = 0
    for dirpath, dirnames, filenames in os.walk(root, onerror=None, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if rel == "case.yaml" or ("/" not in rel and name.lower() in METADATA_FILES):
                continue
            if len(out) >= MAX_FILES:
                skipped += 1
                continue
            out.append((rel, full))
    if skipped:
        loaded.gaps.append(
            EvidenceGap(text=f"{skipped} more files were not read (more than {MAX_FILES} in the case).")
        )
    return out


def _read_file(full: Path, rel: str, loaded: _Loaded, tz: ZoneInfo, brand: str | None) -> None:
    folder = rel.split("/", 1)[0] if "/" in rel else ""
    hint = FOLDER_KIND.get(folder)
    try:
        size = full.stat().st_size
        if size > MAX_FILE_BYTES:
            _gap(
                loaded,
                rel,
                "unknown",
                f"{rel}: not read, {size} bytes is too large for an evidence file "
                f"(limit {MAX_FILE_BYTES}); split it or keep only the relevant part.",
            )
            return
        data = full.read_bytes()
    except OSError as exc:
        _gap(
            loaded,
            rel,
            "unknown",
            f"{rel}: cannot be read ({exc.strerror or exc}); check the file's permissions.",
        )
        return
    if not data.strip():
        _gap(loaded, rel, "unknown", f"{rel}: the file is empty; capture again and save the output.")
        return
    kind = sniff(data, rel, hint)
    misplaced = hint is not None and hint != kind and kind != "unknown"
    note = f"found in {folder}/ but its content is a {kind.replace('_', ' ')}" if misplaced else None
    if kind == "photo":
        loaded.files.append(
            EvidenceFile(source=rel, kind="photo", used=False, note="kept for the report, not analysed")
        )
        return
    if kind == "console":
        try:
            cap = read_console(data, rel)
        except EvidenceError as exc:
            _gap(
                loaded,
                rel,
                "console",
                f"{rel}: looks like a console capture but could not be read: {exc.message}",
            )
            return
        except Exception as exc:
            _internal(loaded, rel, "console", exc)
            return
        if not cap.records:
            _gap(
                loaded,
                rel,
                "console",
                f"{rel}: a console session but without any command output that the "
                "tool reads (run pwr, bat N, stat N and save all the output).",
            )
            return
        noted = _noted_position(data)
        if noted is not None:
            loaded.notes[rel] = noted
        if cap.captured_at is not None and cap.captured_at.tzinfo is None:
            cap = cap.model_copy(update={"captured_at": cap.captured_at.replace(tzinfo=tz)})
        loaded.captures.append(cap)
        loaded.files.append(EvidenceFile(source=rel, kind="console", used=True, note=note))
        if misplaced:
            loaded.gaps.append(EvidenceGap(source=rel, text=f"{rel}: {note}; it was read as such."))
        return
    if kind == "inverter_log":
        try:
            log = read_inverter_log(data, rel, brand=brand, timezone=tz.key)
        except EvidenceError as exc:
            _gap(
                loaded,
                rel,
                "inverter_log",
                f"{rel}: looks like an inverter event log but could not be read: {exc.message}",
            )
            return
        except Exception as exc:
            _internal(loaded, rel, "inverter_log", exc)
            return
        loaded.events.extend(log.events)
        loaded.temperatures.extend(log.temperatures)
        loaded.files.append(EvidenceFile(source=rel, kind="inverter_log", used=True, note=note))
        if misplaced:
            loaded.gaps.append(EvidenceGap(source=rel, text=f"{rel}: {note}; it was read as such."))
        if log.warnings:
            w = log.warnings[0]
            loaded.gaps.append(
                EvidenceGap(
                    source=rel,
                    text=f"{rel}: {len(log.warnings)} row(s) could not be read and were skipped "
                    f"(first: line {w.line}, {w.message}).",
                )
            )
        return
    if kind in ("can", "rs485"):
        what = "CAN frames (candump)" if kind == "can" else "RS485 protocol frames"
        _gap(
            loaded,
            rel,
            kind,
            f"{rel}: recognised as {what}; this version does not diagnose from bus frames — "
            "a console capture (pwr, bat N, stat N) carries the same states.",
        )
        return
    reason = (
        "binary data" if b"\x00" in data[:8192] or (kind == "unknown" and _mostly_binary(data)) else "text"
    )
    _gap(
        loaded,
        rel,
        "unknown",
        f"{rel}: not recognised ({reason}); expected a console capture (prompt such as 'pylon>' with "
        "commands "
        "and their output), an inverter event log (CSV with a time,code,message header), candump CAN frames "
        "or RS485 '~...' frames.",
    )


def _internal(loaded: _Loaded, rel: str, kind: str, exc: Exception) -> None:
    """A reader bug on this file: report it as a gap and go on (strict mode re-raises, for tests)."""
    if os.environ.get("PYLONDIAG_STRICT_RULES") == "1":
        raise exc
    _gap(
        loaded,
        rel,
        kind,
        f"{rel}: could not be read because of an internal error ({type(exc).__name__}: {exc}); the rest of "
        "the case was diagnosed without it. Please report it with the file attached.",
    )


def _mostly_binary(data: bytes) -> bool:
    from pylondiag.casedir.detect import is_binary

    return is_binary(data)


def _gap(loaded: _Loaded, rel: str, kind: str, text: str) -> None:
    k: EvidenceKind = "unknown"
    for known in ("console", "inverter_log", "can", "rs485", "photo"):
        if kind == known:
            k = known
    loaded.files.append(EvidenceFile(source=rel, kind=k, used=False, note=text))
    loaded.gaps.append(EvidenceGap(source=rel, text=text))


# ---------------------------------------------------------------- building the view
def _build(case_id: str, root: str, case: CaseFile | None, loaded: _Loaded) -> CaseView:
    tz = _zone(case)
    observed = case.observed_at if case else None
    if observed is not None and observed.tzinfo is None:
        observed = observed.replace(tzinfo=tz)
    gaps = list(loaded.gaps)

    # modules from case.yaml
    modules: dict[int, dict[str, object]] = {}
    addr_positions: dict[int, list[int]] = {}
    if case:
        for i, m in enumerate(case.stack):
            modules[m.position] = {
                "position": m.position,
                "address": m.address,
                "model": m.model.value if m.model else None,
                "serial": m.serial,
                "installed": m.installed,
                "led": m.led,
                "dip": m.dip,
                "role": m.role,
                "group": m.group,
                "notes": m.notes,
                "stack_index": i,
            }
            if m.address is not None:
                addr_positions.setdefault(m.address, []).append(m.position)
    multi_group = bool(case) and any((m.group or 0) > 0 for m in case.stack)  # type: ignore[union-attr]
    group_of: dict[int, int | None] = {
        m.position: (m.group if multi_group else (m.group or 0)) for m in (case.stack if case else [])
    }
    conflicts = []
    for a, ps in sorted(addr_positions.items()):
        per_group: dict[int, list[int]] = {}
        for p in ps:
            g = group_of.get(p, 0)
            if g is not None:  # a module of unknown group (multi-group system) cannot be compared
                per_group.setdefault(g, []).append(p)
        conflicts += [
            AddressConflict(address=a, positions=tuple(g)) for g in per_group.values() if len(g) > 1
        ]
    cross_group = sorted(a for a, ps in addr_positions.items() if len({group_of.get(p, 0) for p in ps}) > 1)
    have_addresses = bool(addr_positions)
    plain_module = _plain_console_module(case)

    own_address: int | None = None
    noted_position: int | None = None

    def resolve(address: int | None) -> tuple[int | None, int | None, bool]:
        """(position, address, assumed) for a record's address."""
        assumed = False
        if address is None and noted_position is not None and noted_position in modules:
            return noted_position, modules[noted_position].get("address"), False  # type: ignore[return-value]
        if address is None and own_address is not None:
            address = own_address  # the capture's own `info`/`stat`/`soh` names the module
        elif address is None:
            address, assumed = plain_module
        if address is None:
            return None, None, assumed
        ps = addr_positions.get(address)
        if ps is not None:
            return (ps[0] if len(ps) == 1 else None), address, assumed
        if address in modules and (modules[address].get("address") in (None, address)):
            return address, address, assumed
        if not modules or not have_addresses:
            return address, address, assumed
        return (address if address not in modules else None), address, assumed

    caps = sorted(
        loaded.captures,
        key=lambda c: (c.captured_at is None, c.captured_at or datetime.min.replace(tzinfo=tz), c.source),
    )
    pwr: list[PwrSnapshot] = []
    bat: list[BatReading] = []
    details: list[PwrDetailReading] = []
    stats: list[StatReading] = []
    sohs: list[SohReading] = []
    infos: list[InfoReading] = []
    pwrsys: list[PwrSysReading] = []
    logs: list[LogReading] = []
    events: list[BatteryEvent] = []
    seq = 0
    assumed_sources: set[str] = set()
    for cap in caps:
        t = cap.captured_at
        own_address = _own_address(cap)
        noted_position = loaded.notes.get(cap.source)
        for rec in cap.records:
            seq += 1
            src = cap.source
            if isinstance(rec, PwrTable):
                pwr.append(PwrSnapshot(table=rec, time=t, seq=seq, source=src))
                for row in rec.rows:
                    if not row.absent:
                        events.extend(bms_events.from_pwr_row(row, _aware(row.module_time, tz) or t))
            elif isinstance(rec, BatTable):
                pos, addr, assumed = resolve(rec.address)
                if assumed:
                    assumed_sources.add(src)
                bat.append(
                    BatReading(
                        position=pos,
                        address=addr,
                        time=t,
                        seq=seq,
                        source=src,
                        table=rec,
                        assumed_address=assumed,
                    )
                )
            elif isinstance(rec, PwrDetail):
                pos, addr, assumed = resolve(rec.address)
                details.append(
                    PwrDetailReading(position=pos, address=addr, time=t, seq=seq, source=src, detail=rec)
                )
                events.extend(bms_events.from_pwr_detail(rec, t))
            elif isinstance(rec, StatCounters):
                pos, addr, assumed = resolve(rec.address)
                if assumed:
                    assumed_sources.add(src)
                stats.append(StatReading(position=pos, address=addr, time=t, seq=seq, source=src, stat=rec))
            elif isinstance(rec, SohTable):
                pos, addr, _ = resolve(rec.address)
                sohs.append(SohReading(position=pos, address=addr, time=t, seq=seq, source=src, table=rec))
            elif isinstance(rec, InfoRecord):
                pos, addr, _ = resolve(rec.address)
                infos.append(InfoReading(position=pos, address=addr, time=t, seq=seq, source=src, info=rec))
            elif isinstance(rec, PwrSys):
                pwrsys.append(PwrSysReading(record=rec, time=t, seq=seq, source=src))
            elif isinstance(rec, EventLog):
                logs.append(LogReading(log=rec, time=t, seq=seq, source=src))
                events.extend(bms_events.from_log(rec, rec.address, t))

    # modules seen in the evidence
    def ensure(pos: int | None, addr: int | None) -> None:
        if pos is None:
            return
        if pos not in modules:
            modules[pos] = {"position": pos, "address": addr}
        elif modules[pos].get("address") is None and addr is not None and addr not in addr_positions:
            modules[pos]["address"] = addr  # position = address, as resolve() placed it

    for snap in pwr:
        for row in snap.present_rows():
            pos, addr, _ = resolve(row.address)
            ensure(pos, addr)
    for r in [*bat, *details, *stats, *sohs, *infos]:
        ensure(r.position, r.address)
    for inf in infos:
        if inf.position is not None and inf.position in modules:
            mm = modules[inf.position]
            if not mm.get("model") and inf.info.device_name:
                mm["model"] = inf.info.device_name
            if inf.info.main_soft_version:
                mm["firmware"] = inf.info.main_soft_version

    if conflicts:
        for c in conflicts:
            gaps.append(
                EvidenceGap(
                    text=f"case.yaml gives address {c.address} to positions "
                    f"{', '.join(map(str, c.positions))}: console "
                    f"readings for address {c.address} could not be assigned to a position. Capture `pwr` "
                    "and check "
                    "each module's address (its row in `pwr`, counting along the link chain from the master)."
                )
            )
    if cross_group and (pwr or bat or stats):
        gaps.append(
            EvidenceGap(
                text="In a multi-group (LV-HUB) system each group numbers its modules from 1, so console "
                "address "
                f"{', '.join(map(str, cross_group))} exists in more than one group; readings at such an "
                "address were "
                "not assigned to a position. Capture each group's console separately (one file per group "
                "master)."
            )
        )
    if case and case.stack and not have_addresses and (pwr or bat or stats) and len(case.stack) > 1:
        gaps.append(
            EvidenceGap(
                text="case.yaml gives no stack[].address, so console address N was taken as position N; add "
                "each "
                "module's address (its row in `pwr`) to case.yaml to be sure the right module is named."
            )
        )
    if assumed_sources:
        names = ", ".join(sorted(assumed_sources))
        gaps.append(
            EvidenceGap(
                text=f"`bat`/`stat` without a module number (in {names}) shows the module the console cable "
                "is "
                f"plugged into; it was taken as address {plain_module[0]}. Capture `bat N` / `stat N` from "
                "the "
                "master's console to name each module for certain.",
            )
        )

    events += _stat_rises(stats)
    events.extend(loaded.events)
    events = timeline(events, tz)
    module_views = [ModuleView.model_validate(modules[p]) for p in sorted(modules)]
    return CaseView(
        case_id=case_id,
        root=root,
        case=case,
        timezone=tz.key,
        observed_at=observed,
        modules=module_views,
        pwr=pwr,
        bat=bat,
        pwr_detail=details,
        stats=stats,
        soh=sohs,
        infos=infos,
        pwrsys=pwrsys,
        logs=logs,
        events=events,
        temperatures=temperature_series(loaded.temperatures, events, tz),
        files=loaded.files,
        gaps=gaps,
        address_conflicts=conflicts,
        console_positions=dict(loaded.notes),
    )


def timeline(events: list[BatteryEvent], tz: tzinfo) -> list[BatteryEvent]:
    """BMS and inverter events as ONE timeline: every time aware (a naive time — a BMS ``log`` entry,
    a module clock — is taken in the site's timezone), oldest first; events without a time last, in
    the order read. Sorting is stable, so events at the same instant keep their reading order."""
    aware = [
        e
        if (e.time is None or e.time.tzinfo is not None)
        and (e.occurred_after is None or e.occurred_after.tzinfo is not None)
        else e.model_copy(update={"time": _aware(e.time, tz), "occurred_after": _aware(e.occurred_after, tz)})
        for e in events
    ]
    return sorted(aware, key=lambda e: (e.time is None, e.time.timestamp() if e.time else 0.0))


def temperature_series(
    readings: list[TemperatureSample], events: list[BatteryEvent], tz: tzinfo
) -> list[TemperatureSample]:
    """Every temperature of the case as one series, oldest first: the logs' readings between events
    and each event's own recorded temperature (``BatteryEvent.temperature_c``, cited at the event's
    line). One reading per (source, line)."""
    out: dict[tuple[str, int], TemperatureSample] = {}
    for r in readings:
        t = _aware(r.time, tz)
        out.setdefault(
            (r.provenance.source, r.provenance.line), r if t is r.time else r.model_copy(update={"time": t})
        )
    for e in events:
        if e.temperature_c is None or e.time is None or e.occurred_after is not None:
            continue
        out.setdefault(
            (e.provenance.source, e.provenance.line),
            TemperatureSample(
                time=e.time, celsius=e.temperature_c, sensor=f"{e.origin} event", provenance=e.provenance
            ),
        )
    return sorted(out.values(), key=lambda r: r.time.timestamp())


def _stat_rises(stats: list[StatReading]) -> list[BatteryEvent]:
    """``stat`` counters that rose between consecutive readings of one module, as timeline events."""
    out: list[BatteryEvent] = []
    by_pos: dict[tuple[int | None, int | None], list[StatReading]] = {}
    for st in stats:
        if st.position is not None or st.address is not None:
            by_pos.setdefault((st.position, st.address), []).append(st)
    for series in by_pos.values():
        for a, b in itertools.pairwise(series):
            out += bms_events.from_stat_rise(a.stat, b.stat, b.source, a.time, b.time, b.address)
    return out


_NOTE_POSITION: Final = re.compile(rb"^\s*#[^\r\n]*?\bposition\s+(\d{1,3})\b", re.IGNORECASE | re.MULTILINE)
_PROMPT: Final = re.compile(rb"\w+>")


def _noted_position(data: bytes) -> int | None:
    """The position named in a ``#`` comment before the first prompt (``# ... module at position 3``)."""
    head = data[:2048]
    first_prompt = _PROMPT.search(head)
    head = head[: first_prompt.start()] if first_prompt else head
    m = _NOTE_POSITION.search(head)
    return int(m.group(1)) if m else None


def _own_address(cap: ConsoleCapture) -> int | None:
    """The address of the module whose console this is, when the capture says so unambiguously.

    A capture with plain ``bat`` (no number) taken on one module's own console names that module in
    its ``info``/``stat`` ``Device address`` or ``soh``'s ``Power N``. One distinct address → that one.
    """
    if not any(isinstance(r, BatTable) and r.address is None for r in cap.records):
        return None
    found = {
        r.address
        for r in cap.records
        if isinstance(r, InfoRecord | StatCounters | SohTable) and r.address is not None
    }
    return found.pop() if len(found) == 1 else None


def _aware(t: datetime | None, tz: tzinfo) -> datetime | None:
    if t is None:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=tz)


def _plain_console_module(case: CaseFile | None) -> tuple[int | None, bool]:
    """The address a plain ``bat``/``stat`` (no module number) most likely shows, and True (assumed).

    One module in ``case.yaml`` → that module. Otherwise the master (the console is normally on the
    master, address 1).
    """
    if case and len(case.stack) == 1:
        m = case.stack[0]
        return (m.address or m.position), True
    if case:
        masters = [m for m in case.stack if m.role == Role.MASTER]
        if len(masters) == 1 and masters[0].address:
            return masters[0].address, True
    return 1, True
