"""The service's upload limits agree with the case reader's: what `pylondiag diagnose` reads, the
service accepts (a year of inverter log at one row a minute is 22.5 MiB)."""

from __future__ import annotations

from pylondiag.casedir import MAX_FILE_BYTES
from pylondiag.service.settings import Limits


def test_the_service_takes_one_file_as_large_as_the_case_reader_does() -> None:
    limits = Limits()
    assert limits.max_file_bytes == MAX_FILE_BYTES
    assert limits.max_request_bytes > limits.max_file_bytes  # the file plus the form around it
    assert limits.max_total_bytes >= limits.max_file_bytes
