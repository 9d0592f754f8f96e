"""Incremental bytes → numbered lines, counted exactly as the diagnosis spec counts them.

The spec (``shared/spec/diagnosis-format.md``) numbers the lines of a file decoded as UTF-8 (invalid
bytes replaced by U+FFFD) and split with ``re.split(r"\\r\\n|\\r|\\n", text)``: ``\\r\\r\\n`` ends two
lines, ``\\n\\r`` ends two lines. :class:`LineSplitter` yields the same pieces, with the same
1-based numbers, whether the bytes arrive whole or one at a time.
"""

from __future__ import annotations

import codecs
import re

_EOL = re.compile(r"\r\n|\r|\n")


class LineSplitter:
    """Feed bytes, get ``(line_number, text)`` for every line whose end has been seen."""

    __slots__ = ("_buf", "_decoder", "_next_line")

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._next_line = 1

    def feed(self, data: bytes) -> list[tuple[int, str]]:
        text = self._buf + self._decoder.decode(data)
        if not text:
            return []
        if text[-1] == "\r":
            # "\r" may be the first half of "\r\n": keep it until the next byte arrives.
            pieces = _EOL.split(text[:-1])
            self._buf = pieces.pop() + "\r"
        else:
            pieces = _EOL.split(text)
            self._buf = pieces.pop()
        return self._number(pieces)

    def close(self) -> tuple[list[tuple[int, str]], tuple[int, str] | None]:
        """Flush: the terminated lines, and the unterminated tail (None when the data ended in a line end).

        As the spec counts, data ending in a line end has one more, empty, line; it is not returned.
        """
        text = self._buf + self._decoder.decode(b"", final=True)
        self._buf = ""
        if not text:
            return [], None
        pieces = _EOL.split(text)
        tail = pieces.pop()
        done = self._number(pieces)
        if tail:
            line = (self._next_line, tail)
            self._next_line += 1
            return done, line
        return done, None

    def _number(self, pieces: list[str]) -> list[tuple[int, str]]:
        start = self._next_line
        self._next_line = start + len(pieces)
        return list(zip(range(start, start + len(pieces)), pieces, strict=True))
