"""The console firmware dialects the emulator speaks, and how each frames its output.

Three dialects, each matching real captures in ``shared/captures/console`` byte for byte in
framing, headers and column layout:

* ``us2000c_b67`` — US2000C main FW B67.5.0, debug prompt ``pylon_debug>`` (user mode ``pylon>``
  after ``logout``), ``\\n`` line ends (Hrabovszki1023 captures).
* ``us2kbpl_b66`` — US2000 "US2KBPL" FW B66.6, prompt ``pylon>``; every line is written as
  ``\\n\\r`` + text + ``\\r``, table rows as ``\\n`` + text + ``\\r\\r`` (so files show ``\\r\\r\\n`` and
  ``\\n\\r`` mixes; donverduyn captures). Needs the 1200-baud wake-up before it answers
  (irekzielinski #5/#17, panel_dip.md §1 [T]).
* ``us5000_v2`` — US5000-class newer FW: ``pwr`` with ``Tlow.Id`` … ``SysAlarm.St`` columns and
  ``stat N`` with C-rate / SOC histograms (irekzielinski and BolverBlitz excerpts); framing
  ``\\r\\n`` with prompt ``pylon>`` as in the newer-FW GPollakDiener captures.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    name: str
    user_prompt: str
    debug_prompt: str | None
    starts_in_debug: bool
    pwr_layout: str
    """``b67`` (MosTempr/M.T.St), ``b66`` (16 columns), ``v2`` (.Id and SysAlarm.St columns)."""
    bat_layout: str
    """``soc_bal`` (SOC and BAL columns) or ``b66`` (Coulomb = % and mAH)."""
    pwr_slots: int
    """Rows in `pwr` (16 on B67/V2 [C]; 8 on the donverduyn US2KBPL capture [C])."""
    needs_wakeup: bool = False
    stat_histograms: bool = False
    stat_misc_items: bool = False
    time_label: str = "RTC"
    time_test_line: bool = True
    bat_header_pad: str = ""

    @property
    def prompt(self) -> str:
        return self.debug_prompt if (self.starts_in_debug and self.debug_prompt) else self.user_prompt

    # ------------------------------------------------------------------ framing
    def frame(self, lines: list[str], *, table: bool, ok: bool = True, prompt: str | None = None) -> str:
        """Answer text after the echoed command: ``@``, payload, trailer, ``$$`` and the prompt."""
        prompt = prompt or self.prompt
        trailer = ["Command completed successfully"] if ok else []
        if self.name == "us2kbpl_b66":
            out = "\n\r@\r\r" if table else "\n\r@\r"
            if table and lines:
                out += "".join(f"\n{ln}\r\r" for ln in lines[:-1]) + f"\n{lines[-1]}\r"
            else:
                out += "".join(f"\n\r{ln}\r" for ln in lines)
            out += "".join(f"\n\r{ln}\r" for ln in trailer)
            return out + f"\n\r$$\r\n\r{prompt}"
        eol = "\r\n" if self.name == "us5000_v2" else "\n"
        body = ["@", *lines, *trailer, "$$"]
        return eol + eol.join(body) + eol + prompt

    def page_break(self) -> str:
        """The pager line real firmware prints every few entries (ioBroker data/log.txt [C])."""
        pad = " " * 50
        if self.name == "us2kbpl_b66":
            return "\n\rPress [Enter] to be continued,other key to exit\r"
        eol = "\r\n" if self.name == "us5000_v2" else "\n"
        return eol + "Press [Enter] to be continued,other key to exit" + pad

    def line_end(self) -> str:
        return {"us2kbpl_b66": "\r", "us5000_v2": "\r\n"}.get(self.name, "\n")


DIALECTS: dict[str, Dialect] = {
    "us2000c_b67": Dialect(
        "us2000c_b67",
        "pylon>",
        "pylon_debug>",
        True,
        "b67",
        "soc_bal",
        16,
    ),
    "us2kbpl_b66": Dialect(
        "us2kbpl_b66",
        "pylon>",
        None,
        False,
        "b66",
        "b66",
        8,
        needs_wakeup=True,
        stat_misc_items=True,
        time_label="Ds3231",
        time_test_line=False,
    ),
    "us5000_v2": Dialect(
        "us5000_v2",
        "pylon>",
        None,
        False,
        "v2",
        "soc_bal",
        16,
        stat_histograms=True,
        bat_header_pad="         ",
    ),
}

WAKEUP = b"~20014682C0048520FCC3\r"
"""The 1200-baud wake-up frame monitoring tools send to old US2000 consoles before switching to
115200 (irekzielinski/Pylontech-Battery-Monitoring, issues #5/#17 [T])."""
