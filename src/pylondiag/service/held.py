"""Uploads kept across a refused intake form, so the owner never chooses the same files twice.

When the form comes back with an error, the files that were fine are kept in the evidence store under
``held/<form key digest>/`` (the form's random idempotency key, so only the form that sent them can claim
them; in the store, so the next send may reach another web process or machine) and listed on the form,
each with a "keep" box. The next send of that form takes them in. Held files older than :data:`MAX_AGE_S`
are removed.
"""

from __future__ import annotations

import hashlib

from pylondiag.service.storage import Blobs, older_than
from pylondiag.service.uploads import IncomingFile, safe_relpath

MAX_AGE_S = 24 * 3600
"""Held files of forms never sent again are removed after a day (s)."""

ROOT = "held/"


class HeldUploads:
    def __init__(self, blobs: Blobs) -> None:
        self.blobs = blobs

    def _prefix(self, key: str) -> str:
        return ROOT + hashlib.sha256(("held:" + key).encode()).hexdigest()[:40] + "/"

    def keep(self, key: str, files: list[IncomingFile]) -> None:
        """Keep ``files`` for the form ``key`` (added to what it already holds; a path again replaces)."""
        self.sweep()
        prefix = self._prefix(key)
        for f in files:
            self.blobs.put(prefix + safe_relpath(f.path), f.data)

    def listed(self, key: str) -> list[tuple[str, int]]:
        """``(path, size)`` of the files held for form ``key``."""
        if not key:
            return []
        prefix = self._prefix(key)
        return [(b.key[len(prefix) :], b.size) for b in self.blobs.listing(prefix)]

    def take(self, key: str, chosen: set[str]) -> list[IncomingFile]:
        """The held files of form ``key`` the owner kept (``chosen`` paths)."""
        prefix = self._prefix(key)
        paths = [path for path, _ in self.listed(key) if path in chosen]
        return [IncomingFile(path, self.blobs.get(prefix + path)) for path in paths]

    def drop(self, key: str) -> None:
        self.blobs.delete_prefix(self._prefix(key))

    def sweep(self) -> None:
        """Remove held files older than :data:`MAX_AGE_S`."""
        self.blobs.delete(older_than(self.blobs.listing(ROOT), MAX_AGE_S))
