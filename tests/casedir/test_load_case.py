"""The case reader: strict case.yaml with clear errors, content sniffing, gaps, address mapping."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from pylondiag.casedir import load_case
from pylondiag.casedir.caseyaml import parse_case_yaml
from pylondiag.errors import CaseError

PWR = (
    "pylon>pwr\n@\n"
    "Power Volt   Curr   Tempr  Tlow   Thigh  Vlow   Vhigh  Base.St  Volt.St  Curr.St  Temp.St  Coulomb  "
    "Time                 B.V.St   B.T.St\n"
    "1     50691  3806   17000  13000  14000  3378   3381   Charge   Normal   Normal   Normal   89%      "
    "2026-11-20 09:53:06  Normal   Normal\n"
    "2     50673  4087   16000  13000  14000  3377   3380   Charge   Normal   Normal   Normal   89%      "
    "2026-11-20 09:53:04  Normal   Normal\n"
    "3     -      -      -      -      -      -      -      Absent   -        -        -        -        "
    "-                    -        -\n"
    "Command completed successfully\n$$\npylon>"
)
BAT_PLAIN = (
    "pylon>bat\n@\nBattery  Volt     Curr     Tempr    Base State   Volt. State  Curr. State  Temp. State  "
    "Coulomb\n"
    + "".join(
        f"{i:<9}3379     0        14000    Idle         Normal       Normal       Normal        89%      "
        "42586 mAH\n"
        for i in range(15)
    )
    + "Command completed successfully\n$$\npylon>"
)


def write(d: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode() if isinstance(content, str) else content)
    return d


def yaml_of(**kw: object) -> str:
    return yaml.safe_dump({"schema": "pylondiag.case/1", **kw}, sort_keys=False)


# ---------------------------------------------------------------- case.yaml errors
@pytest.mark.parametrize(
    ("text", "line", "key", "says"),
    [
        (
            "schema: pylondiag.case/1\nstack:\n  - position: 1\n    led: blue\n",
            4,
            "stack[0].led",
            "green_flashing",
        ),
        (
            "schema: pylondiag.case/1\nstack:\n  - position: 1\n    colour: red\n",
            4,
            "stack[0].colour",
            "allowed here",
        ),
        ("schema: pylondiag.case/1\nsymptoms: [slow_charging]\n", 2, "symptoms[0]", "not_charging"),
        ("schema: pylondiag.case/1\ninverter:\n  brand: huawei\n", 3, "inverter.brand", "sunsynk"),
        ("schema: pylondiag.case/1\nstack:\n  - position: 1\n    dip: 12\n", 4, "stack[0].dip", "quotes"),
        ("schema: pylondiag.case/1\nstack:\n  - position: 1\n    dip: '0002'\n", 4, "stack[0].dip", "0/1"),
        (
            "schema: pylondiag.case/1\nstack:\n  - position: 0\n",
            3,
            "stack[0].position",
            "greater than or equal",
        ),
        (
            "schema: pylondiag.case/1\ninverter:\n  charge_voltage_v: 530\n",
            3,
            "inverter.charge_voltage_v",
            "64",
        ),
        ("schema: pylondiag.case/1\nstack:\n  - model: US2000C\n", 3, "stack[0].position", "required"),
        ("schema: pylondiag.case/2\n", 1, "schema", "pylondiag.case/1"),
        ("case_id: x\n", 1, "schema", "schema: pylondiag.case/1"),
        (
            "schema: pylondiag.case/1\nhistory:\n  - date: yesterday\n    event: moved\n",
            3,
            "history[0].date",
            "date",
        ),
        (
            "schema: pylondiag.case/1\nstack:\n  - position: 1\n    installed: June 2019\n",
            4,
            "stack[0].installed",
            "2019-06",
        ),
        ("schema: pylondiag.case/1\nsite:\n  timezone: Mars/Olympus\n", 3, "site.timezone", "IANA"),
    ],
)
def test_case_yaml_errors_name_line_key_and_fix(text, line, key, says):
    with pytest.raises(CaseError) as ei:
        parse_case_yaml(text.encode(), "case.yaml")
    e = ei.value
    assert e.line == line, str(e)
    assert e.key == key, str(e)
    assert says in str(e) and "Fix:" in str(e) and "case.yaml" in str(e)


@pytest.mark.parametrize(
    ("model", "led", "want"),
    [
        ("us2000c", "Red flashing", ("US2000C", "red_flashing")),
        ("US 5000", "flashing red", ("US5000", "red_flashing")),
        ("US3000-C", "orange", ("US3000C", "amber")),
        ("US5000 1C", "blinking amber", ("US5000-1C", "amber_flashing")),
        ("US2000B", "green-flashing", ("US2000B", "green_flashing")),
        ("other", "Off", ("other", "off")),
        ("US2000C", "solid red", ("US2000C", "red")),
        ("US2000C", "red (blinking)", ("US2000C", "red_flashing")),
        ("US2000C", "Green, flashing slowly", ("US2000C", "green_flashing")),
        ("US2000C", "steady green", ("US2000C", "green")),
        ("US2000C", "orange light", ("US2000C", "amber")),
        ("US2000C", "no light", ("US2000C", "off")),
        ("US2000C", "not lit", ("US2000C", "off")),
    ],
)
def test_models_and_lights_as_owners_write_them(model, led, want):
    """Case, spaces, hyphens and word order as owners write them: read as the spec's words."""
    cf = parse_case_yaml(yaml_of(stack=[{"position": 1, "model": model, "led": led}]).encode())
    assert (cf.stack[0].model.value, cf.stack[0].led.value) == want


