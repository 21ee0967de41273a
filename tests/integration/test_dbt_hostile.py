"""Hostile but contract-valid exports through dbt: every customer keeps a name, an optional
column left empty hides no fact, facts that vanish between layers fail the build, and a
re-delivered (corrected) batch rebuilds the feature and tag snapshots it touches."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from conftest import REPO, create_database, service_env_for
from conftest import run_dbt as dbt

from sources.loader import load_landing

pytestmark = pytest.mark.integration

CJK = "[\u4e00-\u9fff]"


def dbt_result(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """dbt's exit status and output, for the cases where the build must fail."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args],
        cwd=REPO / "dbt_project", env=env, capture_output=True, text=True,
    )  # fmt: skip


def write_batch(root: Path, source: str, batch_id: str, tables: dict[str, list[dict]], enc="utf-8"):
    """One landing batch (manifest + one CSV per table) as a company's export would be."""
    folder = root / source / batch_id
    folder.mkdir(parents=True)
    (folder / "_batch.json").write_text(
        f'{{"batch_id": "{batch_id}", "source": "{source}", '
        f'"extracted_at": "2026-06-01T00:00:00+08:00"}}'
    )
    for table, rows in tables.items():
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        (folder / f"{table}.csv").write_bytes(buf.getvalue().encode(enc))


