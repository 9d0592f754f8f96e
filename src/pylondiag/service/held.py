"""Uploads kept across a refused intake form, so the owner never chooses the same files twice.

When the form comes back with an error, the files that were fine are kept under
``<data_dir>/held/<form key digest>/`` (the form's random idempotency key, so only the form that sent them
can claim them) and listed on the form, each with a "keep" box. The next send of that form takes them in.
Held files older than :data:`MAX_AGE_S` are removed.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

from pylondiag.service.uploads import IncomingFile, safe_relpath

MAX_AGE_S = 24 * 3600
"""Held files of forms never sent again are removed after a day (s)."""


class HeldUploads:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "held"

    def _dir(self, key: str) -> Path:
        return self.root / hashlib.sha256(("held:" + key).encode()).hexdigest()[:40]

    def keep(self, key: str, files: list[IncomingFile]) -> None:
        """Keep ``files`` for the form ``key`` (added to what it already holds; a path again replaces)."""
        self.sweep()
        base = self._dir(key)
        for f in files:
            target = base / safe_relpath(f.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.data)

    def listed(self, key: str) -> list[tuple[str, int]]:
        """``(path, size)`` of the files held for form ``key``."""
        base = self._dir(key)
        if not key or not base.is_dir():
            return []
        return sorted(
            (p.relative_to(base).as_posix(), p.stat().st_size) for p in base.rglob("*") if p.is_file()
        )

    def take(self, key: str, chosen: set[str]) -> list[IncomingFile]:
        """The held files of form ``key`` the owner kept (``chosen`` paths)."""
        base = self._dir(key)
        return [
            IncomingFile(path, (base / path).read_bytes()) for path, _ in self.listed(key) if path in chosen
        ]

    def drop(self, key: str) -> None:
        shutil.rmtree(self._dir(key), ignore_errors=True)

    def sweep(self) -> None:
        if not self.root.is_dir():
            return
        old = time.time() - MAX_AGE_S
        for entry in self.root.iterdir():
            try:
                if entry.stat().st_mtime < old:
                    shutil.rmtree(entry, ignore_errors=True)
            except OSError:
                continue
