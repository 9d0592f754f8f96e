"""Every accepted inverter-log shape is read as columns through to the diagnosis: the diagnosis JSON is
the one the row-wise readers give (one event object per row, forced here by emptying the column
readers), valid for the shared validator, and only the rows a finding quotes become objects."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_event_log_columns import CASE_YAML, EVENTS, _checker, _json

from pylondiag.casedir import load_case
from pylondiag.diagnosis import diagnose
from pylondiag.evidence.inverter_log import columns

ZONE = ZoneInfo("Europe/London")


def _rows(n: int, seed: int = 7) -> list[tuple[datetime, tuple[str, str, str, str, str]]]:
    """``n`` events of the mix, one every 7 minutes from 2026-01-01 (site-local), through both clock
    changes."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1)
    return [(start + timedelta(minutes=7 * i), EVENTS[rng.randrange(len(EVENTS))]) for i in range(n)]


def _csv(n: int, stamp: Callable[[datetime], str]) -> bytes:
    out = ["time,code,message,severity,module,temperature"]
    out += [f"{stamp(t)},{c},{m},{s},{mod},{temp}" for t, (c, m, s, mod, temp) in _rows(n)]
    return ("\n".join(out) + "\n").encode()


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=ZONE).astimezone(UTC)


def _home_assistant(n: int) -> bytes:
    out = ["entity_id,state,last_changed"]
    for i, (t, (code, message, _, _, temp)) in enumerate(_rows(n)):
        stamp = f"{_utc(t):%Y-%m-%dT%H:%M:%S}.000Z"
        state = f"{code} {message}".strip() if i % 3 else ""
        out.append(f'sensor.deye_fault,"{state}",{stamp}')
        if temp:
            out.append(f"sensor.battery_temperature,{temp},{stamp}")
    return ("\n".join(out) + "\n").encode()


def _victron(n: int) -> bytes:
    levels = ("ERROR", "WARNING", "INFO", "CRITICAL")
    out = []
    for i, (t, (_, message, _, _, _)) in enumerate(_rows(n)):
        text = "Connection established to Daly" if i % 4 == 2 else message.replace("_", " ")
        out.append(f"{t:%Y-%m-%d %H:%M:%S}.126892500 {levels[i % 4]}:SerialBattery:{text}")
    return ("\n".join(out) + "\n").encode()


def _lux(n: int) -> bytes:
    rows = [
        {
            "event": code,
            "eventType": severity.upper(),
            "eventText": message,
            "startTime": f"{t:%Y-%m-%d %H:%M:%S}",
            "renormalTime": f"{t + timedelta(minutes=5):%Y-%m-%d %H:%M:%S}" if i % 2 else None,
        }
        for i, (t, (code, message, severity, _, _)) in enumerate(_rows(n))
    ]
    return json.dumps({"success": True, "total": n, "rows": rows}, indent=1).encode()


SHAPES: dict[str, tuple[str, Callable[[int], bytes]]] = {
    "dayfirst": ("events.csv", lambda n: _csv(n, lambda t: f"{t:%d/%m/%Y %H:%M:%S}")),
    "offset": ("events.csv", lambda n: _csv(n, lambda t: t.replace(tzinfo=ZONE).isoformat())),
    "home_assistant": ("history.csv", _home_assistant),
    "victron": ("current.log", _victron),
    "lux": ("lux-events.json", _lux),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_shape_is_diagnosed_from_columns_as_from_rows(
    shape: str, tmp_path: Path, validator: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, make = SHAPES[shape]
    root = tmp_path / shape
    (root / "inverter").mkdir(parents=True)
    (root / "inverter" / name).write_bytes(make(3_000))
    (root / "case.yaml").write_text(CASE_YAML, encoding="utf-8")
    view = load_case(root)
    assert [f.used for f in view.files] == [True]
    assert view.events.parts and all(p.objects is None for p in view.events.parts)  # columns
    from_columns = diagnose(view)
    assert len(view.events.built()) < 50  # the rows the findings quote
    monkeypatch.setattr(columns, "_COLUMN_READERS", {})
    rows_view = load_case(root)
    assert all(p.objects is not None for p in rows_view.events.parts)  # one object per row
    assert _json(from_columns) == _json(diagnose(rows_view))
    assert from_columns.findings
    assert list(_checker(validator).check(root, _json(from_columns))) == []
