"""Loader throughput against a plain ``psql \\copy`` of the same files, measured in one run.

``run(work, dsn)`` writes a deterministic landing set of about 300k rows (every contract
table, two batches per source, erp in GB18030, ~26 MB), then, ``REPEAT`` times and
interleaved, times ``load_landing`` (``workers`` connections) into ``raw`` of a fresh
database next to ``dsn`` (its raw tables created before the clock starts, as psql's are),
and two ``psql`` sessions that ``\\copy`` each file, one after the other, into tables of a
fresh database: one into text columns (``raw_plain``), one into columns of the contract's
types (``raw_typed``). The databases are dropped afterwards.
``ratio`` is the median of the per-round ratios ours / psql text rows per second (goal
>= 0.8), ``ratio_vs_typed`` the same against the typed \\copy. ``cpu_ratio`` (and
``cpu_ratio_vs_typed``) compare the CPU seconds each way needs, server and client together:
unlike the wall-clock ratios they do not depend on what else runs on the machine. With
``workers`` idle cores the wall-clock ratio can reach about ``workers`` x ``cpu_ratio``
(psql loads on one core).

    .venv/bin/python bench/bench_load.py <dsn> [work_dir] [workers]
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import conninfo, sql

from sources.contract import Contract, load_contract, pg_encoding, raw_table_name
from sources.loader import ensure_raw_schema, load_landing

REPO = Path(__file__).resolve().parent.parent


TOTAL_ROWS = 300_000
REPEAT = 5
BATCHES = ("20240301", "20240401")
# Relative volume of each table (orders and their lines dominate, as in a real ERP export).
WEIGHTS = {
    ("erp", "order_lines"): 30,
    ("erp", "orders"): 12,
    ("erp", "invoices"): 10,
    ("erp", "payments"): 9,
    ("crm", "interactions"): 12,
    ("service", "tickets"): 6,
    ("lab", "sample_requests"): 4,
    ("lab", "test_feedback"): 3,
    ("crm", "contacts"): 4,
    ("erp", "customers"): 3,
    ("crm", "accounts"): 2,
    ("registry", "companies"): 2,
    ("projects", "projects"): 2,
    ("catalog", "materials"): 1,
}
CITIES = ["杭州", "上海", "北京", "深圳", "苏州", "宁波", "西安", "成都"]
WORDS = ["煜涵", "华信", "中材", "碳谷", "新锐", "恒力", "金石", "远航"]
TEXTS = ["visit", "phone", "wechat", "email", "confirmed", "delivered", "pass", "fail"]


def _value(rng: random.Random, name: str, ctype: str, i: int, key: bool) -> str:
    if key:
        return f"{name[:3].upper()}{i:08d}" if ctype == "text" else str(i)
    if ctype == "integer":
        return str(rng.randint(0, 90))
    if ctype == "numeric":
        return f"{rng.uniform(1, 100000):.2f}"
    if ctype == "boolean":
        return rng.choice(("true", "false"))
    base = dt.datetime(2023, 7, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    moment = base + dt.timedelta(minutes=rng.randint(0, 900_000))
    if ctype == "date":
        return moment.date().isoformat()
    if ctype == "timestamptz":
        return moment.isoformat()
    if name.endswith(("_name", "_org", "address")):
        return f"{rng.choice(CITIES)}{rng.choice(WORDS)}新材料有限公司"
    if name in ("city", "province"):
        return rng.choice(CITIES)
    if name.endswith("_id") or name.endswith("_code"):
        return f"{name[:3].upper()}{rng.randint(0, 99999):06d}"
    return rng.choice(TEXTS)


def write_landing(root: Path, contract: Contract, total_rows: int = TOTAL_ROWS) -> int:
    """A deterministic landing set following the contract; returns the number of data rows."""
    rng = random.Random(1)
    weight_sum = sum(WEIGHTS.values())
    written = 0
    for (source, table), weight in WEIGHTS.items():
        spec = contract.source(source)
        tab = spec.table(table)
        per_batch = max(1, total_rows * weight // weight_sum // len(BATCHES))
        for b, batch_id in enumerate(BATCHES):
            folder = root / source / batch_id
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "_batch.json").write_text(
                json.dumps(
                    {
                        "batch_id": batch_id,
                        "source": source,
                        "extracted_at": f"{batch_id}T00:00:00+08:00",
                    }
                )
            )
            with (folder / f"{table}.csv").open("w", encoding=spec.encoding, newline="") as fh:
                out = csv.writer(fh, lineterminator="\n")
                out.writerow(tab.column_names)
                for n in range(per_batch):
                    i = b * per_batch + n
                    out.writerow(
                        [_value(rng, c.name, c.type, i, c.name in tab.key) for c in tab.columns]
                    )
                written += per_batch
    return written


def _fresh_db(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


class _CpuMeter:
    """CPU seconds (user + system) of the PostgreSQL server (postmaster, its live children
    and the children it reaped) and of this process and its children, read from /proc.
    ``None`` from ``read()`` where that is not possible (not Linux, not allowed)."""

    def __init__(self, dsn: str):
        self._postmaster: int | None = None
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        try:
            with psycopg.connect(dsn) as conn:
                data_dir = conn.execute("select current_setting('data_directory')").fetchone()[0]
            pid = int((Path(data_dir) / "postmaster.pid").read_text().split()[0])
            self._stat(pid)
            self._postmaster = pid
        except (OSError, ValueError, IndexError, psycopg.Error):
            self._postmaster = None

    @staticmethod
    def _stat(pid: int) -> tuple[int, int, int]:
        """(parent pid, own ticks, reaped children's ticks) of a process."""
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])

    def read(self) -> tuple[float, float] | None:
        """(server, client) CPU seconds so far."""
        if self._postmaster is None:
            return None
        ticks = self._stat(self._postmaster)[2]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    parent, own, reaped = self._stat(int(entry))
                except (OSError, ValueError, IndexError):
                    continue  # gone meanwhile
                if parent == self._postmaster:
                    ticks += own + reaped
        me, children = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        client = me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime
        return ticks / self._tick, client


