"""What every web process of one deployment shares, kept in the database they all use: the key that
signs cookies, and the rate limits.

Nothing here lives in one process's memory, so ``pylondiag serve --workers N`` (and several machines on
one PostgreSQL database) behave as one service: a session cookie or CSRF token made by one process is
good in every other, and a limit reached through one process holds in all of them.

**The signing key** comes from ``PYLONDIAG_SECRET_KEY`` when set, else from the ``service_keys`` table,
made once by whichever process starts first (an ``INSERT`` that only one can win). The database rather
than a required setting, because it is the one thing every process on every machine already shares:
the key cannot differ between machines (a mismatch would log engineers out and refuse forms depending on
which process answers — hard to see, easy to cause), and nothing has to be copied to a new machine. The
key gives nothing the database does not already hold (sessions are checked against the account's row).
Whoever wants it outside the database (e.g. database backups read by others) sets the variable, the same
on every machine. A ``<data_dir>/secret_key`` file from earlier versions is adopted on first start, so
engineers stay logged in across the upgrade.

**Rate limits** (:class:`SharedRateLimiter`): a sliding window per key, the events' times in one row
per key. Each change locks the key's row first — one upsert (``INSERT ... ON CONFLICT DO UPDATE``), which
on PostgreSQL holds the row lock until commit and on SQLite takes the database's write lock — then reads
and writes the events, so concurrent requests through any number of processes are counted one after the
other: never more than ``limit`` events per window. Times are Unix seconds of the machine that counts
(machines of one deployment keep their clocks in step, e.g. NTP).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pylondiag.service.db.models import RateLimitBucket, ServiceKey
from pylondiag.service.db.session import Database

COOKIE_KEY: Final = "cookies"
"""The ``service_keys`` row that signs session cookies and CSRF tokens."""

MAX_KEY_CHARS: Final = 200


def signing_key(db: Database, data_dir: Path, given: str | None = None) -> str:
    """The key that signs cookies: ``given`` (``PYLONDIAG_SECRET_KEY``), else the database's, made on
    first use (from an earlier version's ``<data_dir>/secret_key`` when there is one)."""
    if given:
        return given
    with db.session() as session:
        row = session.get(ServiceKey, COOKIE_KEY)
        if row is not None:
            return row.value
    legacy = data_dir / "secret_key"
    candidate = legacy.read_text(encoding="ascii").strip() if legacy.is_file() else ""
    try:
        with db.session() as session:
            session.add(ServiceKey(name=COOKIE_KEY, value=candidate or secrets.token_urlsafe(48)))
    except IntegrityError:
        pass  # another process made it first: theirs is the key
    with db.session() as session:
        return session.get_one(ServiceKey, COOKIE_KEY).value


class SharedRateLimiter:
    """At most ``limit`` events per ``window_s`` seconds per key, counted in the database.

    ``scope`` prefixes the keys (``submit``, ``login``). :meth:`acquire` records an event on every key
    given, or on none when one of them is at its limit (then it answers the seconds to wait).
    """

    def __init__(
        self,
        db: Database,
        scope: str,
        limit: int,
        window_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.scope = scope
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._swept = 0.0
        self._sweep_lock = threading.Lock()

    def _row_key(self, key: str) -> str:
        full = f"{self.scope}:{key}"
        if len(full) <= MAX_KEY_CHARS:
            return full
        return f"{self.scope}:sha256:{hashlib.sha256(key.encode('utf-8', 'replace')).hexdigest()}"

    def _live(self, events: list[float] | None, now: float) -> list[float]:
        return [t for t in (events or []) if now - t < self.window_s]

    def _wait(self, live: list[float], now: float) -> float | None:
        if len(live) < self.limit:
            return None
        return min(self.window_s, max(0.0, self.window_s - (now - live[len(live) - self.limit])))

    def _lock(self, session: Session, row_key: str, now: float) -> list[float]:
        """Lock the key's row (made if missing) for this transaction; returns its events."""
        values: dict[str, Any] = {"key": row_key, "events": [], "touched": now}
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            pg = postgresql.insert(RateLimitBucket).values(**values)
            session.execute(pg.on_conflict_do_update(index_elements=["key"], set_={"touched": now}))
        elif dialect == "sqlite":
            lite = sqlite.insert(RateLimitBucket).values(**values)
            session.execute(lite.on_conflict_do_update(index_elements=["key"], set_={"touched": now}))
        else:  # other databases: best effort (a concurrent first event may fail once)
            if session.get(RateLimitBucket, row_key) is None:
                session.add(RateLimitBucket(**values))
                session.flush()
        found = session.execute(select(RateLimitBucket.events).where(RateLimitBucket.key == row_key))
        return list(found.scalar_one() or [])

    def acquire(self, *keys: str) -> float | None:
        """Record one event on every key (``None``), or on none and answer the seconds to wait."""
        now = self.clock()
        self._sweep(now)
        with self.db.session() as session:
            # rows locked in one order everywhere: two requests with the same keys cannot deadlock
            locked = {k: self._lock(session, k, now) for k in sorted({self._row_key(k) for k in keys})}
            now = max(now, self.clock())  # the time once the rows are ours: after every event they hold
            live = {k: self._live(events, now) for k, events in locked.items()}
            waits = [w for w in (self._wait(events, now) for events in live.values()) if w is not None]
            if waits:
                return max(waits)
            for row_key, events in live.items():
                self._store(session, row_key, [*events, now])
        return None

    def release(self, *keys: str) -> None:
        """Take back the newest event of each key (a login that turned out right does not count)."""
        now = self.clock()
        with self.db.session() as session:
            for row_key in sorted({self._row_key(k) for k in keys}):
                events = self._live(self._lock(session, row_key, now), now)
                if events:
                    self._store(session, row_key, events[:-1])

    def _store(self, session: Session, row_key: str, events: list[float]) -> None:
        row = session.get_one(RateLimitBucket, row_key)
        row.events = events[-self.limit :]

    def _sweep(self, now: float) -> None:
        """Delete rows untouched for a window (at most once a window per process)."""
        with self._sweep_lock:
            if now - self._swept < self.window_s:
                return
            self._swept = now
        prefix = f"{self.scope}:"
        with self.db.session() as session:
            session.execute(
                delete(RateLimitBucket).where(
                    RateLimitBucket.touched < now - self.window_s, RateLimitBucket.key.startswith(prefix)
                )
            )
