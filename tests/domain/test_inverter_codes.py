"""Code tables: every brand loads, lookups normalise spellings, unverified codes stay marked,
and the tables agree with the domain notes they were taken from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pylondiag.domain import inverter_codes
from pylondiag.domain.inverter_codes import brands, canonical_brand, lookup, normalize_code, table
from pylondiag.model.event import EventKind

CASE_FORMAT_BRANDS = [
    "sunsynk",
    "deye",
    "victron",
    "solis",
    "solax",
    "goodwe",
    "growatt",
    "sofar",
    "sma",
    "foxess",
    "luxpower",
    "givenergy",
]


@pytest.mark.parametrize("brand", CASE_FORMAT_BRANDS)
def test_every_case_format_brand_has_a_table(brand: str) -> None:
    name = canonical_brand(brand)
    assert name is not None
    assert table(brand).brand == name


def test_every_entry_cites_a_listed_source() -> None:
    for name in brands():
        t = table(name)
        for entry in t.codes:
            assert entry.source in t.sources
            assert entry.text.strip()
            assert entry.grade in {"C", "M", "T", "U"}
            assert entry.verified == (entry.grade != "U"), f"{name} {entry.code}: verified flag vs grade"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("F058", "F58"),
        ("f 58", "F58"),
        ("ID 157", "ID157"),
        ("W000", "W0"),
        ("#67", "#67"),
        ("Err 27", "ERR27"),
    ],
)
def test_normalize_code(raw: str, key: str) -> None:
    assert normalize_code(raw) == key


@pytest.mark.parametrize(
    ("brand", "code", "kind"),
    [
        ("deye", "F58", EventKind.BMS_COMMS_LOST),
        ("sunsynk", "W31", EventKind.BMS_COMMS_LOST),
        ("sunsynk", "F51", EventKind.OVER_TEMPERATURE),
        ("solis", "8214", EventKind.BMS_COMMS_LOST),
        ("solis", "0x2012", EventKind.BMS_COMMS_LOST),
        ("sofar", "ID180", EventKind.UNDER_TEMPERATURE),
        ("luxpower", "W000", EventKind.BMS_COMMS_LOST),
        ("foxess", "BMS Lost Fault", EventKind.BMS_COMMS_LOST),
        ("goodwe", "Cell temperature low 2", EventKind.UNDER_TEMPERATURE),
        ("victron", "/Alarms/LowChargeTemperature", EventKind.UNDER_TEMPERATURE),
        ("givenergy", "BMS comms fail", EventKind.BMS_COMMS_LOST),
        ("growatt", "Warning 20", EventKind.BMS_COMMS_LOST),
    ],
)
def test_lookup(brand: str, code: str, kind: EventKind) -> None:
    entry = lookup(brand, code)
    assert entry is not None
    assert entry.kind is kind


def test_unknown_code_or_brand_is_none() -> None:
    assert lookup("sunsynk", "F99") is None
    assert lookup("nosuchbrand", "F58") is None
    assert lookup(None, "F58") is None


def test_a_brand_is_found_from_the_tables_heads_as_from_the_whole_tables() -> None:
    # canonical_brand reads only what is above ``codes:`` in each file (start-up): same answers as the
    # validated tables, and the tables themselves are not loaded for it.
    inverter_codes._brand_index.cache_clear()
    inverter_codes._load_all.cache_clear()
    assert canonical_brand("Deye") == "sunsynk" and canonical_brand("EG4") == "luxpower"
    assert inverter_codes._load_all.cache_info().currsize == 0
    assert inverter_codes._brand_index() == inverter_codes._index_of(inverter_codes._load_all())


def test_unverified_codes_stay_marked() -> None:
    for brand, code in [
        ("victron", "#67"),
        ("solax", "BMS_Lost"),
        ("growatt", "SPF 04"),
        ("solis", "CAN FAIL"),
    ]:
        entry = lookup(brand, code)
        assert entry is not None and entry.verified is False, (brand, code)


def test_sma_has_no_invented_codes() -> None:
    assert table("sma").codes == ()


@pytest.mark.parametrize(
    ("brand", "note", "pattern"),
    [
        ("sofar", "codes_sofar.md", r"\| (ID\d{3})"),
        ("luxpower", "codes_luxpower.md", r"\| ([WE]\d{3}) \|"),
        ("sunsynk", "codes_deye_sunsynk.md", r"\| (F\d{2}|W\d{2}) \|"),
    ],
)
def test_tables_cover_the_domain_notes(shared_dir: Path, brand: str, note: str, pattern: str) -> None:
    text = (shared_dir / "domain" / "inverters" / note).read_text(encoding="utf-8")
    codes = set(re.findall(pattern, text))
    assert codes, "pattern found nothing: the note's layout changed"
    missing = sorted(c for c in codes if lookup(brand, c) is None)
    assert missing == []