def _cpu_used(meter: _CpuMeter, before: tuple[float, float] | None) -> float | None:
    # A backend whose session just ended counts for the postmaster only once reaped: give it
    # a moment, or its CPU is lost (psql's backend ends with psql). Outside the timed span.
    time.sleep(0.5)
    after = meter.read()
    if before is None or after is None:
        return None
    return (after[0] - before[0]) + (after[1] - before[1])


def _psql_copy(
    dsn: str, root: Path, contract: Contract, typed: bool, meter: _CpuMeter | None = None
) -> tuple[int, float, float | None]:
    """Create tables (text columns, or the contract's types if ``typed``) in schema
    raw_plain, then time one psql session \\copy-ing every file: (rows, seconds, CPU
    seconds of server + psql)."""
    commands: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create schema raw_plain")
        for path in sorted(root.glob("*/*/*.csv")):
            source, batch_id, table = path.parent.parent.name, path.parent.name, path.stem
            spec = contract.source(source)
            name = f"{raw_table_name(source, table)}__{batch_id}"
            conn.execute(
                sql.SQL("create table {} ({})").format(
                    sql.Identifier("raw_plain", name),
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(
                            sql.Identifier(c.name), sql.SQL(c.pg_type if typed else "text")
                        )
                        for c in spec.table(table).columns
                    ),
                )
            )
            commands += [
                "-c",
                f"\\copy raw_plain.{name} from '{path}' with "
                f"(format csv, header true, encoding '{pg_encoding(spec.encoding)}')",
            ]
    env = {**os.environ, "PGTZ": "Asia/Shanghai", "PGDATESTYLE": "ISO, YMD"}
    cpu_before = meter.read() if meter else None
    started = time.perf_counter()
    subprocess.run(
        ["psql", dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1", *commands],
        env=env,
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    cpu = _cpu_used(meter, cpu_before) if meter else None
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select sum((xpath('/row/c/text()', query_to_xml("
            "format('select count(*) as c from raw_plain.%I', table_name), false, true, '')))"
            "[1]::text::bigint) from information_schema.tables where table_schema = 'raw_plain'"
        ).fetchone()[0]
    return int(rows), seconds, cpu


def run(work: Path, dsn: str, workers: int = 2) -> dict:
    """Write the landing set under ``work``, load it three ways, return the measured ratios."""
    work = Path(work)
    contract = load_contract()
    root = work / "landing"
    if root.exists():
        shutil.rmtree(root)
    rows = write_landing(root, contract)

    admin = conninfo.make_conninfo(dsn, dbname="postgres")
    ours_db = f"portrait_bench_load_{os.getpid()}"
    psql_db = f"portrait_bench_psql_{os.getpid()}"
    ours_s: list[float] = []
    psql_s: list[float] = []
    typed_s: list[float] = []
    cpu: dict[str, list[float | None]] = {"ours": [], "text": [], "typed": []}
    meter = _CpuMeter(dsn)
    try:
        for _ in range(REPEAT):
            _fresh_db(admin, ours_db)
            ours_dsn = conninfo.make_conninfo(dsn, dbname=ours_db)
            # The raw tables exist before the clock starts, as psql's tables do: both sides
            # time loading files into existing tables, not creating them.
            with psycopg.connect(ours_dsn) as conn:
                ensure_raw_schema(conn, contract)
            cpu_before = meter.read()
            started = time.perf_counter()
            report = load_landing(
                ours_dsn,
                root,
                progress=False,
                contract=contract,
                workers=workers,
            )
            ours_s.append(time.perf_counter() - started)
            cpu["ours"].append(_cpu_used(meter, cpu_before))
            if not report.reconciled or report.records != rows or report.loaded != rows:
                raise RuntimeError(f"bench load is wrong: {report.to_dict()}")
            for typed, times in ((False, psql_s), (True, typed_s)):
                _fresh_db(admin, psql_db)
                psql_rows, seconds, psql_cpu = _psql_copy(
                    conninfo.make_conninfo(dsn, dbname=psql_db), root, contract, typed, meter
                )
                times.append(seconds)
                cpu["typed" if typed else "text"].append(psql_cpu)
                if psql_rows != rows:
                    raise RuntimeError(f"psql copied {psql_rows} rows, expected {rows}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in (ours_db, psql_db):
                conn.execute(
                    sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
                )
    ratios = [p / o for o, p in zip(ours_s, psql_s, strict=True)]
    ratios_typed = [p / o for o, p in zip(ours_s, typed_s, strict=True)]
    seconds = statistics.median(ours_s)
    psql_seconds = statistics.median(psql_s)
    typed_seconds = statistics.median(typed_s)
    figures = {
        "rows": rows,
        "workers": workers,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "psql_copy_seconds": round(psql_seconds, 3),
        "psql_copy_rows_per_s": round(rows / psql_seconds),
        "psql_copy_typed_seconds": round(typed_seconds, 3),
        "psql_copy_typed_rows_per_s": round(rows / typed_seconds),
        "ratio": round(statistics.median(ratios), 3),
        "ratios": [round(r, 3) for r in ratios],
        "ratio_vs_typed": round(statistics.median(ratios_typed), 3),
        "ratios_vs_typed": [round(r, 3) for r in ratios_typed],
    }
    if all(c is not None for values in cpu.values() for c in values):
        # Insensitive to other work on the machine: the CPU each way of loading needs.
        ours_cpu, text_cpu, typed_cpu = (statistics.median(cpu[k]) for k in cpu)
        figures.update(
            cpu_seconds=round(ours_cpu, 3),
            psql_copy_cpu_seconds=round(text_cpu, 3),
            psql_copy_typed_cpu_seconds=round(typed_cpu, 3),
            cpu_ratio=round(text_cpu / ours_cpu, 3),
            cpu_ratio_vs_typed=round(typed_cpu / ours_cpu, 3),
        )
    return figures


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    work_dir = (
        Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="bench-load-"))
    )
    n_workers = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    print(json.dumps(run(work_dir, sys.argv[1], n_workers), indent=2))
