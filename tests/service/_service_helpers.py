"""Helpers shared by the service tests (constants, waiting, the PostgreSQL cluster handle)."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from pylondiag.service.diagnose_child import MiB
from pylondiag.service.settings import Limits, Settings

ENGINEER_EMAIL = "eng@example.com"
ENGINEER_PASSWORD = "a long engineer password"
IMBALANCE_CAPTURE = (
    "bat_balancing_imbalance__US2000C__GPollakDiener_Pylontech-Battery-Investigation_20260713.txt"
)

TEST_LIMITS = Limits(
    max_request_bytes=3_000_000,
    max_file_bytes=1_000_000,
    max_files=20,
    max_total_bytes=2_000_000,
    submissions_per_window=1000,
    logins_per_window=1000,
)

FOUR_MODULE_CASE = """\
schema: pylondiag.case/1
case_id: "test-four"
observed_at: 2026-07-13T09:00
site:
  location: garage
inverter:
  brand: sunsynk
  battery_type: lithium
  battery_protocol: "00"
  configured_modules: 4
stack:
  - {position: 1, model: US2000C, installed: 2019-06, led: green_flashing, dip: "0000", role: master}
  - {position: 2, model: US2000C, installed: 2019-06, led: green_flashing, dip: "0000", role: slave}
  - {position: 3, model: US2000C, installed: 2019-06, led: amber, dip: "0000", role: slave}
  - {position: 4, model: US2000C, installed: 2019-06, led: green_flashing, dip: "0000", role: slave}
symptoms: [capacity_drop]
"""


def submit_api(client: Any, capture: bytes, case_yaml: str = FOUR_MODULE_CASE) -> dict[str, str]:
    """``POST /api/cases`` of ``case_yaml`` + one console capture; the 201 answer (``client``: a
    TestClient or an httpx client of a real server)."""
    r = client.post(
        "/api/cases",
        data={"case_yaml": case_yaml},
        files={"console/session.txt": ("session.txt", capture, "text/plain")},
    )
    assert r.status_code == 201, r.text
    answer: dict[str, str] = r.json()
    return answer


def check_stored_diagnosis(client: TestClient, pk: str, doc: Any, validator: Path) -> None:
    """``shared/tools/validate_diagnosis.py`` on the stored case (a local copy of it, whatever the store)
    and ``doc`` (a diagnosis document, or its JSON text)."""
    with client.app.state.ctx.store.local_copy(pk) as case_dir:  # type: ignore[attr-defined]
        assert_valid_diagnosis(case_dir, doc, validator)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- PostgreSQL ----------------------------------------------------------------------------------
class PgCluster:
    def __init__(self, port: int) -> None:
        self.port = port

    @property
    def admin_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=pylondiag dbname=postgres"

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://pylondiag@127.0.0.1:{self.port}/{dbname}"

    def create_db(self) -> str:
        import psycopg

        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return name

    def drop_db(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# -- big, real cases (issue 15 items 11, 12) -------------------------------------------------------
BIG_LIMITS = replace(TEST_LIMITS, max_request_bytes=8 * MiB, max_file_bytes=6 * MiB, max_total_bytes=7 * MiB)

INVERTER_CASE = """\
schema: pylondiag.case/1
case_id: "year-of-events"
observed_at: 2026-12-01T10:00
site:
  timezone: Europe/London
stack:
  - {position: 1, model: US3000C, installed: 2022-03, led: green, dip: "0000", role: master, address: 1}
  - {position: 2, model: US3000C, installed: 2022-03, led: green, dip: "0000", role: slave, address: 2}
symptoms: [intermittent_trips, bms_comms_alarm]
inverter:
  brand: deye
  battery_type: Lithium (use BMS)
  battery_protocol: "00"
