"""The rich terminal report: outcome banner, module table, findings with their evidence quotes,
numbered actions, on-site spec, evidence gaps and safety. A view of a :class:`Diagnosis`, never makes one.
"""

from __future__ import annotations

import io
from typing import Final

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from pylondiag.model.diagnosis import Diagnosis, EvidenceRef, FindingSeverity, Outcome, Verdict
from pylondiag.model.stack import CaseView

OUTCOME_STYLE: Final[dict[Outcome, str]] = {
    Outcome.RECONFIGURE: "bold white on dark_orange3",
    Outcome.REPLACE: "bold white on red",
    Outcome.ON_SITE_CHECK: "bold white on red3",
    Outcome.ENVIRONMENT: "bold black on yellow",
    Outcome.REBALANCE: "bold black on yellow",
    Outcome.MONITOR: "bold black on cyan",
    Outcome.NO_FAULT: "bold white on green",
    Outcome.INSUFFICIENT_EVIDENCE: "bold white on grey39",
}
VERDICT_STYLE: Final[dict[Verdict, str]] = {
    Verdict.OK: "green",
    Verdict.MONITOR: "cyan",
    Verdict.REBALANCE: "yellow",
    Verdict.RECONFIGURE: "dark_orange3",
    Verdict.ISOLATE: "red",
    Verdict.REPLACE: "bold red",
    Verdict.ON_SITE_CHECK: "red",
}
SEVERITY_STYLE: Final[dict[FindingSeverity, str]] = {
    FindingSeverity.FAULT: "bold red",
    FindingSeverity.WARNING: "yellow",
    FindingSeverity.INFO: "dim",
}


def _ref(e: EvidenceRef) -> Text:
    if e.key is not None:
        return Text.assemble((f"{e.source} ", "dim"), (e.key, "cyan"))
    loc = f"{e.source}:{e.line}"
    t = Text.assemble((loc, "dim"))
    if e.quote:
        t.append("  ")
        t.append(e.quote, style="italic")
    return t


def renderables(diagnosis: Diagnosis, view: CaseView | None = None) -> list[RenderableType]:
    d = diagnosis
    out: list[RenderableType] = []
    title = d.outcome.value.replace("_", " ").upper()
    cause = f" — {d.primary_cause.value}" if d.primary_cause else ""
    culprits = (
        f"   culprit position(s): {', '.join(map(str, d.culprit_modules))}" if d.culprit_modules else ""
    )
    banner = Text(f" {title}{cause} ", style=OUTCOME_STYLE[d.outcome])
    out.append(
        Panel(
            Group(banner, Text(culprits, style="bold")) if culprits else banner,
            title=f"pylondiag {d.tool_version} · case {d.case_id}",
            title_align="left",
        )
    )
    out.append(Text(d.summary))
    out.append(Text())
    if d.modules:
        t = Table(title="Modules", title_justify="left", show_lines=False)
        for col in ("pos", "addr", "model", "LED", "verdict", "causes"):
            t.add_column(col)
        for m in d.modules:
            led = ""
            if view is not None:
                mv = view.module(m.position)
                led = mv.led.value if mv and mv.led else ""
            t.add_row(
                str(m.position),
                str(m.address or "-"),
                m.model or "-",
                led or "-",
                Text(m.verdict.value, style=VERDICT_STYLE[m.verdict]),
                ", ".join(c.value for c in m.causes) or "-",
            )
        out.append(t)
    if d.findings:
        out.append(Text("Findings", style="bold underline"))
        for i, f in enumerate(d.findings, start=1):
            where = f"position {f.module}" if f.module is not None else "stack / inverter"
            head = Text.assemble(
                (f"{i}. ", "bold"),
                (f"[{f.severity.value}] ", SEVERITY_STYLE[f.severity]),
                (f.code.value, "bold"),
                (f"  {where}, confidence {f.confidence:.0%}", "dim"),
            )
            body = Text("   " + f.message)
            refs = [Text("     ↳ ").append_text(_ref(e)) for e in f.evidence]
            out.append(Group(head, body, *refs))
        out.append(Text())
    if d.actions:
        out.append(Text("What to do", style="bold underline"))
        for a in d.actions:
            tag = ("  [on site]", "red") if a.on_site else ("", "")
            out.append(Text.assemble((f"{a.step:>2}. ", "bold"), a.text, tag))
        out.append(Text())
    if d.on_site_spec:
        s = d.on_site_spec
        lines = [Text("Work:", style="bold"), *[Text(f"  • {w}") for w in s.work]]
        if s.parts:
            lines += [Text("Parts:", style="bold"), *[Text(f"  • {p}") for p in s.parts]]
        if s.checks_after:
            lines += [Text("Checks after:", style="bold"), *[Text(f"  • {c}") for c in s.checks_after]]
        out.append(Panel(Group(*lines), title="On-site specification", title_align="left"))
    if d.evidence_gaps:
        out.append(Text("Evidence gaps — what to capture next", style="bold underline"))
        for g in d.evidence_gaps:
            out.append(Text(f"  • {g}"))
        out.append(Text())
    out.append(Text("Safety", style="bold red underline"))
    for s_line in d.safety:
        out.append(Text(f"  ⚠ {s_line}"))
    return out


def print_report(diagnosis: Diagnosis, view: CaseView | None = None, console: Console | None = None) -> None:
    con = console or Console()
    for r in renderables(diagnosis, view):
        con.print(r)


def render_text(
    diagnosis: Diagnosis, view: CaseView | None = None, *, width: int = 100, color: bool = False
) -> str:
    """The report as plain text (or with ANSI colours), e.g. for ``--output report.txt``."""
    buf = io.StringIO()
    con = Console(file=buf, width=width, force_terminal=color, color_system="standard" if color else None)
    print_report(diagnosis, view, con)
    return buf.getvalue()
