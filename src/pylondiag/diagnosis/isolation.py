"""Step 5 — isolation: take one module out so the rest of the stack runs again.

Facts: the seed guide ("isolate the faulty module to restore the rest of the stack ... update the
inverter's battery count"); ``hardware/panel_dip.md`` §1/§4: modules are daisy-chained Link Port 1 →
Link Port 0 of the next, the master is the module whose Link Port 0 is empty, the start button is
pressed on the master only [M]; field_failures.md #8: bring a module to within ~2 % SOC of the
others before paralleling [T/M].
"""

from __future__ import annotations

from pylondiag.diagnosis.thresholds import DEFAULT_CAPACITY_AH, MODEL_CAPACITY_AH
from pylondiag.model.stack import CaseView, ModuleView


def module_capacity_ah(model: str | None) -> float:
    return MODEL_CAPACITY_AH.get(model or "", DEFAULT_CAPACITY_AH)


def stack_capacity_ah(modules: list[ModuleView]) -> float:
    return sum(module_capacity_ah(m.model) for m in modules)


def _name(m: ModuleView | None, position: int) -> str:
    if m is None:
        return f"position {position}"
    bits = [f"position {position}"]
    if m.model:
        bits.append(m.model)
    if m.serial:
        bits.append(f"serial {m.serial}")
    return bits[0] + (f" ({', '.join(bits[1:])})" if len(bits) > 1 else "")


def isolation_steps(view: CaseView, positions: list[int]) -> list[str]:
    """Owner/engineer steps to take ``positions`` out and run the rest of the stack without them."""
    remaining = [m for m in view.modules if m.position not in positions]
    names = ", ".join(_name(view.module(p), p) for p in positions)
    n_left = len(remaining)
    cap_left = stack_capacity_ah(remaining)
    steps = [
        "Power down the whole stack: switch the inverter's battery breaker / DC isolator off, then "
        "every module's power switch off. Wait until all LEDs are dark.",
        f"Disconnect {names}: its two DC power cables first, then its link cables. Insulate the "
        "cable lugs you freed.",
    ]
    if n_left:
        steps += [
            "Close the link chain around the gap: Link Port 1 of the module above goes to Link Port 0 of "
            "the module below, so the remaining modules form one unbroken chain. The master stays the "
            "module whose Link Port 0 is empty and that is cabled to the inverter.",
            "Switch the remaining modules' power switches on and press the start button on the master "
            "only; check that every remaining module's RUN LED lights and the ALM LED stays off.",
        ]
        steps.append(
            f"On the inverter, set the battery module count to {n_left} and the capacity to "
            f"{cap_left:g} Ah (the remaining modules), so its limits match the smaller stack."
        )
    return steps


def replacement_steps(view: CaseView, position: int) -> list[str]:
    """Fitting a replacement: same model, DIP as required, SOC matched, inverter updated."""
    m = view.module(position)
    model = m.model if m and m.model else "the same model as the rest of the stack"
    n = len(view.modules)
    cap = stack_capacity_ah(view.modules)
    dip_hint = (
        f"set its ADD/DIP switches as the old one was ({m.dip})"
        if m and m.dip
        else "set its ADD/DIP switches like the other slaves (all OFF, except switch 1 which must match "
        "the other modules' RS485 baud setting)"
    )
    return [
        f"Fit a replacement {model} at position {position}; {dip_hint}. Before connecting it, charge "
        "or discharge it on its own until its SOC is within about 2 % of the others.",
        f"With the stack powered down, cable it into the link chain, start the stack from the master, "
        f"and set the inverter back to {n} module{'s' if n != 1 else ''} and {cap:g} Ah.",
    ]
