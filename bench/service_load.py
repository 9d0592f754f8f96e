"""Load benchmark of the web service: submissions/s and owner views/s, p50/p95/p99 latency, errors.

Starts a real ``pylondiag`` service (uvicorn, in its own process) on 127.0.0.1 only, once on SQLite and
once on a throwaway PostgreSQL cluster (Debian's binaries; skipped with a message when missing), then:

1. *submissions*: ``--submissions`` zipped simulator cases (``pylondiag.sim.write_case``) posted to
   ``POST /api/cases`` by ``--submitters`` concurrent clients;
2. waits (bounded) for the worker to diagnose them;
3. *views*: ``--owners`` concurrent owners, each reading its own case over and over — the JSON case
   (``GET /api/cases/{id}``), the private page (``GET /c/{id}?token=``) and the report
   (``GET /api/cases/{id}/report.pdf``) in turn — until ``--views`` requests or ``--seconds`` have passed.

Every phase is bounded in count and in time. Rate limits are raised for the benchmark's server only.

    .venv/bin/python bench/service_load.py [--databases sqlite postgres] [--owners 50] [--json out.json]

Scale-out (PostgreSQL only): ``--web 1 2 --workers 1 2`` runs the same phases, with the same client, once
per pair — 1 web process + 1 ``pylondiag worker``, then ``pylondiag serve --workers 2`` + 2 workers — each
on a fresh database, and prints them side by side (views/s, p95, submissions/s, diagnoses drained).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import io
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"  # the benchmark never talks to anything else


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


# -- servers ---------------------------------------------------------------------------------------
SERVER_CODE = """
import sys, uvicorn
from pathlib import Path
from pylondiag.service.app import create_app
from pylondiag.service.settings import Limits, Settings
limits = Limits(submissions_per_window=10**9, logins_per_window=10**9)
settings = Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[3] or None, limits=limits)
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def start_server(data_dir: Path, port: int, url: str | None) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER_CODE, str(data_dir), str(port), url or ""])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the service exited during start-up")
        try:
            if httpx.get(f"http://{HOST}:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the service did not start within 60 s")


