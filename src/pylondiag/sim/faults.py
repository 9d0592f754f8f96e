"""Faults the console emulator can inject into what it sends, to test a capture tool on a bad cable.

:class:`Faults` says what to inject; :class:`FaultLine` applies it to one served console (all its
connections share one :class:`FaultLine`, so "disconnect after 20 commands" happens once and a
client that reconnects carries on). Deterministic: the same seed injects at the same places.

* ``drop`` / ``garble``: probability that an answer loses a run of bytes / has bytes replaced by
  noise (a noisy RS232 line or a USB adapter dropping characters).
* ``slow``: seconds the console waits before each answer (a busy master).
* ``vanish=A@N``: module at address A stops talking on the link bus from the N-th command on (a
  module that trips or loses its link cable mid-capture).
* ``disconnect=N``: the connection is closed when the N-th command arrives (a TCP bridge or USB
  adapter reset).
* ``hang=N``: from the N-th command on the console never answers (the stack stops answering).
* ``wrong_baud``: every byte comes out as noise, as a UART at the wrong rate shows it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields

import numpy as np

from pylondiag.sim.stack import Stack


@dataclass(frozen=True)
class Faults:
    drop: float = 0.0
    garble: float = 0.0
    slow: float = 0.0
    vanish: int | None = None
    vanish_after: int = 0
    disconnect: int | None = None
    hang: int | None = None
    wrong_baud: bool = False
    seed: int = 0

    @classmethod
    def parse(cls, text: str) -> Faults:
        """``drop=0.1,garble=0.05,slow=0.5,vanish=2@10,disconnect=20,hang=30,wrong_baud,seed=1``.
        Raises ValueError naming the bad item."""
        kw: dict[str, object] = {}
        names = {f.name for f in fields(cls)}
        for item in filter(None, (p.strip() for p in text.split(","))):
            key, eq, val = item.partition("=")
            key = key.strip().replace("-", "_")
            if key not in names or key == "vanish_after":
                raise ValueError(
                    f"unknown fault {key!r}; known: drop, garble, slow, vanish, disconnect, hang, "
                    "wrong_baud, seed"
                )
            try:
                if key == "wrong_baud":
                    kw[key] = True if not eq else val.strip().lower() in ("1", "true", "yes")
                elif key == "vanish":
                    addr, _, after = val.partition("@")
                    kw["vanish"] = int(addr)
                    kw["vanish_after"] = int(after or 0)
                elif key in ("drop", "garble", "slow"):
                    kw[key] = float(val)
                else:
                    kw[key] = int(val)
            except ValueError:
                raise ValueError(f"fault {item!r}: {key} wants a number") from None
        return cls(**kw)  # type: ignore[arg-type]

    @property
    def any(self) -> bool:
        return self != Faults(seed=self.seed)


class FaultLine:
    """The faults of one served console, with the command count they are keyed to."""

    def __init__(self, faults: Faults, stack: Stack, chain: list[int]) -> None:
        self.f = faults
        self.stack = stack
        self.chain = chain
        self.rng = np.random.default_rng([faults.seed, 12])
        self.commands = 0
        self._typed = b""
        self._disconnected = False
        self._lock = threading.Lock()

    def typed(self, data: bytes) -> None:
        """Count the command lines in what the client typed (a bare Enter is not a command)."""
        with self._lock:
            buf = self._typed + data
            *lines, self._typed = buf.replace(b"\n", b"\r").split(b"\r")
            self.commands += sum(1 for ln in lines if ln.strip())
            self._typed = self._typed[-256:]
            f = self.f
            if f.vanish is not None and self.commands >= f.vanish_after and 1 <= f.vanish <= len(self.chain):
                self.stack.modules[self.chain[f.vanish - 1]].talking = False

    def hung(self) -> bool:
        return self.f.hang is not None and self.commands >= self.f.hang

    def should_disconnect(self) -> bool:
        with self._lock:
            if (
                self.f.disconnect is not None
                and not self._disconnected
                and self.commands >= self.f.disconnect
            ):
                self._disconnected = True
                return True
            return False

    def mangle(self, out: bytes) -> bytes:
        """What arrives at the client instead of ``out``."""
        if not out:
            return out
        if self.hung():
            return b""
        if self.f.wrong_baud:
            # A receiver at the wrong rate sees framing noise: about one byte per two sent, none of
            # them the characters sent.
            noise = self.rng.integers(0x80, 0x100, size=max(1, len(out) // 2), dtype=np.uint8)
            return noise.tobytes()
        data = bytearray(out)
        with self._lock:
            if self.f.drop and self.rng.random() < self.f.drop and len(data) > 2:
                at = int(self.rng.integers(0, len(data) - 1))
                del data[at : at + int(self.rng.integers(1, 24))]
            if self.f.garble and self.rng.random() < self.f.garble:
                for _ in range(int(self.rng.integers(1, 6))):
                    at = int(self.rng.integers(0, len(data)))
                    data[at] = int(self.rng.integers(0x21, 0x100))
        return bytes(data)
