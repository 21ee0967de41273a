"""Identity resolution: every entity record gets a CID, quality meets the goal on a small
world, and a second run with new and changed records keeps every existing CID and logs merges."""

from pathlib import Path

import psycopg
import pytest
from conftest import run_dbt as dbt
from conftest import service_env_for

from portrait.scorecards.identity import identity_quality
from sources.loader import load_landing

REPO = Path(__file__).resolve().parents[2]
# cautious: the tests whose parents are all selected (not the staging-vs-features reconciliations)
IDENTITY = [
    "+customer_ids", "+review_queue", "+dim_customer", "+cid_events",
    "--indirect-selection", "cautious",
]  # fmt: skip

pytestmark = pytest.mark.integration


def registry(dsn):
    with psycopg.connect(dsn) as conn:
        return dict(
            conn.execute(
                "select source_system || ':' || source_record_id, cid from identity.customer_ids"
            ).fetchall()
        )


def test_every_record_gets_a_cid_and_quality_meets_the_goal(fresh_db, tiny_world, tmp_path):
    load_landing(fresh_db, tiny_world / "landing", progress=False)
    env = service_env_for(fresh_db, tmp_path / "local")
    dbt(["build", "--select", *IDENTITY], env)
    quality = identity_quality(fresh_db, tiny_world / "truth")
    assert quality["unassigned_records"] == 0
    assert quality["pairwise_f1"] >= 0.95 and quality["bcubed_f1"] >= 0.95, quality
    with psycopg.connect(fresh_db) as conn:
        bad = conn.execute(
            "select count(*) from identity.customer_ids where cid !~ '^CID[0-9A-F]{12}$'"
        ).fetchone()[0]
        golden = conn.execute("select count(*), count(distinct cid) from marts.dim_customer")
        rows, cids = golden.fetchone()
        distinct = conn.execute("select count(distinct cid) from identity.customer_ids").fetchone()
    assert bad == 0
    assert rows == cids == distinct[0]


def test_second_run_keeps_cids_and_logs_merges(fresh_db, tiny_world, tmp_path):
    load_landing(fresh_db, tiny_world / "landing", progress=False)
    env = service_env_for(fresh_db, tmp_path / "local")
    with psycopg.connect(fresh_db) as conn:
        # Hold back the registry's records (the glue between sources) for the second run.
        conn.execute("create table held as select * from raw.registry__companies")
        conn.execute("delete from raw.registry__companies")
    dbt(["build", "--select", *IDENTITY], env)
    first = registry(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        conn.execute("insert into raw.registry__companies select * from held")
        # A changed record: a newer version of a CRM account with a typo in its name.
        conn.execute(
            """
            insert into raw.crm__accounts
            select (r).* from (
                select a as r from raw.crm__accounts as a order by account_id limit 1
            ) as x
            """
        )
        conn.execute(
            "update raw.crm__accounts set account_name = account_name || ' ', "
            "_batch_id = 'zz-change', _loaded_at = now(), _extracted_at = now() "
            "where ctid = (select max(ctid) from raw.crm__accounts)"
        )
    dbt(["build", "--select", *IDENTITY, "--full-refresh"], env)
    second = registry(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        events = conn.execute(
            "select event_type, from_cid, to_cid from identity.cid_events"
        ).fetchall()
    merged_away = {f for kind, f, _ in events if kind == "merge"}
    into = {f: t for kind, f, t in events if kind == "merge"}
    assert len(second) > len(first)
    for record, cid in first.items():
        # every record keeps its CID, unless that CID was merged into an older one (logged)
        assert second[record] == cid or (cid in merged_away and second[record] == into[cid])
    assert all(kind == "merge" for kind, _, _ in events)
    # a full refresh did not wipe the registry: first-run CIDs are still there
    assert set(first.values()) - merged_away <= set(second.values())