def _children(pid: int) -> list[int]:
    """The web processes uvicorn's supervisor started (``multiprocessing`` spawn children of ``pid``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid and b"spawn_main" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


@dataclass
class Topology:
    """``pylondiag serve --workers web`` (no diagnosis thread) and ``workers`` ``pylondiag worker``."""

    web: int
    workers: int
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.web}x{self.workers}"

    def start(self, data_dir: Path, port: int, url: str) -> None:
        env = {
            **os.environ,
            "PYLONDIAG_RUN_WORKER": "0",
            "PYLONDIAG_SUBMISSIONS_PER_WINDOW": str(10**9),
            "PYLONDIAG_LOGINS_PER_WINDOW": str(10**9),
        }
        common = ["--data-dir", str(data_dir), "--database", url]
        serve = [sys.executable, "-m", "pylondiag", "serve", "--workers", str(self.web), "--port", str(port)]
        self.procs.append(
            subprocess.Popen([*serve, *common], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        _wait_healthy(self.procs[0], port)
        worker = [sys.executable, "-m", "pylondiag", "worker", *common]
        self.procs += [
            subprocess.Popen(worker, env=env, stdout=subprocess.DEVNULL) for _ in range(self.workers)
        ]
        deadline = time.monotonic() + 120
        while len(self.web_pids()) < self.web and time.monotonic() < deadline:
            time.sleep(0.5)

    def web_pids(self) -> list[int]:
        """The processes answering HTTP (the supervisor only waits)."""
        if not self.procs:
            return []
        return _children(self.procs[0].pid) if self.web > 1 else [self.procs[0].pid]

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _wait_healthy(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the service exited during start-up")
        try:
            if httpx.get(f"http://{HOST}:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the service did not start within 120 s")


class Postgres:
    """A throwaway cluster: initdb + pg_ctl on a free port, socket in a temp dir (as ``postgres`` if root)."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise FileNotFoundError("no PostgreSQL binaries in /usr/lib/postgresql/*/bin")
        self.bindir = Path(found[-1]).parent
        self.base = Path(tempfile.mkdtemp(prefix="pylondiag-bench-pg-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.base.chmod(0o755)
        self.port = free_port()
        data = self.base / "data"
        subprocess.run(
            [
                *self.as_user,
                str(self.bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "pylondiag",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        opts = f"-p {self.port} -k {self.base} -c listen_addresses={HOST} -c max_connections=200"
        subprocess.run(
            [
                *self.as_user,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(self.base / "log"),
                "-o",
                opts,
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        self.url = f"postgresql+psycopg://pylondiag@{HOST}:{self.port}/postgres"

    def create_db(self, name: str) -> str:
        """A fresh database of this cluster; its URL."""
        import psycopg

        dsn = f"host={HOST} port={self.port} user=pylondiag dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        subprocess.run(
            [
                *self.as_user,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.base / "data"),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            capture_output=True,
        )
        shutil.rmtree(self.base, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- load ------------------------------------------------------------------------------------------
@dataclass
class Phase:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    server_cpu_s: float = float("nan")
    """CPU the server process spent during the phase, shared out over the request kinds by count."""
    client_cpu_s: float = float("nan")
    """CPU this load generator spent during the phase (it runs on the same cores as the server)."""

    def record(self, started: float, ok: bool, what: str) -> None:
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        if not ok:
            self.errors[what] = self.errors.get(what, 0) + 1

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float:
            if not lat:
                return float("nan")
            return round(lat[min(len(lat) - 1, round(p / 100 * (len(lat) - 1)))], 1)

        return {
            "requests": len(lat),
            "per_second": round(len(lat) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": pct(50),
            "p95_ms": pct(95),
            "p99_ms": pct(99),
            "mean_ms": round(statistics.fmean(lat), 1) if lat else float("nan"),
            "server_cpu_ms_per_request": round(self.server_cpu_s * 1000 / len(lat), 2) if lat else None,
            "client_cpu_ms_per_request": round(self.client_cpu_s * 1000 / len(lat), 2) if lat else None,
            "errors": sum(self.errors.values()),
            "error_kinds": self.errors,
        }


def make_cases(n: int, workdir: Path) -> list[bytes]:
    """``n`` zipped simulator cases (a few scenarios and seeds; the answer key ``label.json`` left out)."""
    from pylondiag.sim import list_scenarios, write_case

    scenarios = [
        s
        for s in ("cell_imbalance", "weak_cell", "dip_duplicate_address", "healthy", "thermal_intermittent")
        if s in list_scenarios()
    ] or list_scenarios()[:3]
    zips: list[bytes] = []
    distinct = min(n, 10)
    for i in range(distinct):
        out = write_case(scenarios[i % len(scenarios)], i, workdir / f"case{i}")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(p for p in Path(out).rglob("*") if p.is_file() and p.name != "label.json"):
                zf.write(path, path.relative_to(out).as_posix())
        zips.append(buf.getvalue())
    return [zips[i % distinct] for i in range(n)]


async def submissions(
    base: str, zips: list[bytes], concurrency: int, time_cap: float
) -> tuple[Phase, list[dict[str, str]]]:
    phase, created = Phase("submissions"), []
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for z in zips:
        queue.put_nowait(z)
    deadline = time.monotonic() + time_cap

    async def submitter(client: httpx.AsyncClient) -> None:
        while not queue.empty() and time.monotonic() < deadline:
            data = queue.get_nowait()
            t = time.perf_counter()
            try:
                r = await client.post("/api/cases", files={"case": ("case.zip", data, "application/zip")})
                ok = r.status_code == 201
                phase.record(t, ok, f"HTTP {r.status_code}")
                if ok:
                    created.append(r.json())
            except httpx.HTTPError as exc:
                phase.record(t, False, type(exc).__name__)

    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await asyncio.gather(*(submitter(client) for _ in range(concurrency)))
    phase.seconds = time.perf_counter() - start
    return phase, created


async def wait_diagnosed(base: str, created: list[dict[str, str]], time_cap: float) -> float:
    start = time.monotonic()
    pending = list(created)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while pending and time.monotonic() - start < time_cap:
            still = []
            for c in pending:
                r = await client.get(
                    f"/api/cases/{c['id']}", headers={"Authorization": f"Bearer {c['access_token']}"}
                )
                if r.json()["diagnosis"]["state"] not in ("done", "failed"):
                    still.append(c)
            pending = still
            if pending:
                await asyncio.sleep(0.5)
    if pending:
        print(f"  {len(pending)} case(s) still undiagnosed after {time_cap:.0f} s", file=sys.stderr)
    return time.monotonic() - start


def wait_reports(data_dir: Path, created: list[dict[str, str]], time_cap: float) -> float:
    """Seconds until the worker has rendered every case's v1 HTML and PDF report (bounded)."""
    start = time.monotonic()
    # v1.preliminary.pdf since reports are marked preliminary; v1.pdf from older versions of the service
    reports = data_dir / "reports"
    wanted = [
        (reports / c["id"] / f"v1.preliminary.{fmt}", reports / c["id"] / f"v1.{fmt}")
        for c in created
        for fmt in ("html", "pdf")
    ]

    def missing_now() -> int:
        return sum(not (a.exists() or b.exists()) for a, b in wanted)

    while time.monotonic() - start < time_cap and missing_now():
        time.sleep(0.5)
    missing = missing_now()
    if missing:
        print(f"  {missing} report(s) not rendered after {time_cap:.0f} s", file=sys.stderr)
    return time.monotonic() - start


class RawConnection:
    """One owner's keep-alive HTTP/1.1 connection, written on asyncio streams.

    The view phases use it instead of httpx because the load generator shares the cores with the server:
    httpx spends several ms of CPU per request in this process, which queues the owners' requests in the
    generator's own event loop and is then measured as server latency. This client costs ~0.1 ms.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, int]:
        """``(status, body bytes)`` of ``GET path``; reconnects when the server closed the connection."""
        if self.writer is None or self.reader is None or self.reader.at_eof():
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *fields = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        meta = {k.strip().lower(): v.strip() for k, _, v in (f.partition(":") for f in fields if f)}
        if meta.get("transfer-encoding", "").lower() == "chunked":
            size = 0
            while True:
                n = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(n + 2)
                size += n
                if n == 0:
                    break
        else:
            size = len(await self.reader.readexactly(int(meta.get("content-length", "0"))))
        if meta.get("connection", "").lower() == "close":
            await self.close()
        return status, size

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def views(
    base: str,
    created: list[dict[str, str]],
    owners: int,
    total: int,
    time_cap: float,
    think_s: float = 0.0,
    client_kind: str = "raw",
) -> dict[str, Phase]:
    phases = {k: Phase(k) for k in ("case_json", "owner_page", "report_pdf")}
    counter = {"n": 0}
    deadline = time.monotonic() + time_cap
    port = int(base.rsplit(":", 1)[1])

    async def owner(client: httpx.AsyncClient | None, case: dict[str, str]) -> None:
        auth = {"Authorization": f"Bearer {case['access_token']}"}
        urls: tuple[tuple[str, str, dict[str, str]], ...] = (
            ("case_json", f"/api/cases/{case['id']}", auth),
            ("owner_page", f"/c/{case['id']}?token={case['access_token']}", {}),
            ("report_pdf", f"/api/cases/{case['id']}/report.pdf", auth),
        )
        raw = RawConnection(port) if client is None else None
        i = 0
        try:
            while counter["n"] < total and time.monotonic() < deadline:
                counter["n"] += 1
                kind, url, headers = urls[i % 3]
                i += 1
                t = time.perf_counter()
                try:
                    if raw is not None:
                        status, _ = await asyncio.wait_for(raw.get(url, headers), 60)
                    else:
                        assert client is not None
                        status = (await client.get(url, headers=headers)).status_code
                    phases[kind].record(t, status == 200, f"HTTP {status}")
                except (
                    httpx.HTTPError,
                    OSError,
                    ValueError,
                    asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError,
                    TimeoutError,
                ) as exc:
                    phases[kind].record(t, False, type(exc).__name__)
                    if raw is not None:
                        await raw.close()
                if think_s:
                    await asyncio.sleep(think_s)
        finally:
            if raw is not None:
                await raw.close()

    start = time.perf_counter()
    if client_kind == "raw":
        await asyncio.gather(*(owner(None, created[i % len(created)]) for i in range(owners)))
    else:
        limits = httpx.Limits(max_connections=owners, max_keepalive_connections=owners)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            await asyncio.gather(*(owner(client, created[i % len(created)]) for i in range(owners)))
    elapsed = time.perf_counter() - start
    for p in phases.values():
        p.seconds = elapsed
    return phases


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measured(pid: int | list[int], run: Coroutine[Any, Any, dict[str, Phase]]) -> dict[str, Phase]:
    """Run one load phase and charge the server's CPU time (all its web processes) to its requests."""
    pids = pid if isinstance(pid, list) else [pid]
    before, own_before = sum(cpu_seconds(p) for p in pids), _own_cpu()
    phases = asyncio.run(run)
    spent, own = sum(cpu_seconds(p) for p in pids) - before, _own_cpu() - own_before
    total = max(1, sum(len(p.latencies_ms) for p in phases.values()))
    for p in phases.values():
        p.server_cpu_s = spent * len(p.latencies_ms) / total
        p.client_cpu_s = own * len(p.latencies_ms) / total
    return phases


def run_backend(
    name: str,
    url: str | None,
    args: argparse.Namespace,
    zips: list[bytes],
    topology: Topology | None = None,
) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"pylondiag-bench-{name}-"))
    port = free_port()
    base = f"http://{HOST}:{port}"
    if topology is not None:
        assert url is not None
        topology.start(data_dir, port, url)
        server: Topology | subprocess.Popen[bytes] = topology
        pids: int | list[int] = topology.web_pids()
    else:
        server = proc = start_server(data_dir, port, url)
        pids = proc.pid
    try:
        print(f"{name}: submitting {len(zips)} cases ...", file=sys.stderr)
        sub, created = asyncio.run(submissions(base, zips, args.submitters, args.seconds))
        if not created:
            raise SystemExit("no submission succeeded")
        print(f"{name}: waiting for the diagnoses ...", file=sys.stderr)
        diag_s = asyncio.run(wait_diagnosed(base, created, args.diagnosis_seconds))
        print(f"{name}: waiting for the background report rendering ...", file=sys.stderr)
        reports_s = wait_reports(data_dir, created, args.diagnosis_seconds)
        print(f"{name}: 1 owner viewing ...", file=sys.stderr)
        kind = args.client
        single = measured(pids, views(base, created, 1, min(300, args.views), args.seconds, 0, kind))
        print(f"{name}: {args.owners} owners viewing ...", file=sys.stderr)
        all_views = measured(pids, views(base, created, args.owners, args.views, args.seconds, 0, kind))
        paced: dict[str, Phase] | None = None
        if args.think_ms:
            print(
                f"{name}: {args.owners} owners viewing, {args.think_ms:.0f} ms between views ...",
                file=sys.stderr,
            )
            paced = measured(
                pids,
                views(base, created, args.owners, args.views, args.seconds, args.think_ms / 1000, kind),
            )
    finally:
        if isinstance(server, Topology):
            server.stop()
        else:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "database": name,
        "topology": topology.label if topology else None,
        "submissions": sub.summary(),
        "diagnosis_drain_s": round(diag_s, 1),
        "reports_rendered_s": round(reports_s, 1),
        "views_1_owner": _with_total(single),
        "views": _with_total(all_views),
        "views_paced": _with_total(paced) if paced else None,
        "think_ms": args.think_ms,
        "owners": args.owners,
        "client": args.client,
        "load_average": os.getloadavg(),
    }


def _with_total(phases: dict[str, Phase]) -> dict[str, Any]:
    combined = Phase(
        "all",
        seconds=next(iter(phases.values())).seconds,
        server_cpu_s=sum(p.server_cpu_s for p in phases.values()),
        client_cpu_s=sum(p.client_cpu_s for p in phases.values()),
    )
    for p in phases.values():
        combined.latencies_ms += p.latencies_ms
        for k, v in p.errors.items():
            combined.errors[k] = combined.errors.get(k, 0) + v
    return {k: p.summary() for k, p in phases.items()} | {"all": combined.summary()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--databases", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"]
    )
    parser.add_argument("--submissions", type=int, default=100, help="cases to submit (default 100)")
    parser.add_argument("--submitters", type=int, default=10, help="concurrent submitting clients")
    parser.add_argument("--owners", type=int, default=50, help="concurrent owners viewing (default 50)")
    parser.add_argument("--views", type=int, default=3000, help="view requests in all (default 3000)")
    parser.add_argument("--seconds", type=float, default=60.0, help="time cap per load phase (s)")
    parser.add_argument(
        "--diagnosis-seconds",
        type=float,
        default=300.0,
        help="time cap for the worker to diagnose the submitted cases (s)",
    )
    parser.add_argument(
        "--think-ms",
        type=float,
        default=500.0,
        help="pause of each owner between views in the paced run (0: no paced run)",
    )
    parser.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="view phases' HTTP client: raw = a minimal keep-alive HTTP/1.1 client on asyncio streams "
        "(default; ~0.1 ms CPU per request), httpx = httpx.AsyncClient (several ms per request, which "
        "on shared cores is measured as latency)",
    )
    parser.add_argument(
        "--web",
        type=int,
        nargs="+",
        help="scale-out runs on PostgreSQL: web processes of each run (with --workers, paired: "
        "--web 1 2 --workers 1 2 = 1x1 then 2x2)",
    )
    parser.add_argument(
        "--workers", type=int, nargs="+", help="`pylondiag worker` processes of each run (see --web)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    if (args.web is None) != (args.workers is None) or (args.web and len(args.web) != len(args.workers)):
        parser.error("--web and --workers go together, with as many numbers each")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop the servers
    with tempfile.TemporaryDirectory() as work:
        zips = make_cases(args.submissions, Path(work))
    if args.web:
        return scale_out(args, zips)
    results = []
    for name in args.databases:
        pg = None
        try:
            if name == "postgres":
                try:
                    pg = Postgres()
                except (FileNotFoundError, subprocess.CalledProcessError) as exc:
                    print(f"postgres: skipped ({exc})", file=sys.stderr)
                    continue
            results.append(run_backend(name, pg.url if pg else None, args, zips))
        finally:
            if pg:
                pg.stop()
    for r in results:
        s = r["submissions"]
        print(
            f"\n== {r['database']}: {s['requests']} submissions, {s['per_second']}/s, "
            f"p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, p99 {s['p99_ms']} ms, errors {s['errors']}; "
            f"diagnoses drained in {r['diagnosis_drain_s']} s, "
            f"reports rendered {r['reports_rendered_s']} s later"
        )
        print(
            f"   load average during the run: {', '.join(f'{x:.1f}' for x in r['load_average'])}; "
            f"view client: {r['client']}"
        )
        runs = [("1 owner", "views_1_owner"), (f"{r['owners']} owners", "views")]
        if r["views_paced"]:
            runs.append((f"{r['owners']}+{r['think_ms']:.0f}ms", "views_paced"))
        for label, key in runs:
            for kind, v in r[key].items():
                print(
                    f"   {label:>12} {kind:<11} {v['requests']:>5} req {v['per_second']:>7}/s  "
                    f"p50 {v['p50_ms']:>7} ms  p95 {v['p95_ms']:>7} ms  p99 {v['p99_ms']:>7} ms  "
                    f"cpu/req server {v['server_cpu_ms_per_request']} ms, "
                    f"client {v['client_cpu_ms_per_request']} ms  "
                    f"errors {v['errors']} {v['error_kinds'] or ''}"
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    failed = any(
        r["submissions"]["errors"] or r["views"]["all"]["errors"] or r["views_1_owner"]["all"]["errors"]
        for r in results
    )
    return 1 if failed else 0


def scale_out(args: argparse.Namespace, zips: list[bytes]) -> int:
    """Each --web/--workers pair on its own fresh PostgreSQL database, the same client; side by side."""
    try:
        pg = Postgres()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        print(f"postgres: unavailable ({exc})", file=sys.stderr)
        return 1
    results = []
    try:
        for web, workers in zip(args.web, args.workers, strict=True):
            topology = Topology(web, workers)
            url = pg.create_db(f"bench_{web}x{workers}")
            print(f"== {topology.label}: {web} web process(es), {workers} worker(s)", file=sys.stderr)
            results.append(run_backend(f"postgres {topology.label}", url, args, zips, topology))
    finally:
        pg.stop()
    print(f"\n== scale-out on PostgreSQL, {args.owners} owners, client {args.client}; web x workers:")
    for r in results:
        s, v, one = r["submissions"], r["views"]["all"], r["views_1_owner"]["all"]
        print(
            f"   {r['topology']:>5}  submissions {s['per_second']:>6}/s (p95 {s['p95_ms']} ms, errors "
            f"{s['errors']}), {s['requests']} diagnosed in {r['diagnosis_drain_s']} s "
            f"({s['requests'] / max(r['diagnosis_drain_s'], 0.1):.2f}/s) | {args.owners} owners: "
            f"{v['per_second']:>7} views/s p50 {v['p50_ms']} p95 {v['p95_ms']} ms, server cpu/req "
            f"{v['server_cpu_ms_per_request']} ms, errors {v['errors']} | 1 owner: {one['per_second']}/s "
            f"p95 {one['p95_ms']} ms | load average {', '.join(f'{x:.1f}' for x in r['load_average'])}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    failed = any(r["submissions"]["errors"] or r["views"]["all"]["errors"] for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