@pytest.mark.parametrize("written", ["0000", "0010", "0100", "1000", "1011", "0111"])
def test_unquoted_dip_switches_are_kept_exactly_as_written(written):
    """YAML 1.1 reads 0010 as octal 8 and 1000 as a thousand; the switches come from the text."""
    cf = parse_case_yaml(f"schema: pylondiag.case/1\nstack:\n  - position: 1\n    dip: {written}\n".encode())
    assert cf.stack[0].dip == written


def test_duplicate_positions_are_an_error():
    text = "schema: pylondiag.case/1\nstack:\n  - position: 1\n  - position: 1\n"
    with pytest.raises(CaseError, match="used twice"):
        parse_case_yaml(text.encode())


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"schema: pylondiag.case/1\nstack: [\n", "YAML syntax error"),
        (b"", "empty"),
        (b"- a\n- b\n", "mapping"),
        (b"\xff\xfeschema", "UTF-8"),
    ],
)
def test_unreadable_case_yaml(data, says):
    with pytest.raises(CaseError, match=says):
        parse_case_yaml(data)


def test_valid_case_yaml_round_trip():
    text = yaml_of(
        case_id="c1",
        observed_at="2026-11-20T08:15",
        site={"timezone": "Europe/London", "ambient_c": 4},
        inverter={"brand": "sunsynk", "battery_protocol": 0, "configured_modules": 4},
        stack=[
            {
                "position": 1,
                "model": "US3000C",
                "installed": "2019-06",
                "led": "amber",
                "dip": "0000",
                "role": "master",
                "address": 1,
                "serial": 12345,
            }
        ],
        symptoms=["whole_bank_shutdown"],
        history=[{"date": "2026-09-12", "event": "modules_added"}],
    )
    c = parse_case_yaml(text.encode())
    assert c.stack[0].installed == "2019-06" and c.stack[0].serial == "12345"
    assert c.inverter is not None and c.inverter.battery_protocol == "0"


# ---------------------------------------------------------------- directories and files
def test_missing_path():
    with pytest.raises(CaseError, match="no such file"):
        load_case(Path("/nonexistent/case"))


def test_empty_directory(tmp_path):
    v = load_case(tmp_path)
    assert v.modules == [] and not v.has_console() and v.gaps == []


def test_single_file_case(tmp_path):
    f = write(tmp_path, {"pwr.txt": PWR}) / "pwr.txt"
    v = load_case(f)
    assert v.case_id == "pwr" and [m.position for m in v.modules] == [1, 2]
    assert v.pwr[0].source == "pwr.txt"


def test_binary_junk_and_unrecognised_text_are_gaps(tmp_path):
    write(
        tmp_path,
        {
            "console/pwr.txt": PWR,
            "console/junk.bin": os.urandom(4096),
            "inverter/notes.txt": "hello\n",
            "console/empty.txt": "",
        },
    )
    v = load_case(tmp_path)
    assert v.pwr, "the good file is still read"
    text = " ".join(g.text for g in v.gaps)
    assert "console/junk.bin: not recognised (binary data)" in text
    assert "inverter/notes.txt: not recognised (text)" in text
    assert "console/empty.txt: the file is empty" in text


