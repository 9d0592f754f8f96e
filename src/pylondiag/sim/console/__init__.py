"""Console emulator: the three firmware dialects, sessions over bytes, served by ``sim.serve``."""

from pylondiag.sim.console.dialects import DIALECTS, Dialect
from pylondiag.sim.console.session import ConsoleSession, ConsoleView

__all__ = ["DIALECTS", "ConsoleSession", "ConsoleView", "Dialect"]
