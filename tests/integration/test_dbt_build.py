"""dbt builds the whole project (tests and unit tests included) on a loaded small world."""

from pathlib import Path

import psycopg
import pytest
from conftest import run_dbt as dbt
from conftest import service_env_for

from sources.loader import load_landing

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def counts(dsn):
    with psycopg.connect(dsn) as conn:
        return {
            name: conn.execute(f"select count(*) from {name}").fetchone()[0]
            for name in (
                "identity.customer_ids",
                "features.customer_features",
                "features.customer_labels",
                "marts.mart_customer_profile",
            )
        }


def test_dbt_build_passes_and_rebuilding_changes_nothing(fresh_db, tiny_world, tmp_path):
    load_landing(fresh_db, tiny_world / "landing", progress=False)
    env = service_env_for(fresh_db, tmp_path / "local")
    out = dbt(["build"], env)
    assert "unit_test" in out or "churn_label_needs_a_full_window" in out
    first = counts(fresh_db)
    assert first["features.customer_features"] > 0
    with psycopg.connect(fresh_db) as conn:
        (cids,) = conn.execute("select count(distinct cid) from identity.customer_ids").fetchone()
    assert first["marts.mart_customer_profile"] == cids
    dbt(["build"], env)
    assert counts(fresh_db) == first


# (raw table, key, new values) of the late versions the point-in-time test adds
LATE_VERSIONS = (
    ("erp__payments", "payment_id", {"amount_cny": "0.01"}),
    (
        "lab__sample_requests",
        "request_id",
        {"spec_tolerance_pct": "0.1", "shipped_at": "null", "purpose": "'qualification'"},
    ),
    ("lab__test_feedback", "feedback_id", {"result": "'fail'"}),
    ("crm__interactions", "interaction_id", {"responded_at": "null", "direction": "'inbound'"}),
    ("crm__contacts", "contact_id", {"title": "'研发总监'"}),
    ("crm__accounts", "account_id", {"customer_type": "'渠道商'", "industry": "'late'"}),
    ("service__tickets", "ticket_id", {"satisfaction": "1", "category": "'replacement'"}),
    ("projects__projects", "project_id", {"status": "'cancelled'", "project_type": "'trial'"}),
    ("registry__companies", "credit_code", {"status": "'吊销'", "registered_capital_cny": "1e12"}),
)


def late_version(conn, table, key, changes, as_of):
    """A newer version of every record of a raw table, extracted 40 days after as_of."""
    columns = [
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' "
            "and table_name = %s and column_name not like '\\_%%' order by ordinal_position",
            (table,),
        ).fetchall()
    ]
    values = ", ".join(changes.get(c, c) for c in columns)
    conn.execute(
        f"""insert into raw.{table} ({", ".join(columns)}, _batch_id, _file, _row_number,
            _loaded_at, _extracted_at)
        select distinct on ({key}) {values}, 'zz-late', 'test', 1, now(), %s::date + 40
        from raw.{table}""",
        (as_of,),
    )


def test_features_are_point_in_time(fresh_db, tiny_world, tmp_path):
    """Orders, and newer versions of payment, lab, CRM, service, project and registry
    records, that arrive after an as_of_date leave that date's features unchanged."""
    load_landing(fresh_db, tiny_world / "landing", progress=False)
    env = service_env_for(fresh_db, tmp_path / "local")
    dbt(["build", "--select", "+customer_features"], env)
    with psycopg.connect(fresh_db) as conn:
        as_of = conn.execute(
            "select as_of_date from features.customer_features "
            "group by 1 order by 1 limit 1 offset 10"
        ).fetchone()[0]
        before = conn.execute(
            "select * from features.customer_features where as_of_date = %s order by cid", (as_of,)
        ).fetchall()
        # For every customer: an order placed after the cutoff, and an order placed before
        # it that only became known (extracted) after it. Neither may touch as_of's features.
        for prefix, placed, known in (("AFTER-", 2, 3), ("LATE-", -5, 40)):
            conn.execute(
                """
                insert into raw.erp__orders (order_id, customer_code, ordered_at, status,
                    change_count, total_amount_cny, _batch_id, _file, _row_number, _loaded_at,
                    _extracted_at)
                select %s || customer_code, customer_code, %s::date + %s, 'confirmed', 0,
                    1e6, 'zz-late', 'test', 1, now(), %s::date + %s
                from (select distinct customer_code from raw.erp__orders) as c
                """,
                (prefix, as_of, placed, as_of, known),
            )
        # Every payment, lab, CRM, service, project and registry record gets a newer version
        # that only became known after the cutoff: worse in every way the features look at.
        for table, key, changes in LATE_VERSIONS:
            late_version(conn, table, key, changes, as_of)
    dbt(["build", "--select", "path:models/features", "--full-refresh"], env)
    with psycopg.connect(fresh_db) as conn:
        after = conn.execute(
            "select * from features.customer_features where as_of_date = %s order by cid", (as_of,)
        ).fetchall()
    assert after == before


def test_orders_alone_is_a_valid_world(fresh_db, tmp_path):
    """Only the ERP exports: the warehouse still builds and yields features and labels."""
    from sources.simulator import simulate

    simulate(tmp_path / "world", scale=0.3, seed=3, months=24, sources=["erp"], progress=False)
    report = load_landing(fresh_db, tmp_path / "world" / "landing", progress=False)
    assert {b.source for b in report.batches} == {"erp"}
    env = service_env_for(fresh_db, tmp_path / "local")
    dbt(["build"], env)
    result = counts(fresh_db)
    assert result["features.customer_features"] > 0
    assert result["features.customer_labels"] == result["features.customer_features"]
