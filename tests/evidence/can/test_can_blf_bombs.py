"""BLF files are compressed inside (zlib containers): what they inflate to is capped on the bytes actually
produced, whatever the containers declare, before python-can's reader (which inflates each container
whole) sees them."""

from __future__ import annotations

import struct
import tracemalloc
import zlib
from pathlib import Path

import can

from pylondiag.evidence.can import read_can
from pylondiag.evidence.can.log import BLF_MAX_CONTAINER, BLF_MAX_INFLATED

MiB = 1024 * 1024


def _blf(tmp_path: Path, n: int = 3) -> bytes:
    """A real BLF from python-can's own writer: ``n`` Pylontech 0x351 frames."""
    path = tmp_path / "x.blf"
    with can.Logger(path) as writer:
        for i in range(n):
            writer.on_message_received(
                can.Message(
                    timestamp=1_700_000_000 + i,
                    arbitration_id=0x351,
                    data=bytes.fromhex("1402C012C012C201"),
                    is_extended_id=False,
                )
            )
    return path.read_bytes()


def _container(inflated_mib: int, declared: int = 0) -> bytes:
    """One LOG_CONTAINER object (type 10, zlib): ``inflated_mib`` MiB of zeros, declaring ``declared``."""
    packer = zlib.compressobj(9)
    packed = b"".join(packer.compress(bytes(MiB)) for _ in range(inflated_mib)) + packer.flush()
    body = struct.pack("<H6xL4x", 2, declared) + packed
    size = 16 + len(body)
    return struct.pack("<4sHHLL", b"LOBJ", 16, 1, size, 10) + body + b"\0" * (size % 4)


def _header(tmp_path: Path) -> bytes:
    good = _blf(tmp_path)
    return good[: struct.unpack_from("<L", good, 4)[0]]


def test_a_container_that_inflates_to_512_mib_is_refused_without_inflating_it(tmp_path: Path) -> None:
    data = _header(tmp_path) + _container(512, declared=1000)  # half a megabyte on disk
    assert len(data) < MiB
    tracemalloc.start()
    log = read_can(data, "can/bomb.blf")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert log.shape == "blf" and not log.records
    assert "inflates to more than" in log.warnings[0].message
    assert peak < 4 * MiB, f"{peak} bytes in memory while refusing"


def test_many_small_containers_are_capped_in_all(tmp_path: Path) -> None:
    per = BLF_MAX_CONTAINER // MiB // 2
    count = BLF_MAX_INFLATED // (per * MiB) + 1
    data = _header(tmp_path) + _container(per) * count
    log = read_can(data, "can/bomb.blf")
    assert not log.records
    assert f"more than {BLF_MAX_INFLATED // MiB} MiB" in log.warnings[0].message


def test_a_real_blf_of_ten_thousand_frames_is_read_whole(tmp_path: Path) -> None:
    log = read_can(_blf(tmp_path, 10_000), "can/x.blf")
    assert len(log.records) == 10_000 and not log.warnings
