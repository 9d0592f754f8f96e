"""Small literal :class:`CaseView` builders for testing one rule family through ``findings(view)``.

Each builder takes the few figures a test is about and fills the rest with neutral values; every
record carries a :class:`Provenance` so findings can cite it (source ``console/t.txt``, the line given).
"""

from __future__ import annotations

from typing import Any

from pylondiag.model.case import CaseFile, Inverter, StackModule
from pylondiag.model.console import BatCell, BatTable, InfoRecord, Provenance, PwrRow, PwrTable, StatCounters
from pylondiag.model.stack import BatReading, CaseView, InfoReading, ModuleView, PwrSnapshot, StatReading

SRC = "console/t.txt"


def prov(line: int, raw: str = "x") -> Provenance:
    return Provenance(source=SRC, line=line, raw=raw)


def row(address: int, line: int, *, absent: bool = False, **kw: Any) -> PwrRow:
    """One ``pwr`` row; by default a healthy module at 80 %, idle, 20 °C, all states Normal."""
    if absent:
        return PwrRow(
            address=address, absent=True, base_state="Absent", provenance=prov(line, f"{address} -")
        )
    base: dict[str, Any] = {
        "voltage_mv": 52000,
        "current_ma": 0,
        "temperature_mc": 20000,
        "soc_pct": 80,
        "base_state": "Idle",
        "volt_state": "Normal",
        "curr_state": "Normal",
        "temp_state": "Normal",
        "cell_voltage_low_mv": 3320,
        "cell_voltage_high_mv": 3330,
    }
    base.update(kw)
    return PwrRow(address=address, provenance=prov(line, f"{address} {base['voltage_mv']}"), **base)


def pwr(*rows: PwrRow, seq: int = 0) -> PwrSnapshot:
    table = PwrTable(columns=("Power", "Volt"), rows=tuple(rows), provenance=prov(1, "Power Volt Curr"))
    return PwrSnapshot(table=table, time=None, seq=seq, source=SRC)


def bat(position: int, mv: list[int], *, line0: int = 100, current_ma: int = 0, soc: int = 100) -> BatReading:
    cells = tuple(
        BatCell(
            cell=i,
            voltage_mv=v,
            current_ma=current_ma,
            temperature_mc=20000,
            soc_pct=soc,
            provenance=prov(line0 + 1 + i, f"{i} {v}"),
        )
        for i, v in enumerate(mv)
    )
    table = BatTable(
        address=position, columns=("Battery", "Volt"), cells=cells, provenance=prov(line0, "Battery")
    )
    return BatReading(position=position, address=position, time=None, seq=1, source=SRC, table=table)


def stat(position: int, line: int = 200, **counters: int) -> StatReading:
    labels = {k.replace("_", " "): v for k, v in counters.items()}
    st = StatCounters(
        address=position,
        counters=labels,
        lines={k: line + i for i, k in enumerate(labels)},
        provenance=prov(line, "stat"),
    )
    return StatReading(position=position, address=position, time=None, seq=2, source=SRC, stat=st)


def info(position: int, line: int = 300, **kw: Any) -> InfoReading:
    rec = InfoRecord(address=position, provenance=prov(line, "info"), **kw)
    return InfoReading(position=position, address=position, time=None, seq=3, source=SRC, info=rec)


def view(
    stack: list[dict[str, Any]] | None = None, inverter: dict[str, Any] | None = None, **kw: Any
) -> CaseView:
    """A view whose ``case.yaml`` lists ``stack`` (dicts of StackModule fields) and ``inverter``."""
    case = None
    modules: list[ModuleView] = []
    if stack is not None or inverter is not None or "symptoms" in kw or "history" in kw:
        case = CaseFile.model_validate(
            {
                "schema": "pylondiag.case/1",
                "stack": stack or [],
                "inverter": inverter,
                "symptoms": kw.pop("symptoms", []),
                "history": kw.pop("history", []),
            }
        )
        for i, m in enumerate(case.stack):
            fields = StackModule.model_validate(m).model_dump(exclude_none=True)
            fields.pop("position")
            model = fields.pop("model", None)
            modules.append(
                ModuleView(
                    position=m.position,
                    model=str(model) if model else None,
                    stack_index=i,
                    **{k: v for k, v in fields.items() if k in ModuleView.model_fields},
                )
            )
    kw.setdefault("modules", modules)
    return CaseView(case_id="t", case=case, **kw)


__all__ = ["Inverter", "bat", "info", "prov", "pwr", "row", "stat", "view"]