def test_utf16_inverter_export_is_read_not_called_binary(tmp_path):
    """Windows tools save CSV as UTF-16 with a BOM: NUL bytes everywhere, but still an event log."""
    csv = "time,code,message,severity\r\n2026-11-18 07:12:40,F58,BMS_Comm_Fail,fault\r\n"
    (tmp_path / "inverter").mkdir()
    (tmp_path / "inverter/events.csv").write_bytes(csv.encode("utf-16"))
    v = load_case(tmp_path)
    assert [e.code for e in v.events if e.origin == "inverter"] == ["F58"]
    assert not any("binary" in g.text for g in v.gaps)


def test_unreadable_file_is_a_gap(tmp_path, monkeypatch):
    """A file the OS refuses (permissions; CI runs as root, where chmod 0 does not stop a read)."""
    write(tmp_path, {"console/locked.txt": PWR, "console/pwr.txt": PWR})
    real = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    v = load_case(tmp_path)
    assert any("console/locked.txt" in g.text and "cannot be read" in g.text for g in v.gaps)
    assert v.pwr, "the readable file is still diagnosed"


def test_file_in_wrong_folder_is_read_by_content(tmp_path):
    write(tmp_path, {"inverter/pwr.txt": PWR})
    v = load_case(tmp_path)
    assert v.pwr and any("its content is a console" in g.text for g in v.gaps)


def test_can_frames_are_read_into_bus_facts(tmp_path):
    write(
        tmp_path,
        {
            "can/dump.log": "(1700000000.000000) can0 351#1402E803E8030000\n(1700000000.100000) can0 "
            "355#63006400\n"
        },
    )
    v = load_case(tmp_path)
    assert v.files[0].kind == "can" and v.files[0].used and v.gaps == []
    (req,) = v.bus.requests
    assert (req.charge_voltage_v, req.charge_current_a, req.ref.line) == (53.2, 100.0, 1)
    assert v.bus.links[0].battery_frames == 2


def test_bus_file_without_battery_frames_is_a_gap(tmp_path):
    write(
        tmp_path,
        {"can/dump.log": "(1700000000.000000) can0 123#00\n", "rs485/x.txt": "~20024642E00202FD33\n"},
    )
    v = load_case(tmp_path)
    assert {f.source for f in v.files if not f.used} == {"can/dump.log", "rs485/x.txt"}
    assert all("no battery frame" in g.text for g in v.gaps)


def test_thousand_files(tmp_path):
    files: dict[str, str | bytes] = {f"console/junk_{i:04d}.txt": f"line {i}\n" for i in range(999)}
    files["console/pwr.txt"] = PWR
    write(tmp_path, files)
    t0 = time.perf_counter()
    v = load_case(tmp_path)
    assert time.perf_counter() - t0 < 20
    assert len(v.files) == 1000 and v.pwr


def test_metadata_and_hidden_files_are_not_evidence(tmp_path):
    write(tmp_path, {"expected.json": "{}", ".DS_Store": b"\x00\x01", "README.md": "# case"})
    v = load_case(tmp_path)
    assert v.files == [] and v.gaps == []


def test_case_directory_is_not_modified(tmp_path):
    write(tmp_path, {"case.yaml": yaml_of(stack=[{"position": 1}]), "console/pwr.txt": PWR})
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    load_case(tmp_path)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before


# ---------------------------------------------------------------- address → position
def test_addresses_map_to_positions(tmp_path):
    stack = [{"position": 1, "address": 2}, {"position": 2, "address": 1}]
    write(tmp_path, {"case.yaml": yaml_of(stack=stack), "console/pwr.txt": PWR})
    v = load_case(tmp_path)
    assert v.position_of(1) == 2 and v.position_of(2) == 1


def test_no_stack_position_is_address(tmp_path):
    write(tmp_path, {"console/pwr.txt": PWR})
    v = load_case(tmp_path)
    assert [(m.position, m.address) for m in v.modules] == [(1, 1), (2, 2)]


