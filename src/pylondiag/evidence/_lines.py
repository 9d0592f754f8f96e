"""Lines of a text evidence file, numbered exactly as the diagnosis spec numbers them.

``shared/spec/diagnosis-format.md``: the file decoded as UTF-8 (invalid bytes replaced), lines ending at
``\\r\\n``, ``\\r`` or ``\\n`` (``\\r\\r\\n`` ends two lines).
Line ``n`` of the spec is ``spec_lines(data)[n - 1]``.
"""

from __future__ import annotations


def spec_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")
