"""Identity settings as data: overrides merge with the defaults and fail naming a bad key, a
new comparison needs no SQL, a changed setting re-clusters and logs what it changed, and the
link_only / one_to_one modes never merge two records of one source."""

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import yaml
from conftest import run_dbt as dbt
from conftest import service_env_for

from sources.loader import load_landing

REPO = Path(__file__).resolve().parents[2]
IDENTITY = [
    "+customer_ids", "+review_queue", "+cid_events", "--indirect-selection", "cautious",
]  # fmt: skip

pytestmark = pytest.mark.integration


def vars_arg(identity: dict) -> list[str]:
    """--vars for an identity override; the unit tests (written for the defaults) are left out."""
    return [
        "--vars", yaml.safe_dump({"identity": identity}, default_flow_style=True),
        "--exclude-resource-type", "unit_test",
    ]  # fmt: skip


@pytest.fixture
def loaded(fresh_db, tiny_world, tmp_path):
    load_landing(fresh_db, tiny_world / "landing", progress=False)
    return fresh_db, service_env_for(fresh_db, tmp_path / "local")


def rows(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


def dbt_failing(args: list[str], env: dict) -> str:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args],
        cwd=REPO / "dbt_project", env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode != 0, proc.stdout[-2000:]
    return proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"comparisons": {"phone": {"levles": {"same": {"m": 0.5, "u": 0.01}}}}}, "levles"),
        ({"comparisons": {"phone": {"levels": {"equal": {"m": 0.5, "u": 0.01}}}}}, "equal"),
        ({"comparisons": {"city": {"levels": {"same": {"m": 0.9, "w": 0.1}}}}}, ".w'"),
        ({"chain_gaurd": {"large_cluster_records": 5}}, "chain_gaurd"),
        ({"mode": "linkonly"}, "linkonly"),
        ({"comparisons": {"owner": {"function": "fuzzy", "columns": ["owner_sales"]}}}, "fuzzy"),
    ],
)
def test_an_override_with_a_bad_key_fails_naming_it(fresh_db, tmp_path, override, named):
    env = service_env_for(fresh_db, tmp_path / "local")
    out = dbt_failing(["parse", *vars_arg(override)[:2]], env)
    assert "identity" in out and named in out, out[-3000:]
    assert "has no attribute" not in out


def test_partial_override_and_a_new_comparison_need_no_sql(loaded):
    dsn, env = loaded
    # a comparison on a column of the records model no default comparison reads
    owner = {
        "function": "similarity",
        "columns": ["name_raw"],
        "levels": {"close": {"min_similarity": 0.8, "m": 0.6, "u": 0.2},
                   "far": {"min_similarity": 0, "m": 0.4, "u": 0.8}},
    }  # fmt: skip
    override = {
        "comparisons": {
            "owner": owner,
            "contact_name": None,
            "phone": {"levels": {"same": {"u": 0.01}}},
            # m and u estimated from the data (random pairs; pairs inside deterministic entities)
            "city": {
                "levels": {lv: {"m": "estimate", "u": "estimate"} for lv in ("same", "different")}
            },
        }
    }
    dbt(
        [
            "build",
            "--select",
            "+int_record_pairs_scored",
            "--indirect-selection",
            "cautious",
            *vars_arg(override),
        ],
        env,
    )
    columns = {
        c
        for (c,) in rows(
            dsn,
            "select column_name from information_schema.columns "
            "where table_schema = 'identity' and table_name = 'int_record_pairs_scored'",
        )
    }
    assert {"owner_level", "owner_similarity", "phone_level", "name_level"} <= columns
    assert "contact_name_level" not in columns
    levels = rows(
        dsn,
        "select count(*) filter (where owner_level is not null), "
        "count(*) filter (where levels ? 'owner') from identity.int_record_pairs_scored",
    )[0]
    assert levels[0] > 0 and levels[1] == levels[0]
    # estimated: agreeing on the city is evidence for, disagreeing against
    weights = dict(
        rows(
            dsn,
            "select city_level, avg(match_weight) from identity.int_record_pairs_scored "
            "where city_level is not null group by city_level",
        )
    )
    assert weights["same"] > weights["different"], weights


def test_a_changed_setting_reclusters_and_logs_splits(loaded):
    dsn, env = loaded
    dbt(["build", "--select", *IDENTITY], env)
    before = dict(
        rows(dsn, "select source_system || ':' || source_record_id, cid from identity.customer_ids")
    )
    # Scored links need far more evidence now: some customers fall apart.
    dbt(["build", "--select", *IDENTITY, *vars_arg({"match_threshold": 30})], env)
    after = dict(
        rows(dsn, "select source_system || ':' || source_record_id, cid from identity.customer_ids")
    )
    assert before.keys() == after.keys()
    moved = [r for r in before if before[r] != after[r]]
    assert moved, "a stricter threshold should split some customers"
    splits = rows(
        dsn,
        "select from_cid, to_cid, records_moved, settings_fingerprint from identity.cid_events "
        "where event_type = 'split'",
    )
    assert sum(n for *_, n, _fp in splits) == len(moved)
    assert len({fp for *_, fp in splits}) == 1
    # Every CID still exists (the part holding most of its records kept it).
    assert set(before.values()) <= set(after.values())
    # Back to the defaults: the same evidence gives the same customers again (logged merges).
    dbt(["build", "--select", *IDENTITY], env)
    again = dict(
        rows(dsn, "select source_system || ':' || source_record_id, cid from identity.customer_ids")
    )
    assert again == before
    assert (
        rows(dsn, "select count(*) from identity.cid_events where event_type = 'merge'")[0][0] > 0
    )


@pytest.mark.parametrize("mode", ["link_only", "one_to_one"])
def test_link_modes_never_merge_within_a_source(loaded, mode):
    dsn, env = loaded
    dbt(["build", "--select", *IDENTITY, *vars_arg({"mode": mode})], env)
    doubles = rows(
        dsn,
        """
        select cid, source_system, count(*) from identity.customer_ids
        group by cid, source_system having count(*) > 1 limit 5
        """,
    )
    assert doubles == []
    multi = rows(
        dsn,
        "select count(*) from (select cid from identity.customer_ids group by cid "
        "having count(distinct source_system) > 1) as x",
    )[0][0]
    assert multi > 0, "records of different sources still link"


def test_a_cid_holding_two_valid_credit_codes_is_split_and_logged(loaded):
    """A wrong merge left in the registry (two companies with different valid credit codes
    under one CID, as older runs could make through a shared phone) is split by the next run."""
    dsn, env = loaded
    dbt(["build", "--select", *IDENTITY], env)
    with psycopg.connect(dsn) as conn:
        a, b = conn.execute(
            """
            select i.cid from identity.customer_ids as i
            join identity.int_company_records_normalized as r
                using (source_system, source_record_id)
            where r.credit_code is not null
            group by i.cid having count(distinct r.credit_code) = 1
            order by i.cid limit 2
            """
        ).fetchall()
        conn.execute("update identity.cid_registry set cid = %s where cid = %s", (a[0], b[0]))
    dbt(["build", "--select", *IDENTITY], env)
    mixed = rows(
        dsn,
        """
        select i.cid from identity.customer_ids as i
        join identity.int_company_records_normalized as r using (source_system, source_record_id)
        group by i.cid having count(distinct r.credit_code) > 1
        """,
    )
    assert mixed == []
    splits = rows(
        dsn, "select from_cid, records_moved from identity.cid_events where event_type = 'split'"
    )
    assert [cid for cid, _ in splits] == [a[0]] and splits[0][1] > 0
