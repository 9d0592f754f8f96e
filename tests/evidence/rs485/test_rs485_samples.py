"""Every real RS485 frame of ``shared/domain/protocols/samples_rs485_*`` decodes to the values the notes give.

The sample files are read in place; frames are picked by their leading characters so that the test
breaks loudly if a sample changes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pylondiag.evidence.rs485 import (
    Frame,
    FrameIssue,
    decode_frame,
    decode_payload,
    infer_command,
    read_rs485,
)
from pylondiag.evidence.rs485.payloads import (
    AlarmReply,
    AnalogReply,
    Management,
    ManufacturerInfo,
    SerialNumber,
    SystemAnalog,
    SystemParameters,
)
from shared_paths import SHARED

PROTOCOLS = SHARED / "domain" / "protocols"
KNOWN_BAD = ("~1203400456ABCEFEFC72", "~20024600F07A11020F0D450D440D450D440D450D440D3E0D450D4A0D4A0D4B0D4A")
"""Flagged in the samples as wrong checksums printed in the V3.3 PDF."""


def _sample_frames() -> list[str]:
    if not PROTOCOLS.is_dir():
        pytest.skip(f"{PROTOCOLS} not found (set PYLONDIAG_SHARED)")
    out = []
    for path in sorted(PROTOCOLS.glob("samples_rs485_*")):
        for line in path.read_text().splitlines():
            text = line.strip()
            if text.startswith(("TX ", "RX ")):
                text = text[3:]
            if text.startswith("~"):
                out.append(text)
    return out


def _frame(prefix: str) -> Frame:
    hits = [f for f in _sample_frames() if f.startswith(prefix)]
    assert hits, f"no sample frame starts with {prefix}"
    fr = decode_frame(hits[0])
    assert isinstance(fr, Frame), fr
    return fr


def _reply(prefix: str, command: int | None = None) -> object:
    fr = _frame(prefix)
    assert fr.is_reply and fr.cid2 == 0
    cmd = command if command is not None else infer_command(fr.info)
    assert cmd is not None
    return decode_payload(cmd, fr.info, fr.ver)


def test_every_sample_frame_passes_both_checksums_except_the_known_bad_ones() -> None:
    frames = _sample_frames()
    assert len(frames) >= 30
    for text in frames:
        got = decode_frame(text)
        if text.startswith(KNOWN_BAD):
            assert isinstance(got, FrameIssue) and "checksum" in got.message
        else:
            assert isinstance(got, Frame), (text[:40], got)


def test_known_bad_vectors_give_the_checksum_the_notes_compute() -> None:
    pdf = decode_frame("~1203400456ABCEFEFC72")
    assert isinstance(pdf, FrameIssue) and "FC71" in pdf.message
    fhem = decode_frame("~200F4644E0020FFCFE")
    assert isinstance(fhem, FrameIssue) and "FD09" in fhem.message
    assert isinstance(decode_frame("~200F4644E0020FFD09"), Frame)


def test_every_sample_reply_decodes_to_a_payload() -> None:
    for text in _sample_frames():
        fr = decode_frame(text)
        if isinstance(fr, Frame) and fr.is_reply:
            cmd = infer_command(fr.info)
            assert cmd is not None, text[:40]
            decode_payload(cmd, fr.info, fr.ver)


def test_steppuhn_analog_adr2() -> None:
    r = _reply("~20024600C06E10020F0C9A")
    assert isinstance(r, AnalogReply) and r.infoflag == 0x10 and r.command == 2 and not r.all_modules
    (m,) = r.modules
    assert len(m.cells_mv) == 15 and m.cells_mv[0] == 3226 and m.cells_mv[-1] == 3225
    assert min(m.cells_mv) == 3224 and max(m.cells_mv) == 3228
    assert m.temps_c == (20.1, 17.0, 17.2, 16.8, 18.4)
    assert m.current_a == 0.0 and m.voltage_mv == 48390
    assert (m.remaining_mah, m.total_mah, m.cycles, m.user_defined) == (6415, 50000, 132, 2)
    assert m.soc_pct == 13  # 12.8 % rounded


def test_us2000_three_modules_ff() -> None:
    r = _reply("~20024600914211030F")
    assert isinstance(r, AnalogReply) and r.all_modules and len(r.modules) == 3
    m = r.modules[0]
    assert m.current_a == -2.6 and m.voltage_mv == 49545
    assert (m.remaining_mah, m.total_mah, m.cycles) == (33500, 50000, 31)
    assert m.temps_c[0] == 23.0 and set(m.temps_c[1:]) == {22.0}


def test_us3000_four_modules_24bit_capacities() -> None:
    r = _reply("~2002460061DC11040F")
    assert isinstance(r, AnalogReply) and len(r.modules) == 4
    m = r.modules[0]
    assert m.current_a == 0.0 and m.voltage_mv == 49857
    assert (m.remaining_mah, m.total_mah, m.cycles, m.user_defined) == (61420, 74000, 47, 4)


def test_mixed_stack_us3000_master_and_us2000() -> None:
    """The sample's note says module 1 uses user-defined 02 (a shorter record). The bytes say 04: its 50 Ah
    travels in the 24-bit field (0x00C350) and both records are 59 B (LENID 0x0F0 = 2 + 2 x 59 B). The
    values the note asserts hold; the record-length claim does not (recorded in the bus note)."""
    r = _reply("~2002460010F011020F")
    assert isinstance(r, AnalogReply) and len(r.modules) == 2
    a, b = r.modules
    assert (a.cycles, a.remaining_mah, a.total_mah, a.user_defined) == (564, 32560, 74000, 4)
    assert (b.cycles, b.remaining_mah, b.total_mah, b.user_defined) == (658, 24500, 50000, 4)


def test_records_of_different_length_in_one_reply() -> None:
    """A UD=2 record (53 B) after a UD=4 one (59 B): parsed field by field, never by stride (§6.1)."""
    from pylondiag.evidence.rs485.payloads import encode_analog

    us3000 = _reply("~2002460061DC11040F")
    us2000 = _reply("~20024600914211030F")
    assert isinstance(us3000, AnalogReply) and isinstance(us2000, AnalogReply)
    mixed = AnalogReply(0x11, 2, (us3000.modules[0], us2000.modules[0]), True)
    info = encode_analog(mixed)
    assert len(info) == 2 + 59 + 53
    assert decode_payload(0x42, info) == mixed


def test_up2500_eight_cells() -> None:
    r = _reply("~20024600D05E1002080D02")
    assert isinstance(r, AnalogReply)
    (m,) = r.modules
    assert len(m.cells_mv) == 8 and m.current_a == -0.6 and m.voltage_mv == 26638
    assert (m.remaining_mah, m.total_mah, m.cycles) == (95460, 111000, 0)


def test_up2500_management() -> None:
    r = _reply("~20024600B014026EF05AA0022BFDD5C0F915")
    assert isinstance(r, Management)
    assert (r.charge_voltage_mv, r.discharge_voltage_mv) == (28400, 23200)
    assert (r.charge_current_a, r.discharge_current_a) == (55.5, -55.5)
    assert r.status == 0xC0 and r.charge_enable and r.discharge_enable
    assert not (r.force_charge_1 or r.force_charge_2 or r.full_charge_request)


def test_serial_numbers() -> None:
    a = _reply("~20024600C0220248")
    b = _reply("~20034600C0220348")
    assert isinstance(a, SerialNumber) and a.serial == "HPTCR03171112590" and a.command == 2
    assert isinstance(b, SerialNumber) and b.serial == "HPTBH02240A01235" and b.command == 3


def test_alarm_info_single_pack_with_the_extra_trailing_byte() -> None:
    fr = _frame("~20024600A04210020F")
    assert len(fr.info) == 33  # one more than V3.3 predicts (rs485.md §6.2 quirk)
    r = decode_payload(0x44, fr.info)
    assert isinstance(r, AlarmReply)
    (m,) = r.modules
    assert set(m.cell_states) == {0} and m.status == (0, 0x0E, 0, 0, 0)
    assert m.charge_mosfet_on and m.discharge_mosfet_on and m.protections == ()


def test_alarm_info_four_modules_first_under_voltage() -> None:
    r = _reply("~20024600D0F400040F01")
    assert isinstance(r, AlarmReply) and r.all_modules and len(r.modules) == 4
    first = r.modules[0]
    assert set(first.cell_states) == {1} and first.status[0] == 0x02 and first.status[2] == 0x40
    assert first.protections == ("cell under-voltage",)
    assert all(set(m.cell_states) == {0} for m in r.modules[1:])


def test_manufacturer_info() -> None:
    a = _reply("~20024600C04055533230303043")
    b = _reply("~20024600C0405553324B42504C")
    assert isinstance(a, ManufacturerInfo) and (a.device_name, a.software_version) == ("US2000C", (1, 7))
    assert a.manufacturer == "Pylon"
    assert isinstance(b, ManufacturerInfo) and (b.device_name, b.software_version) == ("US2KBPL", (2, 4))


def test_system_parameters() -> None:
    r = _reply("~20024600B032110E42")
    assert isinstance(r, SystemParameters)
    assert (r.cell_high_mv, r.cell_low_mv, r.cell_under_mv) == (3650, 3050, 2900)
    assert (r.charge_high_temp_c, r.charge_low_temp_c, r.charge_current_a) == (61.0, -11.0, 102.0)
    assert (r.module_high_mv, r.module_low_mv, r.module_under_mv) == (54000, 46000, 44500)
    assert (r.discharge_high_temp_c, r.discharge_low_temp_c, r.discharge_current_a) == (61.0, -11.0, -100.0)


def test_system_analog_0x61() -> None:
    r = _reply("~200246008062C2BF")
    assert isinstance(r, SystemAnalog)
    assert (r.voltage_mv, r.current_raw, r.soc_pct) == (49855, 0, 85)
    assert (r.avg_cycles, r.max_cycles, r.avg_soh_pct, r.min_soh_pct) == (8, 8, 100, 100)
    assert (r.max_cell_mv, r.min_cell_mv) == (3324, 3323)
    assert all(25.0 <= t <= 26.5 for t in r.temps_c.values())


def test_requests_from_fhem_and_steppuhn() -> None:
    fr = decode_frame("~0002464F0000FD9A")
    assert isinstance(fr, Frame) and not fr.is_reply and fr.cid2 == 0x4F and fr.ver == 0
    fr = decode_frame("~20024642E002FFFD09")
    assert isinstance(fr, Frame) and fr.info == b"\xff"
    fr = decode_frame("~200A4642E0020AFD15")
    assert isinstance(fr, Frame) and fr.adr == 0x0A and fr.info == b"\x0a"


def test_sample_file_read_as_capture_pairs_replies_with_requests() -> None:
    path = PROTOCOLS / "samples_rs485_misc_public_sources.txt"
    if not path.exists():
        pytest.skip("samples not found")
    log = read_rs485(path.read_bytes(), path.name)
    serial = [r for r in log.records if isinstance(r.content, SerialNumber)]
    assert [s.content.serial for s in serial] == ["HPTCR03171112590", "HPTBH02240A01235"]  # type: ignore[union-attr]
    assert all(s.request_line is not None and s.request_line == s.line - 1 for s in serial)
    lines = Path(path).read_text().splitlines()
    for rec in log.records:
        assert rec.raw.strip() in lines[rec.line - 1]
    bad = {w.line for w in log.warnings}
    assert any("FC71" in w.message for w in log.warnings)
    assert all(lines[n - 1].lstrip().startswith("~") for n in bad)
