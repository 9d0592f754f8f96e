"""``read_console`` pauses Python's cyclic garbage collector while it builds a capture's records (they hold
no reference cycles; full collections over them were ~45 % of reading a 19 MB capture) and leaves it as it
found it — running or not, also when the bytes are not a console capture."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from pylondiag.errors import NotAConsoleCapture
from pylondiag.evidence._gc import cycle_collection_paused
from pylondiag.evidence.console import read_console

SESSION = (
    b"pylon>pwr\r\n@\r\nPower Volt   Curr\r\n1     50000  100\r\nCommand completed successfully\r\n$$\r\n"
)


@pytest.fixture
def collector_state() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("collector_state")
@pytest.mark.parametrize("running", [True, False])
def test_the_collector_is_left_as_it_was(running: bool) -> None:
    (gc.enable if running else gc.disable)()
    seen: list[bool] = []
    with cycle_collection_paused():
        seen.append(gc.isenabled())
    assert seen == [False] and gc.isenabled() is running
    assert read_console(SESSION, "console/s.txt").records
    assert gc.isenabled() is running
    with pytest.raises(NotAConsoleCapture):
        read_console(b"no console here\n", "console/x.txt")
    assert gc.isenabled() is running
