"""Benchmark: the profile service (`service`), each figure beside the bare work it wraps,
measured in the same run on a warehouse of 100k customers (`export`, in bench_export.py,
shares it).

A scale-1 world is simulated, loaded and built with dbt (staging to marts), and its customers
are replicated under new CIDs (``<cid>-<i>``) in every mart the service reads until there are
BENCH_CUSTOMERS of them. Then, at 16 and 64 concurrent clients on loopback:

- ours: wrk (Debian's; a bounded run of DURATION_S) against `GET /api/v1/customers/{cid}` and a
  3-facet `GET /api/v1/customers`, served by uvicorn with the portrait_service login, a token,
  the audit row of every request included;
- bare: pgbench (prepared statements, as a pooled psycopg connection runs them) running the
  statements that return the same rows (the profile's read, the list's query) on as many
  connections as the service's pool;
- what bounds the ratio: `request_sql`, pgbench running all the SQL one profile request needs
  (the token's check, the read with its audit row, the commit), and `framework_floor`, the same
  uvicorn + FastAPI returning the same document with no SQL at all.

Keys: service.profile_ratio and service.list_ratio (ours / bare, requests per second at 64
clients), service.profile_p99_ms_64 (and bare's p99 on 64 connections), request_sql_ratio,
framework_floor_ratio, and the raw figures.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
BENCH_CUSTOMERS = int(os.environ.get("PORTRAIT_BENCH_SERVICE_CUSTOMERS", "100000"))
DURATION_S = int(os.environ.get("PORTRAIT_BENCH_SERVICE_SECONDS", "10"))
CLIENTS = (16, 64)
FACETS = ("lifecycle_stage", "value_tier", "region")
# marts with one row per customer and a history mart: only the current rows are copied
REPLICATED = {
    "marts.mart_customer_profile": None,
    "marts.dim_customer": None,
    "marts.mart_customer_source_ids": None,
    "marts.mart_customer_tags": "is_current",
    "marts.customer_profile_history": None,
    "marts.mart_customer_score_history": None,
    "marts.mart_material_recommendations": None,
    "marts.mart_customer_activity_monthly": None,
    "marts.customer_contacts": None,
    "marts.mart_churn_watchlist": None,
}


def _build(work: Path, dsn: str) -> dict[str, str]:
    from portrait.settings import Settings
    from sources.loader import load_landing
    from sources.simulator import simulate

    simulate(work / "world", scale=1.0, seed=42, progress=False)
    load_landing(dsn, work / "world" / "landing", progress=False)
    env = Settings(local_dir=work / "local", reports_dir=work / "reports", warehouse_url=dsn)
    env = {**os.environ, **env.service_env()}
    subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "build",
            "--quiet",
            "--select",
            "+marts",
            "--exclude-resource-type",
            "unit_test",
            "--exclude-resource-type",
            "test",
        ],
        cwd=REPO / "dbt_project",
        env=env,
        check=True,
    )
    return env


def _replicate(dsn: str, customers: int) -> int:
    with psycopg.connect(dsn) as conn:
        (n,) = conn.execute("select count(*) from marts.mart_customer_profile").fetchone()
        copies = -(-customers // n) - 1
        for table, where in REPLICATED.items():
            schema, name = table.split(".")
            cols = [
                r[0]
                for r in conn.execute(
                    "select column_name from information_schema.columns where table_schema = %s"
                    " and table_name = %s order by ordinal_position",
                    (schema, name),
                )
            ]
            if where:
                conn.execute(
                    sql.SQL("delete from {} where not {}").format(
                        sql.Identifier(schema, name), sql.Identifier(where)
                    )
                )
            picks = [
                sql.SQL("t.cid || '-' || g.i") if c == "cid" else sql.Identifier("t", c)
                for c in cols
            ]
            conn.execute(
                sql.SQL(
                    "insert into {t} ({cols}) select {picks} from {t} as t"
                    " cross join generate_series(1, %s) as g(i)"
                ).format(
                    t=sql.Identifier(schema, name),
                    cols=sql.SQL(", ").join(map(sql.Identifier, cols)),
                    picks=sql.SQL(", ").join(picks),
                ),
                (copies,),
            )
        conn.execute(
            "create table public.bench_cids as select row_number() over (order by cid)"
            " as n, cid from marts.mart_customer_profile"
        )
        conn.execute("alter table public.bench_cids add primary key (n)")
        conn.execute("grant select on public.bench_cids to portrait_service")
        (total,) = conn.execute("select count(*) from public.bench_cids").fetchone()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("analyze")
    return total


def _wrk(url: str, clients: int, token: str, script: Path) -> dict:
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(clients),
            "-d",
            f"{DURATION_S}s",
            "--latency",
            "-s",
            str(script),
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = {
        m.group(1): _ms(m.group(2)) for m in re.finditer(r"\s(50|99)(?:\.000)?%\s+([\d.]+\w+)", out)
    }
    return {
        "rps": rps,
        "p50_ms": lat.get("50"),
        "p99_ms": lat.get("99"),
        "errors": int(errors.group(1)) if errors else 0,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _pgbench(dsn_parts: dict, clients: int, script: Path, env: dict, logs: Path) -> dict:
    """pgbench for DURATION_S; rps, and p50/p99 from its per-transaction log."""
    for old in logs.parent.glob(logs.name + "*"):
        old.unlink()
    proc = subprocess.run(
        [
            "pgbench",
            "-n",
            "-M",
            "prepared",  # as a pooled psycopg connection runs a statement it has seen before
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(DURATION_S),
            "-l",
            f"--log-prefix={logs}",
            "-f",
            str(script),
        ],
        capture_output=True,
        text=True,
        env={**env, **dsn_parts},
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pgbench failed: {proc.stderr[-2000:]}")
    out = proc.stdout
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    # each log line: client, transaction, latency (us), script, epoch s, us
    latencies = sorted(
        int(line.split()[2])
        for f in logs.parent.glob(logs.name + "*")
        for line in f.read_text().splitlines()
    )
    return {
        "rps": tps,
        "clients": clients,
        "p50_ms": round(latencies[len(latencies) // 2] / 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] / 1000, 2),
    }


@dataclass
class Served:
    base: str  # the service's URL
    token: str  # an analyst's API token
    pid: int  # uvicorn's process
    pg_env: dict  # libpq variables of the service's login, for pgbench
    customers: int


def prepare(work: Path, dsn: str) -> int:
    """The 100k-customer warehouse (built once per bench cluster: `service` and `export`
    share it); returns the number of customers."""
    with psycopg.connect(dsn) as conn:
        built = conn.execute("select to_regclass('public.bench_cids') is not null").fetchone()[0]
    if built:
        with psycopg.connect(dsn) as conn:
            return conn.execute("select count(*) from public.bench_cids").fetchone()[0]
    _build(work, dsn)
    return _replicate(dsn, BENCH_CUSTOMERS)


def _uvicorn(app: str, port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning", "--no-access-log",
        ],
        env=env,
    )  # fmt: skip


@contextmanager
def serve(work: Path, dsn: str) -> Iterator[Served]:
    """The profile service on the bench warehouse, as `portrait serve` runs it (its own login,
    a pool of 16), and an analyst's token."""
    from governance.roles import migrate
    from portrait.local.services import free_port
    from portrait.service import auth

    customers = prepare(work, dsn)
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    pw = {
        "portrait_service": secrets.token_urlsafe(18),
        "portrait_admin": secrets.token_urlsafe(18),
    }
    migrate(dsn, pw)
    service_dsn = psycopg.conninfo.make_conninfo(
        dsn, user="portrait_service", password=pw["portrait_service"]
    )
    admin_dsn = psycopg.conninfo.make_conninfo(
        dsn, user="portrait_admin", password=pw["portrait_admin"]
    )
    with psycopg.connect(admin_dsn) as conn:
        token = auth.create_token(conn, "bench", "analyst")
    port = free_port()
    # an external warehouse to the service (else it would take the local cluster's login)
    env = {
        **os.environ,
        "PORTRAIT_WAREHOUSE_URL": service_dsn,
        "PORTRAIT_WAREHOUSE_URL_SERVICE": service_dsn,
        "PORTRAIT_SERVICE_POOL_SIZE": "16",
    }
    server = _uvicorn("portrait.service.app:create_app", port, env)
    try:
        _wait(port)
        yield Served(
            base=f"http://127.0.0.1:{port}",
            token=token,
            pid=server.pid,
            pg_env={
                "PGHOST": info.get("host", "127.0.0.1"),
                "PGPORT": str(info.get("port")),
                "PGUSER": "portrait_service",
                "PGPASSWORD": pw["portrait_service"],
                "PGDATABASE": info["dbname"],
            },
            customers=customers,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(work: Path, dsn: str) -> dict:
    import httpx

    from portrait.local.services import free_port
    from portrait.local.system import _apt_install

    if not Path("/usr/bin/wrk").exists():
        _apt_install("wrk")
    with serve(work, dsn) as s, psycopg.connect(dsn) as conn:
        facet_values = {
            f: conn.execute(
                sql.SQL(
                    "select {c} from marts.mart_customer_profile where {c} is not null group by 1"
                    " order by count(*) desc limit 1"
                ).format(c=sql.Identifier(f))
            ).fetchone()[0]
            for f in FACETS
        }
        lua = work / "profile.lua"
        lua.write_text(
            f"math.randomseed(7)\nrequest = function()\n"
            f"  local n = math.random(1, {s.customers})\n"
            f"  return wrk.format('GET', '/api/v1/customers/' .. cids[n])\nend\n"
            + _lua_cids(dsn, s.customers)
        )
        floor_lua = work / "floor.lua"
        floor_lua.write_text(lua.read_text().replace("/api/v1/customers/", "/floor/"))
        list_lua = work / "list.lua"
        query = "&".join(f"{f}={_quote(v)}" for f, v in facet_values.items())
        list_lua.write_text(
            f"request = function() return wrk.format('GET', '/api/v1/customers?{query}"
            f"&limit=50') end\n"
        )
        # bare: the statements the service runs, by pgbench on as many connections
        profile_sql = work / "profile.sql"
        profile_sql.write_text(f"\\set n random(1, {s.customers})\n" + _bare_profile_sql(dsn))
        request_sql = work / "request.sql"
        request_sql.write_text(
            f"\\set n random(1, {s.customers})\n" + _bare_profile_sql(dsn, s.token)
        )
        list_sql = work / "list.sql"
        where = " and ".join(f"{f} = '{v}'" for f, v in facet_values.items())
        list_sql.write_text(
            "select cid, customer_name, customer_type, industry, region, city, lifecycle_stage,"
            " value_tier, churn_score, churn_band, credit_grade, purchase_band,"
            " revenue_cny_365d from marts.mart_customer_profile where "
            + where
            + " order by coalesce(cid, '') , cid limit 51;\n"
        )
        # one request of each kind first: a bench of error answers measures nothing
        auth = {"Authorization": f"Bearer {s.token}"}
        probe_cid = _lua_first_cid(dsn)
        for path in (f"/api/v1/customers/{probe_cid}", f"/api/v1/customers?{query}&limit=50"):
            r = httpx.get(s.base + path, headers=auth, timeout=120)
            if r.status_code != 200:
                raise RuntimeError(f"GET {path} answered {r.status_code}: {r.text[:500]}")
        # the framework's floor: the same server, the same document, no SQL at all
        body = work / "profile.json"
        body.write_bytes(httpx.get(f"{s.base}/api/v1/customers/{probe_cid}", headers=auth).content)
        floor_port = free_port()
        floor = _uvicorn(
            "bench.service_floor:create_app",
            floor_port,
            {**os.environ, "PORTRAIT_BENCH_FLOOR_BODY": str(body), "PYTHONPATH": str(REPO)},
        )
        try:
            _wait(floor_port, "/floor/x")
            result: dict = {"customers": s.customers, "duration_s": DURATION_S}
            logs = work / "pgb"
            for clients in CLIENTS:
                # the service's pool holds 16 connections: bare gets as many (throughput)
                pool = min(clients, 16)
                result[f"profile_{clients}"] = {
                    "ours": _wrk(s.base, clients, s.token, lua),
                    "bare": _pgbench(s.pg_env, pool, profile_sql, os.environ, logs),
                    # all the SQL of one request: token check, the read and its audit row
                    "request_sql": _pgbench(s.pg_env, pool, request_sql, os.environ, logs),
                    "framework_floor": _wrk(
                        f"http://127.0.0.1:{floor_port}", clients, s.token, floor_lua
                    ),
                }
                result[f"list_{clients}"] = {
                    "ours": _wrk(s.base, clients, s.token, list_lua),
                    "bare": _pgbench(s.pg_env, pool, list_sql, os.environ, logs),
                }
                if clients > 16:  # bare's latency at that concurrency
                    result[f"profile_{clients}"][f"bare_on_{clients}_connections"] = _pgbench(
                        s.pg_env, clients, profile_sql, os.environ, logs
                    )
        finally:
            floor.terminate()
            floor.wait(timeout=30)
    p64 = result["profile_64"]
    result["profile_ratio"] = round(p64["ours"]["rps"] / p64["bare"]["rps"], 3)
    result["list_ratio"] = round(
        result["list_64"]["ours"]["rps"] / result["list_64"]["bare"]["rps"], 3
    )
    result["profile_p99_ms_64"] = p64["ours"]["p99_ms"]
    # what bounds the ratio: the SQL a request must run, and the framework with no SQL
    result["request_sql_ratio"] = round(p64["request_sql"]["rps"] / p64["bare"]["rps"], 3)
    result["framework_floor_ratio"] = round(p64["framework_floor"]["rps"] / p64["bare"]["rps"], 3)
    result["profile_p99_ms_64_bare"] = p64["bare_on_64_connections"]["p99_ms"]
    return result


def run_export(work: Path, dsn: str) -> dict:
    """`make bench` key `export`: the streamed CSV of 100k customers against psql's \\copy."""
    with serve(work, dsn) as s:
        return _export(s.base, s.token, dsn, work, s.pid)


def _export(base: str, token: str, dsn: str, work: Path, pid: int) -> dict:
    import httpx

    rss_before = _rss_kb(pid)
    peak = rss_before
    rows = 0
    started = time.perf_counter()
    with httpx.stream(
        "GET", f"{base}/api/v1/export", headers={"Authorization": f"Bearer {token}"}, timeout=600
    ) as r:
        for i, chunk in enumerate(r.iter_bytes()):
            rows += chunk.count(b"\n")
            if i % 50 == 0:
                peak = max(peak, _rss_kb(pid))
    ours_s = time.perf_counter() - started
    fields = (
        "cid, customer_name, customer_type, industry, region, city, lifecycle_stage,"
        " value_tier, churn_score, churn_band, credit_grade, purchase_band, revenue_cny_365d"
    )
    started = time.perf_counter()
    subprocess.run(
        [
            "psql",
            dsn,
            "-qc",
            f"\\copy (select {fields} from marts.mart_customer_profile"
            f" order by cid) to '{work / 'copy.csv'}' with csv header",
        ],
        check=True,
    )
    copy_s = time.perf_counter() - started
    data_rows = rows - 1
    return {
        "rows": data_rows,
        "ours_rows_per_s": round(data_rows / ours_s),
        "copy_rows_per_s": round(data_rows / copy_s),
        "ratio": round(copy_s / ours_s, 3),
        "service_rss_growth_mb": round((peak - rss_before) / 1024, 1),
    }


def _bare_profile_sql(dsn: str, token: str | None = None) -> str:
    """The profile's statement as the bench's analyst token runs it, parameters as literals,
    for pgbench: the read alone, or (token given) all a request's SQL: the token's check, the
    read with its audit row, the commit."""
    from portrait.service.auth import TOKEN_SQL, Principal
    from portrait.service.queries import profile_parameters, profile_sql
    from portrait.service.roles import get_role

    # (pgbench would take the ':' of 'token:bench' for a variable)
    params = profile_parameters(Principal("token", "bench", get_role("analyst")), "-")
    params["client"] = "token-bench"
    text = profile_sql("masked", audit=token is not None)
    with psycopg.connect(dsn) as conn:
        for name, value in params.items():
            literal = (
                "(select cid from public.bench_cids where n = :n)"
                if name == "cid"
                else sql.Literal(value).as_string(conn)
            )
            text = text.replace(f"%({name})s", literal)
        if token is None:
            return text + ";\n"
        token_id = sql.Literal(token.split("_")[1]).as_string(conn)
    check = TOKEN_SQL.replace("%s", token_id)
    return f"begin;\n{check};\n{text};\ncommit;\n"


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _wait(port: int, path: str = "/health") -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the profile service did not start")


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value)


def _lua_cids(dsn: str, customers: int) -> str:
    with psycopg.connect(dsn) as conn:
        cids = [r[0] for r in conn.execute("select cid from public.bench_cids order by n")]
    return "cids = {" + ",".join(f'"{c}"' for c in cids) + "}\n"


def _lua_first_cid(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        return conn.execute("select cid from public.bench_cids where n = 1").fetchone()[0]