def test_duplicate_addresses_are_ambiguous_not_guessed(tmp_path):
    stack = [{"position": 1, "address": 1}, {"position": 2, "address": 1}]
    write(tmp_path, {"case.yaml": yaml_of(stack=stack), "console/pwr.txt": PWR, "console/bat.txt": BAT_PLAIN})
    v = load_case(tmp_path)
    assert v.address_conflicts[0].positions == (1, 2)
    assert v.bat[0].position is None
    assert any("could not be assigned" in g.text for g in v.gaps)


def test_plain_bat_goes_to_the_only_module(tmp_path):
    write(tmp_path, {"case.yaml": yaml_of(stack=[{"position": 6}]), "console/bat.txt": BAT_PLAIN})
    v = load_case(tmp_path)
    assert v.bat[0].position == 6 and v.bat[0].assumed_address
    assert any("without a module number" in g.text for g in v.gaps)


def test_captures_ordered_by_time(tmp_path):
    a = "14.07.26 18:09:43\n" + BAT_PLAIN
    b = "13.07.26 19:59:48\n" + BAT_PLAIN
    write(tmp_path, {"console/a.txt": a, "console/b.txt": b})
    v = load_case(tmp_path)
    assert [r.source for r in v.bat] == ["console/b.txt", "console/a.txt"]
    assert v.bat[0].time is not None and v.bat[0].time.tzinfo is not None


def test_dangling_symlink_is_a_gap_not_a_crash(tmp_path):
    write(tmp_path, {"console/pwr.txt": PWR})
    (tmp_path / "console" / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    v = load_case(tmp_path)
    assert v.pwr and any("console/gone.txt: cannot be read" in g.text for g in v.gaps)


INFO_3 = (
    "pylon>info\n@\nDevice address      : 3\nDevice name         : US3000C\n"
    "Command completed successfully\n$$\n"
)


def test_plain_bat_on_a_modules_own_console_uses_its_device_address(tmp_path):
    write(tmp_path, {"console/m3.txt": INFO_3 + BAT_PLAIN})
    v = load_case(tmp_path)
    assert v.bat[0].position == 3 and not v.bat[0].assumed_address
    assert v.module(3) is not None and v.module(3).model == "US3000C"


def test_header_comment_names_the_module(tmp_path):
    stack = [{"position": p} for p in (1, 2, 3)]
    text = "# captured 2026-11-20 15:00 on the console of the module at position 2\n" + BAT_PLAIN
    write(tmp_path, {"case.yaml": yaml_of(stack=stack), "console/m.txt": text})
    v = load_case(tmp_path)
    assert v.console_positions == {"console/m.txt": 2}
    assert v.bat[0].position == 2 and not v.bat[0].assumed_address


def test_lvhub_addresses_repeat_per_group_without_conflict(tmp_path):
    stack = [
        {"position": 1, "role": "master", "dip": "0100", "group": 1, "address": 1},
        {"position": 2, "address": 2},
        {"position": 3, "role": "master", "dip": "0010", "group": 2, "address": 1},
        {"position": 4, "address": 2},
    ]
    write(tmp_path, {"case.yaml": yaml_of(stack=stack)})
    assert load_case(tmp_path).address_conflicts == []


def _blf_of(path: Path, ids: list[int]) -> bytes:
    """A real BLF written by python-can: one frame of each identifier."""
    import can

    with can.Logger(path) as writer:
        for i, arb in enumerate(ids):
            msg = can.Message(
                timestamp=1_700_000_000 + i, arbitration_id=arb, data=bytes(8), is_extended_id=False
            )
            writer.on_message_received(msg)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("can/other.blf", "blf", "a Vector BLF CAN log"),
        ("can/other.log", "(1700000000.000000) can0 123#0000000000000000\n", "CAN frames (candump -l log)"),
    ],
)
def test_a_can_capture_without_battery_frames_is_named_by_the_shape_read(tmp_path, name, content, says):
    """The gap names what the file was read as (it said "candump" for a BLF)."""
    data = _blf_of(tmp_path / "x.blf", [0x123, 0x456]) if content == "blf" else content.encode()
    write(tmp_path / "case", {name: data})
    text = " ".join(g.text for g in load_case(tmp_path / "case").gaps)
    assert f"{name}: recognised as {says} but no battery frame in it could be read" in text
    if content == "blf":
        assert "candump" not in text
