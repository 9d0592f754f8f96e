"""An interactive console session on one module of a simulated stack.

:class:`ConsoleView` says what the console plugged into one module can see (its link chain,
clocks, barcodes, counters); :class:`ConsoleSession` turns typed bytes into the bytes the real
firmware would send back: echo, ``@``, payload, trailer, ``$$``, prompt, paging, login modes.
Commands that would change the battery (``config``, ``shut``, ``statc``, ``time`` with arguments…)
are answered as the firmware would but NOT applied; each is appended to ``changes`` so a test or
an operator can see that a tool tried to write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pylondiag.sim import bms
from pylondiag.sim.console import render
from pylondiag.sim.console.dialects import DIALECTS, WAKEUP, Dialect
from pylondiag.sim.stack import ModuleReading, Stack

CHANGING_COMMANDS = frozenset(
    [
        "config",
        "ctrl",
        "datac",
        "eepe",
        "eepw",
        "flae",
        "flaw",
        "stflaw",
        "logc",
        "logt",
        "mm",
        "m2s",
        "prot",
        "rtcw",
        "save",
        "setprt",
        "setlowcfg",
        "socw",
        "soccfg",
        "soccal",
        "socclr",
        "shut",
        "statc",
        "tbar",
        "tclear",
        "tfacsoc",
        "trst",
        "updata",
        "urates",
        "emptyvolt",
        "blocksoc",
        "totalcoul",
        "tmos",
        "tbuz",
        "tsoftdsg",
        "tchgc",
        "tdisc",
        "tbld",
        "tcycle",
        "fullchg",
        "tagevolt",
        "rebat",
        "couls",
        "tled",
        "tmprctrl",
    ]
)
"""Commands that write settings, clear records or switch hardware (HRAB help [C])."""
READ_ONLY_COMMANDS = frozenset(
    [
        "adc",
        "bmicrdcomm",
        "bmicrdcfg",
        "ct",
        "datalist",
        "disp",
        "eepr",
        "stflar",
        "flar",
        "md",
        "rtcr",
        "rtcsh",
        "socr",
        "socsh",
        "socd",
        "soct",
        "tsoc",
        "tcan",
        "tdip",
        "tetmp",
        "tflash",
        "ti2c",
        "tinput",
        "tpwr",
        "tsto",
        "tver",
        "tsoh",
        "tspi",
        "tusart",
        "ttmp",
        "tdct",
        "tvolt",
        "tibcio",
        "tcbnio",
        "ttact",
        "ttr",
        "tsw",
        "tpv",
        "teepr",
        "twdg",
        "trdagevolt",
    ]
)
"""Other commands in the US2000C help (HRAB help [C]) that only read or self-test: answered with an
empty successful block (their payloads are not modelled)."""
DEBUG_ONLY = (
    frozenset({"pwrsys", "getpwr", "config", "ctrl", "prot", "statc", "ci"})
    | READ_ONLY_COMMANDS
    | CHANGING_COMMANDS
    - {
        "shut",
        "trst",
        "updata",
    }
)
LOG_PAGE = 3
"""`log` pages every three entries (ioBroker data/log.txt [C])."""


@dataclass
class ConsoleView:
    """What the console of module ``plugged`` (an index into ``chain``) can see."""

    stack: Stack
    chain: list[int]
    """Stack module indices in link-chain order: chain[0] has address 1."""
    plugged: int = 0
    clock_offset_s: list[float] = field(default_factory=list)
    barcodes: list[str] = field(default_factory=list)
    base_counters: list[dict[str, int]] = field(default_factory=list)
    soh_counts: list[list[int]] = field(default_factory=list)
    password: str = "sim"

    def readings(self) -> list[ModuleReading | None]:
        out: list[ModuleReading | None] = []
        for addr, i in enumerate(self.chain, start=1):
            if not self.stack.modules[i].talking and addr - 1 != self.plugged:
                out.append(None)
                continue
            r = self.stack.reading(i)
            r.address = addr
            out.append(r)
        return out

    def clock(self, k: int) -> datetime:
        off = self.clock_offset_s[self.chain[k]] if self.clock_offset_s else 0.0
        return self.stack.time + timedelta(seconds=off)

    def counters(self, k: int) -> dict[str, int]:
        i = self.chain[k]
        base = dict(self.base_counters[i]) if self.base_counters else {}
        for name, v in self.stack.records[i].counters.items():
            base[name] = base.get(name, 0) + v
        base["CYCLE Times"] = self.stack.total_cycles(i)
        soh = self.stack.modules[i].soh_override
        if soh is not None:
            base["SOH"] = soh
            base["Pwr Percent"] = min(100, base["SOH"] + 1)
        return base

    def barcode(self, k: int) -> str:
        i = self.chain[k]
        return self.barcodes[i] if self.barcodes else self.stack.modules[i].serial

    def log(self, k: int) -> list[bms.LogEntry]:
        return list(self.stack.records[self.chain[k]].log)


class ConsoleSession:
    """Byte-level console of one module. Feed it what a terminal sends, read what it answers."""

    def __init__(
        self,
        view: ConsoleView,
        dialect: str | Dialect,
        *,
        require_wakeup: bool | None = None,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.view = view
        self.d = DIALECTS[dialect] if isinstance(dialect, str) else dialect
        self.debug = self.d.starts_in_debug and self.d.debug_prompt is not None
        self.awake = not (self.d.needs_wakeup if require_wakeup is None else require_wakeup)
        self.changes: list[str] = []
        self.on_change = on_change
        self._line = ""
        self._pages: list[str] = []
        self._pending_end = ""
        self._wake_buf = b""

    @property
    def prompt(self) -> str:
        return self.d.debug_prompt if (self.debug and self.d.debug_prompt) else self.d.user_prompt

    def banner(self) -> bytes:
        return self.prompt.encode() if self.awake else b""

    # ------------------------------------------------------------------ byte interface
    def feed(self, data: bytes) -> bytes:
        """Consume bytes typed by the terminal; return the console's bytes (echo included)."""
        if not self.awake:
            self._wake_buf = (self._wake_buf + data)[-64:]
            if WAKEUP.rstrip(b"\r") in self._wake_buf:
                self.awake = True
                self._wake_buf = b""
                return b"\n" + self.prompt.encode()
            return b""
        out = []
        for ch in data.decode("latin-1"):
            if self._pages:
                if ch in "\r\n":
                    out.append(self._next_page())
                else:
                    self._pages = []
                    out.append(self._pending_end)
                continue
            if ch in "\r\n":
                if ch == "\n" and not self._line:
                    continue
                line, self._line = self._line, ""
                out.append(self._answer(line.strip()))
            elif ch in "\x08\x7f":
                if self._line:
                    self._line = self._line[:-1]
                    out.append("\x08 \x08")
            else:
                self._line += ch
                out.append(ch)
        return "".join(out).encode("latin-1")

    def run(self, command: str, *, page_key: str = "\r") -> bytes:
        """Type ``command`` + Enter and keep pressing ``page_key`` through every page."""
        out = self.feed(command.encode() + b"\r")
        while self._pages:
            out += self.feed(page_key.encode())
        return out

    # ------------------------------------------------------------------ commands
    def _answer(self, line: str) -> str:
        if not line:
            return self.d.line_end() + self.prompt if self.d.name != "us2kbpl_b66" else "\n\r" + self.prompt
        parts = line.split()
        cmd, args = parts[0].lower(), parts[1:]
        if cmd in CHANGING_COMMANDS or (cmd == "time" and args):
            self.changes.append(line)
            if self.on_change:
                self.on_change(line)
        if cmd in DEBUG_ONLY and not self.debug and cmd != "time":
            return self._unknown(parts[0])
        handler = getattr(self, f"_cmd_{cmd}", None)
        if handler is None:
            if cmd in CHANGING_COMMANDS or (cmd in READ_ONLY_COMMANDS and self.debug):
                return self.d.frame([], table=False, prompt=self.prompt)
            return self._unknown(parts[0])
        result: str = handler(args)
        return result

    def _unknown(self, word: str) -> str:
        return self.d.frame(
            [f"Unknown command '{word}' - try 'help'"], table=False, ok=False, prompt=self.prompt
        )

    def _ok(self, lines: list[str], *, table: bool = True) -> str:
        return self.d.frame(lines, table=table, prompt=self.prompt)

    def _addr(self, args: list[str]) -> int | None:
        """Chain index of ``args[0]`` (1-based address), the plugged module when absent; None if bad."""
        if not args:
            return self.view.plugged
        try:
            a = int(args[0])
        except ValueError:
            return None
        return a - 1 if 1 <= a <= len(self.view.chain) else -1

    def _invalid(self, usage: str) -> str:
        return self.d.frame(
            ["Invalid command or fail to excute.", "Usage:", usage], table=False, ok=False, prompt=self.prompt
        )

    def _absent(self, k: int) -> bool:
        return k < 0 or self.view.readings()[k] is None

    def _cmd_pwr(self, args: list[str]) -> str:
        readings = self.view.readings()
        if not args:
            clocks = [self.view.clock(k) for k in range(len(self.view.chain))]
            return self._ok(render.pwr_lines(self.d, readings, clocks))
        k = self._addr(args)
        if k is None:
            return self._invalid("Power data show - pwr [index]")
        if self._absent(k):
            return self._ok([f" Power  {args[0]} is absent"], table=False)
        r = readings[k]
        assert r is not None
        spec = self.view.stack.modules[self.view.chain[k]].spec
        return self._ok(
            render.pwr_detail_lines(self.d, r, spec, self.view.counters(k).get("Charge Times", 0)),
            table=False,
        )

    def _cmd_bat(self, args: list[str]) -> str:
        k = self._addr(args)
        if k is None:
            return self._invalid("Battery data show - bat [pwr][index]")
        if self._absent(k):
            return self._ok([f"Power {args[0] if args else ''} is absent".strip()], table=False)
        r = self.view.readings()[k]
        assert r is not None
        return self._ok(render.bat_lines(self.d, r))

    def _cmd_soh(self, args: list[str]) -> str:
        k = self._addr(args)
        if k is None or self._absent(k):
            return self._invalid("State of health - soh [addr]")
        r = self.view.readings()[k]
        assert r is not None
        counts = self.view.soh_counts[self.view.chain[k]] if self.view.soh_counts else [0] * 15
        if k != self.view.plugged:
            counts = [0] * 15  # through the master, slave counts come back 0 (console_fields.md, SIMP [D])
        return self._ok(render.soh_lines(r, counts))

    def _cmd_stat(self, args: list[str]) -> str:
        if args and not self.d.stat_histograms:
            return self._invalid("Statistic data show - stat")
        k = self._addr(args)
        if k is None or self._absent(k):
            return self._invalid("Statistic data show - stat")
        return self._ok(render.stat_lines(self.d, k + 1, self.view.counters(k)))

    def _cmd_info(self, args: list[str]) -> str:
        k = self._addr(args)
        if k is None or self._absent(k):
            return self._invalid("Device infomation - info")
        spec = self.view.stack.modules[self.view.chain[k]].spec
        return self._ok(render.info_lines(k + 1, spec, self.view.barcode(k)), table=False)

    def _cmd_time(self, args: list[str]) -> str:
        return self._ok(render.time_lines(self.d, self.view.clock(self.view.plugged)), table=False)

    def _cmd_help(self, args: list[str]) -> str:
        lines = render.help_lines(self.debug)
        if self.d.name == "us2kbpl_b66":
            # B66.6 pages right after "Remote command:" (donverduyn help [C])
            cut = lines.index("Remote command:") + 1
            return self._paged([lines[:cut], lines[cut:]], table=False)
        return self._ok(lines, table=False)

    def _cmd_log(self, args: list[str]) -> str:
        entries = self.view.log(self.view.plugged)
        n = len(entries)
        blocks = [render.log_entry_lines(n - 1 - j, e) for j, e in enumerate(reversed(entries))]
        pages: list[list[str]] = []
        for p in range(0, len(blocks), LOG_PAGE):
            page: list[str] = []
            for b in blocks[p : p + LOG_PAGE]:
                page += [*b, ""]
            pages.append(page[:-1] if p + LOG_PAGE < len(blocks) else page)
        return self._paged(pages or [[]], table=False)

    def _paged(self, pages: list[list[str]], *, table: bool) -> str:
        """Frame ``pages`` as one answer that stops with the pager line between pages."""
        marker = "\x00"
        lines: list[str] = []
        for i, p in enumerate(pages):
            if i:
                lines.append(marker)
            lines += p
        full = self.d.frame(lines, table=table, prompt=self.prompt)
        parts = full.split(marker)
        if len(parts) == 1:
            return full
        self._pages = parts[1:]
        eol = self.d.line_end() if self.d.name != "us2kbpl_b66" else "\r\n\r"
        self._pending_end = eol + "$$" + eol + self.prompt
        return parts[0] + self._pager_text()

    def _pager_text(self) -> str:
        return "Press [Enter] to be continued,other key to exit" + (
            "\r" if self.d.name == "us2kbpl_b66" else " " * 50
        )

    def _next_page(self) -> str:
        page = self._pages.pop(0)
        return page + (self._pager_text() if self._pages else "")

    def _cmd_data(self, args: list[str]) -> str:
        if not args or args[0] not in ("event", "history", "misc"):
            return self._invalid("History data load - data [event/history][item]")
        entries = [e for e in self.view.log(self.view.plugged) if e.code not in ("0",)]
        r = self.view.readings()[self.view.plugged]
        assert r is not None
        if args[0] != "event" or not entries:
            return self._ok([], table=False)
        item = int(args[1]) if len(args) > 1 and args[1].isdigit() else len(entries) - 1
        item = max(0, min(item, len(entries) - 1))
        return self._ok(render.data_event_lines(item, entries[item], r), table=False)

    def _cmd_login(self, args: list[str]) -> str:
        if self.debug:
            return self.d.frame(
                [
                    "Quit current mode",
                    "Invalid command or fail to excute.",
                    "Usage:",
                    "Login Admin mode - login [password]",
                ],
                table=False,
                ok=False,
                prompt=self.prompt,
            )
        if self.d.debug_prompt is None or not args or args[0] != self.view.password:
            return self._invalid("Login Admin mode - login [password]")
        self.debug = True
        return self._ok([], table=False)

    def _cmd_logout(self, args: list[str]) -> str:
        self.debug = False
        return self._ok([], table=False)

    def _cmd_pwrsys(self, args: list[str]) -> str:
        rs = [r for r in self.view.readings() if r is not None]
        chg, dsg = self.view.stack.bms_limits()
        n = max(len(rs), 1)
        return self._ok(render.pwrsys_lines(rs, int(chg * 1000 / n), -int(dsg * 1000 / n)), table=False)

    def _cmd_shut(self, args: list[str]) -> str:
        return self._ok([], table=False)

    def _cmd_trst(self, args: list[str]) -> str:
        return self._ok([], table=False)

    def _cmd_getpwr(self, args: list[str]) -> str:
        """Compact `#`-separated dump of the plugged module (HRAB getpwr [C])."""
        k = self.view.plugged
        r = self.view.readings()[k]
        assert r is not None
        remaining = int(r.cell_coulomb_mah.min())
        lines = [
            f"{r.voltage_mv}#{r.current_ma:>7}#{r.board_temp_mc:>7}#{remaining:>6}# {r.base_state}# "
            f"{render.volt_state(r.flags)}# {render.curr_state(r.flags)}# {render.temp_state(r.flags)}#"
        ]
        for c in range(15):
            lines.append(
                f"{r.cell_mv[c]}#{r.cell_temp_mc[c]:>7}# {render._cell_vs(r, c)}# "
                f"{render.temp_state(r.flags)}#"
            )
        lines += ["0#", f"{self.view.counters(k).get('CYCLE Times', 0)}#"]
        return self._ok(lines, table=False)

    def _cmd_ci(self, args: list[str]) -> str:
        """Comm counters (HRAB ci [C]): RS485 ports, CAN, modules present."""
        present = sum(r is not None for r in self.view.readings())
        up = int(self.view.counters(self.view.plugged).get("Charge Times", 0)) * 1000  # frames since power-on
        lines = [" -----------------------------------"]
        for port, rx, tx in (("US0", 0, 0), ("US1", up * 4, up)):
            for name, val in (
                ("Rx", rx),
                ("Tx", tx),
                ("Format", 0),
                ("Addr", 0),
                ("Ver", 0),
                ("Req", 0),
                ("LChkSum", 0),
                ("ChkSum", 0),
                ("AckErr", 0),
                ("Other", 0),
            ):
                lines.append(f" {port + ' ' + name + ':':<28}{val}")
            lines.append("")
        lines += [
            f" {'CAN Rx:':<31}0",
            f" {'CAN Tx:':<31}{up * 6}",
            f" {'Exist Pack Num:':<28}{present}",
            f" {'Probe Pwr Addr:':<28}255",
            " -----------------------------------",
        ]
        return self._ok(lines, table=False)
