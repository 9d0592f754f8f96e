"""Read-only by construction: only whitelisted command shapes can leave the link, checked before a write."""

from __future__ import annotations

import re
import time

import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from pylondiag.acquire.link import CommandInFlight, ConsoleLink, _check_outgoing
from pylondiag.acquire.whitelist import (
    ENTER,
    MAX_LOG_ITEM,
    WAKEUP_FRAME,
    CommandRefused,
    allowed_forms,
    canonical,
    encode,
)
from shared_paths import CAPTURES

ALLOWED = frozenset(allowed_forms())


def _help_words() -> list[str]:
    """Every command word in the US2000C B67.5.0 `help` capture, read in place from shared/captures."""
    path = next((CAPTURES / "console").glob("help__US2000C-B67.5.0__*"))
    words = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = re.match(r"([a-z][a-z0-9]+)\s{2,}\S", line)
        if m:
            words.append(m.group(1))
    assert len(words) > 80
    return words


HELP_WORDS = _help_words()


def _loop_link() -> tuple[ConsoleLink, serial.SerialBase]:
    port = serial.serial_for_url("loop://", baudrate=115200, timeout=0.01)
    return ConsoleLink(port, pause_s=0.0), port


def _written(port: serial.SerialBase) -> bytes:
    out = b""
    while port.in_waiting:
        out += port.read(port.in_waiting)
    return out


def test_every_allowed_form_encodes_to_itself_and_cr() -> None:
    assert len(ALLOWED) == 5 * 17 + 3 + 1 + (MAX_LOG_ITEM + 1)  # pwr..info; pwrsys time log; data event
    for form in ALLOWED:
        assert encode(form) == form.encode("ascii") + b"\r"


@pytest.mark.parametrize(
    "bad",
    [
        "login sim",
        "logout",
        "shut",
        "trst",
        "time 2026 12 5 18 0 0",
        "time 2026",
        "config bov 3600",
        "prot sc dis",
        "urates 9600",
        "statc",
        "logc",
        "datac event",
        "save event",
        "updata",
        "m2s",
        "tled 0 on",
        "ctrl cfet off",
        "data history",
        "data event -1",
        "data event 10000",
        "pwr 0",
        "pwr 17",
        "bat 1 2",
        "PWR",
        "pwr\rshut",
        "pwr 1\nshut",
        "pwr 1;shut",
        "bat\t1",
        "info\x001",
        "pwr\u00a01",
        "",
        " ",
        "re 2 shut",
        "help",
    ],
)
def test_write_and_read_modes_of_other_commands_are_refused(bad: str) -> None:
    link, port = _loop_link()
    with pytest.raises(CommandRefused):
        link.send(bad)
    assert _written(port) == b""


def test_every_help_word_except_the_read_commands_is_refused() -> None:
    read_words = {"pwr", "bat", "soh", "stat", "info", "pwrsys", "time", "log"}
    for word in HELP_WORDS:
        if word in read_words:
            assert canonical(word) == word
        else:
            with pytest.raises(CommandRefused):
                canonical(word)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.builds(
            lambda w, a: f"{w} {a}",
            st.sampled_from([*HELP_WORDS, "data event", "data", "time"]),
            st.text(alphabet="0123456789 -abcdefghijklmnopqrstuvwxyz\r\n\t;", max_size=12),
        ),
    )
)
def test_no_other_byte_sequence_can_leave_the_link(text: str) -> None:
    """Whatever text is asked for, the bytes that reach the port are a whitelisted command line
    or nothing at all (the refusal comes before the write)."""
    link, port = _loop_link()
    try:
        sent = link.send(text)
    except CommandRefused:
        assert _written(port) == b""
        return
    assert sent in ALLOWED
    assert _written(port) == sent.encode("ascii") + b"\r"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=30))
def test_the_last_check_before_a_write_refuses_any_other_bytes(data: bytes) -> None:
    allowed = data in (ENTER, WAKEUP_FRAME) or (
        data.endswith(b"\r") and data[:-1].decode("latin-1") in ALLOWED
    )
    if allowed:
        _check_outgoing(data)
    else:
        with pytest.raises(CommandRefused):
            _check_outgoing(data)


def test_one_command_in_flight_and_a_pause_between_commands() -> None:
    port = serial.serial_for_url("loop://", baudrate=115200, timeout=0.01)
    link = ConsoleLink(port, pause_s=0.15)
    link.send("pwr")
    with pytest.raises(CommandInFlight):
        link.send("bat 1")
    assert _written(port) == b"pwr\r"
    link.answered()
    t0 = time.monotonic()
    link.send("bat 1")
    assert time.monotonic() - t0 >= 0.14
    assert _written(port) == b"bat 1\r"


def test_wakeup_goes_out_at_1200_baud_and_the_port_returns_to_115200() -> None:
    link, port = _loop_link()
    link.wake()
    assert _written(port) == WAKEUP_FRAME
    assert port.baudrate == 115200
