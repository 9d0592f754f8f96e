"""Incremental bytes → numbered lines, counted exactly as the diagnosis spec counts them.

The spec (``shared/spec/diagnosis-format.md``) numbers the lines of a file decoded as UTF-8 (invalid
bytes replaced by U+FFFD) and split with ``re.split(r"\\r\\n|\\r|\\n", text)``: ``\\r\\r\\n`` ends two
lines, ``\\n\\r`` ends two lines. :class:`LineSplitter` yields the same lines, with the same 1-based
numbers, whether the bytes arrive whole or one at a time.

For speed the lines come as one text in which every line end is normalised to ``\\n``
(:meth:`LineSplitter.feed_text`); the text of each line is unchanged, so it is still the spec's line.
"""

from __future__ import annotations

import codecs


class LineSplitter:
    """Feed bytes, get the lines whose end has been seen."""

    __slots__ = ("_buf", "_decoder", "_next_line")

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._next_line = 1

    def feed_text(self, data: bytes) -> tuple[int, str]:
        """``(number of the first line, text)``: the complete lines so far, each ended by ``\\n``."""
        text = self._buf + self._decoder.decode(data)
        start = self._next_line
        if not text:
            return start, ""
        hold = ""
        if text[-1] == "\r":
            # "\r" may be the first half of "\r\n": keep it until the next byte arrives.
            text, hold = text[:-1], "\r"
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        cut = text.rfind("\n") + 1
        self._buf = text[cut:] + hold
        done = text[:cut]
        self._next_line = start + done.count("\n")
        return start, done

    def close_text(self) -> tuple[int, str, str | None]:
        """Flush: first line number, the remaining complete lines (``\\n``-ended), and the unterminated
        tail (None when the data ended in a line end; as the spec counts, such data has one more,
        empty, line, which is not returned)."""
        text = self._buf + self._decoder.decode(b"", final=True)
        self._buf = ""
        start = self._next_line
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        cut = text.rfind("\n") + 1
        done, tail = text[:cut], text[cut:]
        self._next_line = start + done.count("\n") + (1 if tail else 0)
        return start, done, tail or None

    # ---------------------------------------------------------------- line-list form (tests, tools)
    def feed(self, data: bytes) -> list[tuple[int, str]]:
        start, text = self.feed_text(data)
        return list(enumerate(text.split("\n")[:-1], start))

    def close(self) -> tuple[list[tuple[int, str]], tuple[int, str] | None]:
        start, text, tail = self.close_text()
        done = list(enumerate(text.split("\n")[:-1], start))
        return done, ((start + len(done), tail) if tail is not None else None)
