"""On-site specification and the flattening of console records: plain copies, nothing invented."""

from __future__ import annotations

import report_samples as samples

from pylondiag.model.console import PwrRow, PwrTable
from pylondiag.model.diagnosis import Action, Verdict
from pylondiag.report.data import ModuleFacts, ReportData, from_console
from pylondiag.report.onsite import on_site_section
from pylondiag.report.words import GENERIC_SAFETY


def test_no_site_visit_no_specification() -> None:
    for builder in (samples.rebalance, samples.no_fault, samples.monitor, samples.insufficient):
        d, data = builder()
        assert on_site_section(d, data) is None


def test_replacement_part_is_the_culprits_model() -> None:
    d, data = samples.replace()
    spec = on_site_section(d, data)
    assert spec is not None
    assert any(p.startswith("1 × US2000C replacement module for position 2") for p in spec.parts)
    assert spec.parts[0] == "Power cable set for one module"  # the diagnosis' own parts come first
    assert spec.work == ("Remove module 2 from the stack", "Fit the replacement and re-make the link chain")
    assert spec.checks_after == ("pwr shows 3 modules", "bat 2 spread below 30 mV after a full charge")


def test_unknown_model_asks_to_read_the_label() -> None:
    d, _ = samples.replace()
    d = d.model_copy(update={"modules": [m.model_copy(update={"model": None}) for m in d.modules]})
    spec = on_site_section(d, ReportData())
    assert spec is not None
    assert any("model not known" in p for p in spec.parts)


def test_part_already_named_by_the_diagnosis_is_not_repeated() -> None:
    d, data = samples.replace()
    assert d.on_site_spec is not None
    spec_in = d.on_site_spec.model_copy(update={"parts": ["1 x US2000C, same batch if possible"]})
    spec = on_site_section(d.model_copy(update={"on_site_spec": spec_in}), data)
    assert spec is not None
    assert sum("US2000C" in p for p in spec.parts) == 1


def test_link_causes_bring_a_cable_and_safety_is_complete() -> None:
    d, data = samples.on_site_check()
    spec = on_site_section(d, data)
    assert spec is not None
    assert any("RJ45 link cable" in p for p in spec.parts)
    assert spec.safety == tuple(d.safety)
    reconf, reconf_data = samples.reconfigure()
    assert reconf.safety == []
    spec2 = on_site_section(reconf, reconf_data)
    assert spec2 is not None and spec2.safety == GENERIC_SAFETY  # never an empty safety list


def test_dip_reference_only_for_dip_causes() -> None:
    d, data = samples.reconfigure()
    spec = on_site_section(d, data)
    assert spec is not None and spec.dip_reference is not None
    assert [s.where for s in spec.settings] == ["position 3"]
    assert spec.dip_found[0] == ("1", "US5000", "0000", "master", "–")
    d2, data2 = samples.on_site_check()
    spec2 = on_site_section(d2, data2)
    assert spec2 is not None and spec2.dip_reference is None


def test_without_a_work_list_the_on_site_actions_are_the_work() -> None:
    d, data = samples.replace()
    assert d.on_site_spec is not None
    d = d.model_copy(update={"on_site_spec": d.on_site_spec.model_copy(update={"work": []})})
    spec = on_site_section(d, data)
    assert spec is not None
    assert spec.work == tuple(a.text for a in d.actions if a.on_site)


def test_actions_only_on_site_make_a_specification() -> None:
    d, data = samples.rebalance()
    d = d.model_copy(update={"actions": [Action(step=1, text="Reseat the link cable", on_site=True)]})
    spec = on_site_section(d, data)
    assert spec is not None and spec.work == ("Reseat the link cable",)


def test_console_records_map_to_positions_and_owner_values_win() -> None:
    recs = samples.stack_records(3, bad={2: samples.REAL_IMBALANCE_MV}, hv={2: 25})
    owner = [ModuleFacts(position=1, address=1, model="US3000C", serial="OWNER-1", led="green")]
    data = from_console(recs, modules=owner)
    assert [m.position for m in data.modules] == [1, 2, 3]
    m1, m2 = data.modules[0], data.modules[1]
    assert m1.serial == "OWNER-1" and m1.led == "green" and m1.firmware == "B67.5.0"
    assert m2.serial == "PPTBH024000002" and m2.soh_pct == 99 and m2.cycles == 300
    cells = data.latest_cells()
    assert cells[2].spread_mv == 3469 - 3345
    assert cells[2].cell_ids == tuple(range(15))
    assert {c.position for c in data.counters} == {1, 2, 3}
    assert next(c for c in data.counters if c.position == 2).counters["Bat HV Times"] == 25


def test_absent_rows_and_unmapped_addresses_are_left_out() -> None:
    prov = samples.prov(2)
    table = PwrTable(
        columns=("Power",),
        rows=(
            PwrRow(address=1, voltage_mv=50000, temperature_mc=20000, provenance=prov),
            PwrRow(address=2, absent=True, provenance=prov),
            PwrRow(address=9, voltage_mv=50000, temperature_mc=20000, provenance=prov),
        ),
        provenance=prov,
    )
    data = from_console([table], position_of=lambda a: {1: 1}.get(a) if a is not None else None)
    assert [t.position for t in data.temps] == [1]
    assert [m.position for m in data.modules] == [1]


def test_verdicts_without_observations_still_render() -> None:
    d, _ = samples.rebalance()
    assert all(m.verdict in (Verdict.OK, Verdict.REBALANCE) for m in d.modules)
    assert on_site_section(d, ReportData()) is None
