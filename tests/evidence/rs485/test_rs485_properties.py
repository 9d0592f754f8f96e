"""Property tests: encode → decode round trips for every RS485 message; arbitrary bytes never raise."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from pylondiag.evidence.rs485 import (
    Frame,
    FrameIssue,
    decode_frame,
    decode_payload,
    encode_frame,
    encode_payload,
    infer_command,
    read_rs485,
)
from pylondiag.evidence.rs485.payloads import (
    KELVIN_OFFSET_DK,
    AlarmModule,
    AlarmReply,
    AnalogModule,
    AnalogReply,
    Management,
    ManufacturerInfo,
    Payload,
    PayloadError,
    ProtocolVersion,
    SerialNumber,
    SoftwareVersion,
    SystemAlarm,
    SystemAnalog,
    SystemParameters,
    temp_c,
)

SETTINGS = settings(max_examples=120, deadline=None)
u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
s16 = st.integers(-0x8000, 0x7FFF)
temp = s16.map(temp_c)
deci = s16.map(lambda v: v / 10)


@st.composite
def analog_module(draw: st.DrawFn) -> AnalogModule:
    ud = draw(st.sampled_from([2, 4, 0, 3]))
    cap = st.integers(0, 0xFFFFFF) if ud > 2 else u16
    return AnalogModule(
        cells_mv=tuple(draw(st.lists(s16, min_size=0, max_size=16))),
        temps_c=tuple(draw(st.lists(temp, min_size=0, max_size=7))),
        current_a=draw(deci),
        voltage_mv=draw(u16),
        remaining_mah=draw(cap),
        total_mah=draw(cap),
        cycles=draw(u16),
        user_defined=ud,
    )


@st.composite
def analog_reply(draw: st.DrawFn) -> AnalogReply:
    mods = tuple(draw(st.lists(analog_module(), min_size=1, max_size=4)))
    command = len(mods) if len(mods) > 1 else draw(u8)
    return AnalogReply(draw(u8), command, mods, all_modules=len(mods) > 1)


states = st.sampled_from([0x00, 0x01, 0x02, 0xF0])


@st.composite
def alarm_reply(draw: st.DrawFn) -> AlarmReply:
    mods = tuple(
        AlarmModule(
            cell_states=tuple(draw(st.lists(states, min_size=0, max_size=16))),
            temp_states=tuple(draw(st.lists(states, max_size=6))),
            charge_current_state=draw(states),
            module_voltage_state=draw(states),
            discharge_current_state=draw(states),
            status=(draw(u8), draw(u8), draw(u8), draw(u8), draw(u8)),
        )
        for _ in range(draw(st.integers(1, 4)))
    )
    command = len(mods) if len(mods) > 1 else draw(u8)
    return AlarmReply(draw(u8), command, mods, all_modules=len(mods) > 1)


ascii_text = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1)

payloads: st.SearchStrategy[tuple[int, Payload]] = st.one_of(
    analog_reply().map(lambda p: (0x42, p)),
    alarm_reply().map(lambda p: (0x44, p)),
    st.builds(
        SystemParameters,
        cell_high_mv=u16,
        cell_low_mv=u16,
        cell_under_mv=u16,
        charge_high_temp_c=temp,
        charge_low_temp_c=temp,
        charge_current_a=deci,
        module_high_mv=u16,
        module_low_mv=u16,
        module_under_mv=u16,
        discharge_high_temp_c=temp,
        discharge_low_temp_c=temp,
        discharge_current_a=deci,
    ).map(lambda p: (0x47, p)),
    st.builds(Management, command=u8, charge_voltage_mv=u16, discharge_voltage_mv=u16, charge_current_a=deci,
              discharge_current_a=deci, status=u8).map(lambda p: (0x92, p)),
    st.builds(Management, command=st.none(), charge_voltage_mv=u16, discharge_voltage_mv=u16,
              charge_current_a=deci, discharge_current_a=deci, status=u8).map(lambda p: (0x63, p)),
    st.builds(SerialNumber, command=u8, serial=ascii_text.map(lambda s: s[:16])).map(lambda p: (0x93, p)),
    st.builds(
        ManufacturerInfo,
        device_name=ascii_text.map(lambda s: s[:10]),
        software_version=st.tuples(u8, u8),
        manufacturer=st.text(alphabet="Pylontech", min_size=1, max_size=20),
    ).map(lambda p: (0x51, p)),
    st.builds(SoftwareVersion, command=u8, manufacture=st.tuples(u8, u8), mainline=st.tuples(u8, u8, u8)).map(
        lambda p: (0x96, p)
    ),
    st.builds(SystemAlarm, alarm1=u8, alarm2=u8, protect1=u8, protect2=u8).map(lambda p: (0x62, p)),
    u8.map(lambda v: (0x4F, ProtocolVersion(v))),
    st.builds(
        SystemAnalog,
        voltage_mv=u16,
        current_raw=s16,
        soc_pct=u8,
        avg_cycles=u16,
        max_cycles=u16,
        avg_soh_pct=u8,
        min_soh_pct=u8,
        max_cell_mv=u16,
        min_cell_mv=u16,
        temps_c=st.fixed_dictionaries({f"{g}_{k}": temp for g in ("cell", "mos", "bms") for k in ("avg", "max", "min")}),  # noqa: E501
        locations=st.fixed_dictionaries(
            {k: u16 for k in ("max_cell", "min_cell", "cell_max", "cell_min", "mos_max", "mos_min", "bms_max", "bms_min")}  # noqa: E501
        ),
    ).map(lambda p: (0x61, p)),
)  # fmt: skip


@SETTINGS
@given(st.tuples(u8, u8, u8, u8), st.binary(max_size=300))
def test_frame_round_trip(head: tuple[int, int, int, int], info: bytes) -> None:
    frame = Frame(*head, info=info)
    wire = encode_frame(frame)
    assert wire.startswith(b"~") and wire.endswith(b"\r") and wire[1:-1].upper() == wire[1:-1]
    assert decode_frame(wire) == frame


@SETTINGS
@given(payloads)
def test_payload_round_trip(item: tuple[int, Payload]) -> None:
    command, payload = item
    info = encode_payload(payload)
    ver = payload.version if isinstance(payload, ProtocolVersion) else 0x20
    assert decode_payload(command, info, ver) == payload


@SETTINGS
@given(payloads, st.integers(1, 0x7F))
def test_capture_round_trip_request_then_reply(item: tuple[int, Payload], adr: int) -> None:
    """A capture line pair (request, reply) built by the encoder is read back to the same payload."""
    command, payload = item
    ver = payload.version if isinstance(payload, ProtocolVersion) else 0x20
    req = encode_frame(Frame(0x20, adr, 0x46, command, bytes([adr])))
    rep = encode_frame(Frame(ver, adr, 0x46, 0x00, encode_payload(payload)))
    text = b"2026-11-18T07:12:40.120 > " + req + b"\n2026-11-18T07:12:40.180 < " + rep + b"\n"
    log = read_rs485(text, "rs485/poll.txt")
    assert not log.warnings
    req_rec, rep_rec = log.records
    assert req_rec.line == 1 and req_rec.is_request and req_rec.command == command
    assert rep_rec.line == 2 and rep_rec.content == payload and rep_rec.request_line == 1
    assert rep_rec.direction == "<" and rep_rec.time is not None


@SETTINGS
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    got = decode_frame(data)
    assert isinstance(got, Frame | FrameIssue)
    for command in (0x42, 0x44, 0x47, 0x4F, 0x51, 0x61, 0x62, 0x63, 0x92, 0x93, 0x96, 0x00):
        with contextlib.suppress(PayloadError):
            decode_payload(command, data)
    infer_command(data)
    read_rs485(data, "fuzz")


frameish = st.lists(
    st.sampled_from([b"~", b"\r", b"\n", b"2002", b"4600", b"4642", b"E002", b"FF", b"FD09", b"> ", b"RX ", b"#", b"0F"])  # noqa: E501
    | st.binary(max_size=4),
    max_size=60,
).map(b"".join)  # fmt: skip


@SETTINGS
@given(frameish)
def test_frame_like_text_never_raises_and_warnings_name_real_lines(data: bytes) -> None:
    log = read_rs485(data, "fuzz")
    n_lines = log.lines
    assert all(1 <= w.line <= n_lines for w in log.warnings)
    assert all(1 <= r.line <= n_lines for r in log.records)


def test_raw_byte_capture_frames_back_to_back() -> None:
    """A sniffer dump: frames each ended by CR, no LF, noise before the first."""
    req = encode_frame(Frame(0x20, 2, 0x46, 0x42, b"\x02"))
    module = AnalogModule((3300,) * 15, (20.0,) * 5, -1.5, 49500, 40000, 50000, 10, 2)
    rep = encode_frame(Frame(0x20, 2, 0x46, 0, encode_payload(AnalogReply(0x10, 2, (module,), False))))
    data = b"\x00\xff" + req + rep + req + rep[:30]
    log = read_rs485(data, "rs485/raw.bin")
    assert [r.line for r in log.records] == [1, 2, 3]
    assert log.records[1].content == AnalogReply(0x10, 2, (module,), False)
    assert [w.line for w in log.warnings] == [1, 4]  # noise before the first frame; the cut last frame
    assert log.warnings[1].message.startswith("bad frame")
    assert KELVIN_OFFSET_DK == 2731