def rewrite_csv(path: Path, enc: str, change) -> None:
    """Apply change(header, rows) -> (header, rows) to a landing CSV in place."""
    with path.open(encoding=enc, newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = list(reader.fieldnames), list(reader)
    header, rows = change(header, rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(enc))


def rows(dsn: str, query: str, params=()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def cid_of(dsn: str, source_system: str, record_id: str) -> str:
    return rows(
        dsn,
        "select cid from identity.customer_ids where source_system = %s and source_record_id = %s",
        (source_system, record_id),
    )[0][0]


# --- names and optional columns on the small world plus a hostile batch per source ----------

LATIN_TICKET = "TKHOSTILE0001"
LATIN_REQUEST = "SRHOSTILE0001"
BARE_CODE = "KHOSTILE01"
LATIN_PROJECT = "PJHOSTILE0001"


@pytest.fixture(scope="module")
def hostile_small_world(pg_cluster, tiny_world, tmp_path_factory):
    """The small world plus a batch per source of what real exports hold: customers with
    Latin-only names known from one source, an ERP code no customer master row names, and
    optional columns (project status, ticket category/severity, lab purpose) left empty."""
    dsn = create_database(pg_cluster, "hostile_small_world")
    extra = tmp_path_factory.mktemp("hostile_batches")
    write_batch(extra, "service", "20260601", {"tickets": [{
        "ticket_id": LATIN_TICKET, "customer_name": "Nordic Composites AB",
        "erp_customer_code": "", "contact_phone": "", "contact_email": "",
        "category": "", "severity": "", "opened_at": "2026-05-03T10:00:00+08:00",
        "closed_at": "", "satisfaction": "",
    }]})  # fmt: skip
    write_batch(extra, "lab", "20260601", {"sample_requests": [{
        "request_id": LATIN_REQUEST, "requester_org": "ACME Advanced Materials GmbH",
        "contact_name": "", "phone": "", "email": "", "material_id": "CF-T700",
        "purpose": "", "spec_params": "", "spec_tolerance_pct": "",
        "requested_at": "2026-05-04T10:00:00+08:00", "shipped_at": "",
    }]})  # fmt: skip
    write_batch(extra, "projects", "20260601", {"projects": [{
        "project_id": LATIN_PROJECT, "partner_name": "Helix Polymers Inc.",
        "partner_credit_code": "", "project_type": "co_development", "status": "",
        "started_at": "2026-05-05T10:00:00+08:00", "ended_at": "", "budget_cny": "",
        "updated_at": "",
    }]})  # fmt: skip
    load_landing(dsn, tiny_world / "landing", progress=False)
    load_landing(dsn, extra, progress=False)
    with psycopg.connect(dsn) as conn:
        # an order whose customer code no ERP customer row names (a bare code), placed in the
        # month before the last loaded one so that snapshots see it
        conn.execute(
            """insert into raw.erp__orders (order_id, customer_code, ordered_at, status,
                change_count, total_amount_cny, _batch_id, _file, _row_number, _loaded_at,
                _extracted_at)
            select 'SOHOSTILE0001', %s, max(ordered_at) - interval '20 days', 'confirmed', 0,
                1000, max(_batch_id), 'orders.csv', 0, now(), max(_extracted_at)
            from raw.erp__orders""",
            (BARE_CODE,),
        )
        # every project of the world with an empty status (an optional column)
        conn.execute("update raw.projects__projects set status = null")
    env = service_env_for(dsn, tmp_path_factory.mktemp("hostile_local"))
    out = dbt(["build", "--select", "+dim_customer", "+customer_features"], env)
    return dsn, env, out


def test_every_customer_has_a_name(hostile_small_world):
    dsn, _, out = hostile_small_world
    assert rows(dsn, "select count(*) from marts.dim_customer where customer_name is null") == [
        (0,)
    ]
    assert rows(dsn, "select count(*) from marts.dim_customer where trim(customer_name) = ''") == [
        (0,)
    ]
    assert "customer_name_is_never_empty" in out or "not_null_dim_customer_customer_name" in out


@pytest.mark.parametrize(
    ("source", "record", "name"),
    [
        ("service", LATIN_TICKET, "Nordic Composites AB"),
        ("lab", LATIN_REQUEST, "ACME Advanced Materials GmbH"),
        ("projects", LATIN_PROJECT, "Helix Polymers Inc."),
    ],
)
def test_a_latin_name_known_from_one_source_is_the_name(hostile_small_world, source, record, name):
    dsn, _, _ = hostile_small_world
    cid = cid_of(dsn, source, record)
    got = rows(
        dsn, "select customer_name, customer_name_source from marts.dim_customer where cid = %s",
        (cid,),
    )  # fmt: skip
    assert got == [(name, f"{source}:{record}")]


def test_a_bare_erp_code_is_named_by_its_code(hostile_small_world):
    dsn, _, _ = hostile_small_world
    cid = cid_of(dsn, "erp", BARE_CODE)
    got = rows(
        dsn, "select customer_name, customer_name_source from marts.dim_customer where cid = %s",
        (cid,),
    )  # fmt: skip
    assert got == [(f"ERP {BARE_CODE}", f"erp:{BARE_CODE}:code")]


def test_a_chinese_name_still_wins_over_a_latin_one(hostile_small_world):
    """A customer with any record written in Chinese is named in Chinese, as before."""
    dsn, _, _ = hostile_small_world
    wrong = rows(
        dsn,
        f"""select d.cid, d.customer_name from marts.dim_customer as d
        where d.customer_name !~ '{CJK}' and exists (
            select from identity.customer_ids as c
            join identity.int_company_records_normalized as r
                using (source_system, source_record_id)
            where c.cid = d.cid and r.is_customer_record and r.name_script = 'cjk')""",
    )
    assert wrong == []


def test_projects_without_status_still_count(hostile_small_world):
    """An empty project status: a project not ended by the cutoff is active, none is cancelled."""
    dsn, _, _ = hostile_small_world
    latest = "(select max(as_of_date) from features.customer_features)"
    ((active, joint),) = rows(
        dsn,
        f"""select sum(active_projects), sum(joint_projects_365d) from features.customer_features
        where as_of_date = {latest}""",
    )
    ((running,),) = rows(
        dsn,
        f"""select count(*) from features.int_feature_dates_listed as d
        join staging.stg_projects__projects as p
            on p.started_at < d.cutoff_at and p.known_at <= d.cutoff_at
            and (p.superseded_at is null or p.superseded_at > d.cutoff_at)
            and (p.ended_at is null or p.ended_at >= d.cutoff_at)
        join identity.customer_ids as c
            on c.source_system = 'projects' and c.source_record_id = p.project_id
        where d.as_of_date = {latest} and c.cid in (
            select f.cid from features.customer_features as f where f.as_of_date = d.as_of_date)""",
    )
    assert running > 0
    assert active == running
    assert joint > 0


# --- an orders-only export whose optional order status is empty, absent or unknown -----------


@pytest.fixture(scope="module")
def orders_without_status(pg_cluster, tmp_path_factory):
    """The ERP exports alone; in the first third of the batches orders.status is empty, in the
    second the column is missing from the header, in the last it holds words outside the
    documented list."""
    from sources.simulator import simulate

    world = tmp_path_factory.mktemp("orders_only")
    simulate(world, scale=0.3, seed=3, months=24, sources=["erp"], progress=False)
    batches = sorted((world / "landing" / "erp").iterdir())
    third = len(batches) // 3

    def blank(header, rows):
        return header, [{**r, "status": ""} for r in rows]

    def drop(header, rows):
        return [c for c in header if c != "status"], rows

    def unknown(header, rows):
        return header, [{**r, "status": "已确认" if r["status"] != "cancelled" else "cancelled"}
                        for r in rows]  # fmt: skip

    for i, batch in enumerate(batches):
        change = blank if i < third else drop if i < 2 * third else unknown
        rewrite_csv(batch / "orders.csv", "gb18030", change)
    dsn = create_database(pg_cluster, "orders_without_status")
    load_landing(dsn, world / "landing", progress=False)
    env = service_env_for(dsn, tmp_path_factory.mktemp("orders_only_local"))
    return dsn, env


def test_orders_without_status_reach_features_and_labels(orders_without_status):
    dsn, env = orders_without_status
    out = dbt(["build", "--select", "+customer_labels"], env)
    assert "orders_reconcile_staging_features" in out
    # every order version a snapshot knows, placed in its 365 days, is counted by it
    per_date = rows(
        dsn,
        """select d.as_of_date, count(o.order_id),
            (select coalesce(sum(f.orders_365d), 0) from features.customer_features as f
             where f.as_of_date = d.as_of_date)
        from features.int_feature_dates_listed as d
        left join staging.stg_erp__orders as o
            on o.ordered_at < d.cutoff_at and o.ordered_at >= d.cutoff_at - interval '365 days'
            and o.known_at <= d.cutoff_at
            and (o.superseded_at is null or o.superseded_at > d.cutoff_at)
            and not o.is_cancelled
        group by d.as_of_date order by 1""",
    )
    assert len(per_date) > 12
    assert all(staged == featured for _, staged, featured in per_date), per_date
    assert sum(staged for _, staged, _ in per_date) > 0
    ((churn_labels,),) = rows(
        dsn, "select count(*) from features.customer_labels where churn_180d is not null"
    )
    assert churn_labels > 0


def test_orders_that_vanish_before_the_features_fail_the_build(orders_without_status):
    """The reconciliation test catches snapshots that lost orders (here: one month zeroed)."""
    dsn, env = orders_without_status
    dbt(["build", "--select", "+customer_features"], env)
    with psycopg.connect(dsn) as conn:
        conn.execute(
            """update features.customer_features set orders_365d = 0 where as_of_date =
            (select as_of_date from features.customer_features group by 1 order by 1 desc
             limit 1 offset 3)"""
        )
    result = dbt_result(["test", "--select", "orders_reconcile_staging_features"], env)
    assert result.returncode != 0, result.stdout[-2000:]
    assert "orders_reconcile_staging_features" in result.stdout


# --- corrections re-delivered under the same batch ids ----------------------------------------

SNAPSHOT_MODELS = (
    "features.customer_features",
    "features.int_customer_samples_summarized",
    "tags.customer_rfm_scores",
)


def snapshot_tables(dsn: str) -> dict[str, list[tuple]]:
    return {t: rows(dsn, f"select * from {t} order by 1, 2") for t in SNAPSHOT_MODELS}


@pytest.fixture(scope="module")
def corrected_world(pg_cluster, tiny_world, tmp_path_factory):
    """The small world built once, then three batches re-delivered with fixes: the first ERP
    batch's order amounts (a month far in the past), a later ERP batch without one customer's
    orders (rows a correction removes), and a lab batch without its sample requests; rebuilt
    incrementally, then from scratch."""
    landing = tmp_path_factory.mktemp("corrected") / "landing"
    shutil.copytree(tiny_world / "landing", landing)
    dsn = create_database(pg_cluster, "corrected_world")
    load_landing(dsn, landing, progress=False)
    env = service_env_for(dsn, tmp_path_factory.mktemp("corrected_local"))
    dbt(["build"], env)
    before = snapshot_tables(dsn)

    erp = sorted((landing / "erp").iterdir())
    first, middle = erp[0], erp[len(erp) // 2]
    rewrite_csv(
        first / "orders.csv", "gb18030",
        lambda h, rs: (h, [{**r, "total_amount_cny": f"{float(r['total_amount_cny']) * 10:.2f}"}
                           for r in rs]),
    )  # fmt: skip
    with (middle / "orders.csv").open(encoding="gb18030", newline="") as fh:
        dropped = next(csv.DictReader(fh))["customer_code"]
    rewrite_csv(
        middle / "orders.csv", "gb18030",
        lambda h, rs: (h, [r for r in rs if r["customer_code"] != dropped]),
    )  # fmt: skip
    lab = sorted((landing / "lab").iterdir())[2]
    rewrite_csv(lab / "sample_requests.csv", "utf-8", lambda h, rs: (h, []))
    load_landing(dsn, landing, sources=["erp"], batches=[first.name, middle.name], progress=False)
    load_landing(dsn, landing, sources=["lab"], batches=[lab.name], progress=False)

    dbt(["build"], env)
    incremental = snapshot_tables(dsn)
    # from scratch: the snapshot models only (the CID registry keeps its history)
    dbt(["build", "--select", "path:models/features", "customer_rfm_scores", "--full-refresh"], env)
    rebuilt = snapshot_tables(dsn)
    return {"dsn": dsn, "before": before, "incremental": incremental, "rebuilt": rebuilt}


@pytest.mark.parametrize("table", SNAPSHOT_MODELS)
def test_a_correction_rebuilds_the_snapshots_it_touches(corrected_world, table):
    """After corrections, the incremental build equals a build from scratch."""
    assert corrected_world["incremental"][table] == corrected_world["rebuilt"][table]


def test_corrections_change_what_they_touch(corrected_world):
    """The corrected batches changed the features and the samples family (else the
    comparison with a rebuild proves nothing)."""
    for table in SNAPSHOT_MODELS[:2]:
        assert corrected_world["incremental"][table] != corrected_world["before"][table]


def test_a_correction_far_in_the_past_reaches_the_first_snapshot(corrected_world):
    before = corrected_world["before"]["features.customer_features"]
    after = corrected_world["incremental"]["features.customer_features"]
    first_date = min(r[1] for r in before)
    assert [r for r in before if r[1] == first_date] != [r for r in after if r[1] == first_date]
