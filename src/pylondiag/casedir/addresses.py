"""Address → position (``case-format.md`` "Module identity").

``stack[].address`` maps a BMS address to a physical position; without any addresses in ``case.yaml``,
position = address. Duplicate addresses (within one LV-HUB group) are ambiguous: records at that
address get ``position=None`` and the conflict is reported. Modules seen only in the evidence are
added as they are met (:meth:`AddressMap.ensure`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from pylondiag.model.case import CaseFile, Led, Role
from pylondiag.model.stack import AddressConflict, ModuleView


@dataclass
class ModuleDraft:
    """A module while the case is read; becomes a :class:`ModuleView` at the end."""

    position: int
    address: int | None = None
    model: str | None = None
    serial: str | None = None
    installed: str | None = None
    led: Led | None = None
    dip: str | None = None
    role: Role | None = None
    group: int | None = None
    notes: str | None = None
    firmware: str | None = None
    stack_index: int | None = None

    def view(self) -> ModuleView:
        return ModuleView(**{f.name: getattr(self, f.name) for f in fields(self)})


@dataclass(frozen=True)
class Placement:
    """Where a console record's module is: position (None = ambiguous or unknown) and address."""

    position: int | None
    address: int | None
    assumed: bool = False
    """True when the address was inferred (a plain ``bat``/``stat`` without a module number)."""


@dataclass(frozen=True)
class CaptureOrigin:
    """What one capture says about whose console it was taken on."""

    own_address: int | None = None
    """The address its ``info``/``stat``/``soh`` names, when a plain ``bat`` needs it."""
    noted_position: int | None = None
    """The position its ``#`` header comment names."""


@dataclass
class AddressMap:
    """The case's modules by position and the address → position mapping."""

    modules: dict[int, ModuleDraft] = field(default_factory=dict)
    positions_of: dict[int, list[int]] = field(default_factory=dict)
    """Address → positions that ``case.yaml`` gives it."""
    conflicts: list[AddressConflict] = field(default_factory=list)
    """Addresses given to more than one position within one group."""
    cross_group: list[int] = field(default_factory=list)
    """Addresses that exist in more than one LV-HUB group."""
    plain_module: tuple[int | None, bool] = (1, True)
    """(address, assumed) for a ``bat``/``stat`` without a module number."""

    @property
    def have_addresses(self) -> bool:
        return bool(self.positions_of)

    @classmethod
    def from_case(cls, case: CaseFile | None) -> AddressMap:
        """The modules ``case.yaml`` lists, their addresses and any ambiguity between them."""
        amap = cls(plain_module=_plain_console_module(case))
        if case is None:
            return amap
        for i, m in enumerate(case.stack):
            amap.modules[m.position] = ModuleDraft(
                position=m.position,
                address=m.address,
                model=m.model.value if m.model else None,
                serial=m.serial,
                installed=m.installed,
                led=m.led,
                dip=m.dip,
                role=m.role,
                group=m.group,
                notes=m.notes,
                stack_index=i,
            )
            if m.address is not None:
                amap.positions_of.setdefault(m.address, []).append(m.position)
        multi_group = any((m.group or 0) > 0 for m in case.stack)
        group_of = {m.position: (m.group if multi_group else (m.group or 0)) for m in case.stack}
        for a, ps in sorted(amap.positions_of.items()):
            per_group: dict[int, list[int]] = {}
            for p in ps:
                g = group_of.get(p, 0)
                if g is not None:  # a module of unknown group (multi-group system) cannot be compared
                    per_group.setdefault(g, []).append(p)
            amap.conflicts += [
                AddressConflict(address=a, positions=tuple(g)) for g in per_group.values() if len(g) > 1
            ]
        amap.cross_group = sorted(
            a for a, ps in amap.positions_of.items() if len({group_of.get(p, 0) for p in ps}) > 1
        )
        return amap

    def resolve(self, address: int | None, origin: CaptureOrigin = CaptureOrigin()) -> Placement:
        """Where the module at ``address`` (None: the record names no module) is."""
        modules = self.modules
        noted = origin.noted_position
        if address is None and noted is not None and noted in modules:
            return Placement(noted, modules[noted].address)
        assumed = False
        if address is None and origin.own_address is not None:
            address = origin.own_address  # the capture's own `info`/`stat`/`soh` names the module
        elif address is None:
            address, assumed = self.plain_module
        if address is None:
            return Placement(None, None, assumed)
        ps = self.positions_of.get(address)
        if ps is not None:
            return Placement(ps[0] if len(ps) == 1 else None, address, assumed)
        if address in modules and modules[address].address in (None, address):
            return Placement(address, address, assumed)
        if not modules or not self.have_addresses:
            return Placement(address, address, assumed)
        return Placement(address if address not in modules else None, address, assumed)

    def ensure(self, position: int | None, address: int | None) -> None:
        """A module seen in the evidence: added when ``case.yaml`` does not list it; its address filled
        in when ``case.yaml`` left it out (position = address, as :meth:`resolve` placed it)."""
        if position is None:
            return
        draft = self.modules.get(position)
        if draft is None:
            self.modules[position] = ModuleDraft(position=position, address=address)
        elif draft.address is None and address is not None and address not in self.positions_of:
            draft.address = address

    def views(self) -> list[ModuleView]:
        """Every module, by position."""
        return [self.modules[p].view() for p in sorted(self.modules)]


def _plain_console_module(case: CaseFile | None) -> tuple[int | None, bool]:
    """The address a plain ``bat``/``stat`` (no module number) most likely shows, and True (assumed).

    One module in ``case.yaml`` → that module. Otherwise the master (the console is normally on the
    master, address 1).
    """
    if case and len(case.stack) == 1:
        m = case.stack[0]
        return (m.address or m.position), True
    if case:
        masters = [m for m in case.stack if m.role == Role.MASTER]
        if len(masters) == 1 and masters[0].address:
            return masters[0].address, True
    return 1, True
