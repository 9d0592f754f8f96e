"""One reading of a live stack for ``monitor``: the ``acquire`` layer's read-only capture into a
scratch case directory, then the same diagnosis as ``diagnose`` (all serial I/O stays in acquire/).

With ``keep``, the newest reading is also left there as a case directory (replaced at each poll), so
the situation behind an alert can be sent to an engineer or diagnosed again.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from pylondiag.model.diagnosis import Diagnosis
from pylondiag.model.stack import CaseView


class LiveReader:
    """``reader()`` -> (view, diagnosis) of the stack on ``port`` now (any pyserial URL)."""

    def __init__(self, port: str, timeout_s: float = 3.0, keep: Path | None = None) -> None:
        self.port = port
        self.timeout_s = timeout_s
        self.keep = keep

    def __call__(self) -> tuple[CaseView, Diagnosis]:
        from pylondiag.acquire import ConsoleSession
        from pylondiag.acquire.capture import run_capture
        from pylondiag.pipeline import run_case

        with tempfile.TemporaryDirectory(prefix="pylondiag-monitor-") as tmp:
            case = Path(tmp) / "live"
            with ConsoleSession.open(self.port, timeout_s=self.timeout_s) as session:
                run_capture(session, case, port=self.port)
            result = run_case(case)
            if self.keep is not None:
                self._keep(case)
        return result.view, result.diagnosis

    def _keep(self, case: Path) -> None:
        """Replace ``keep`` with this reading's case directory (the old one removed only after)."""
        assert self.keep is not None
        self.keep.parent.mkdir(parents=True, exist_ok=True)
        staged = self.keep.with_name(self.keep.name + ".new")
        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(case, staged)
        old = self.keep.with_name(self.keep.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.keep.exists():
            self.keep.rename(old)
        staged.rename(self.keep)
        shutil.rmtree(old, ignore_errors=True)