"""


def year_of_events(rows: int = 100_000) -> bytes:
    """A Deye-style event export: BMS communication warnings, faults and clears every 4 minutes, dated
    day first with a 12-hour clock (``31/12/2026 11:59:00 PM``). Logs whose times are laid out alike
    (ISO, day-first, offsets) are read as columns (100,000 rows in ~0.3 s); a 12-hour clock is read row
    by row, one event object per row (~3 s CPU, ~400 MiB): the slow path that remains, which these
    tests need to be slow for real."""
    start = datetime(2026, 1, 1)
    kinds = [("W31", "Battery_comm_warn", "warning"), ("F58", "BMS_Comm_Fail", "fault")]
    kinds.append(("F58", "BMS_Comm_Fail cleared", "info"))
    lines = ["time,code,message,severity"]
    for i in range(rows):
        code, message, severity = kinds[i % 3]
        lines.append(f"{start + timedelta(minutes=4 * i):%d/%m/%Y %I:%M:%S %p},{code},{message},{severity}")
    return ("\n".join(lines) + "\n").encode()


def submit(client: TestClient, case_yaml: str, files: dict[str, bytes]) -> dict[str, str]:
    parts = {name: (name.rsplit("/", 1)[-1], data, "text/plain") for name, data in files.items()}
    r = client.post("/api/cases", data={"case_yaml": case_yaml}, files=parts)
    assert r.status_code == 201, r.text
    return r.json()


def state_of(client: TestClient, created: dict[str, str]) -> dict[str, Any]:
    r = client.get(
        f"/api/cases/{created['id']}", headers={"Authorization": f"Bearer {created['access_token']}"}
    )
    return r.json()


def assert_valid_diagnosis(case_dir: Path, document: dict[str, Any] | str, validator: Path) -> None:
    """``shared/tools/validate_diagnosis.py`` accepts ``document`` (or its JSON text) for ``case_dir``."""
    text = document if isinstance(document, str) else json.dumps(document)
    check = subprocess.run(
        [sys.executable, str(validator), str(case_dir), "-"], input=text, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def worker_of(client: TestClient) -> Any:
    return client.app.state.ctx.worker  # type: ignore[attr-defined]


def drain(client: TestClient) -> None:
    assert worker_of(client).drain(timeout=120)


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


# -- S3 -------------------------------------------------------------------------------------------
class S3Bucket:
    """A bucket on the tests' local S3-compatible server."""

    def __init__(self, endpoint: str, name: str) -> None:
        self.endpoint = endpoint
        self.name = name

    def client(self) -> Any:
        import boto3

        return boto3.session.Session().client("s3", endpoint_url=self.endpoint)

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def url(self, prefix: str = "pylondiag") -> str:
        return f"s3://{self.name}/{prefix}"

    def settings(self, data_dir: Path, prefix: str = "pylondiag", **more: Any) -> Settings:
        """Service settings that keep the evidence in this bucket under ``prefix``."""
        where = {"evidence_store": self.url(prefix), "s3_endpoint_url": self.endpoint}
        return Settings(data_dir=data_dir, **where, **more)


def check_orphan_sweep(client: TestClient, capture: bytes) -> None:
    """A case's files without a database row (a submission killed between storing its files and committing
    its row) are removed by the worker's sweep once old enough; real cases and young files stay."""
    from pylondiag.service.worker import sweep_orphans

    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    real = submit_api(client, capture)["id"]
    orphan = "case-0123456789ab"
    ctx.store.blobs.put(f"cases/{orphan}/case.yaml", b"schema: pylondiag.case/1\n")
    ctx.store.blobs.put(f"cases/{orphan}/console/pwr.txt", b"pwr\r\n")
    assert set(ctx.store.stored_cases()) == {real, orphan}
    assert sweep_orphans(ctx.db, ctx.store) == []  # written just now: maybe a submission in flight
    assert sweep_orphans(ctx.db, ctx.store, older_than_s=-60) == [orphan]
    assert set(ctx.store.stored_cases()) == {real} and not ctx.store.exists(orphan)
    assert ctx.store.exists(real)
