"""The tag system on a small world: tags come from the catalog, planned rules stay silent until
their feature columns exist, history since/until is consistent, model tags join from the scores,
and every analyst query in docs/analyst-queries.sql runs over the marts."""

import re
from pathlib import Path

import psycopg
import pytest
from conftest import create_database, service_env_for
from conftest import run_dbt as dbt

from models_ml.data import ensure_ml_schema
from sources.loader import load_landing

REPO = Path(__file__).resolve().parents[2]
QUERIES = REPO / "docs" / "analyst-queries.sql"

pytestmark = pytest.mark.integration


def analyst_queries() -> list[tuple[str, str]]:
    """(question, sql) for every `-- Q:` block of docs/analyst-queries.sql."""
    blocks = re.split(r"^-- Q: ", QUERIES.read_text(encoding="utf-8"), flags=re.M)[1:]
    return [(b.splitlines()[0], b.split("\n", 1)[1].strip().rstrip(";")) for b in blocks]


def rows(conn, query, *params):
    return conn.execute(query, params).fetchall()


def check_history_consistent(conn):
    # since <= last seen < until; until is null exactly while the tag still holds
    assert not rows(
        conn,
        """select * from marts.customer_profile_history
        where since_date > last_seen_date or until_date <= last_seen_date
           or (until_date is null) <> is_current""",
    )
    # runs of one tag never overlap, and a new run starts only after the previous one ended
    assert not rows(
        conn,
        """select * from (
            select since_date,
                lag(until_date) over run_order as previous_until,
                row_number() over run_order as run_number
            from marts.customer_profile_history
            window run_order as (partition by cid, tag_code, tag_value order by since_date)) as r
        where run_number > 1 and (previous_until is null or since_date < previous_until)""",
    )
    # one current value per exclusive group (lifecycle stage, RFM segment, value tier, bands)
    assert not rows(
        conn,
        """select cid, tag_group from marts.customer_profile_history
        where is_current and tag_group <> tag_code
        group by cid, tag_group having count(*) > 1""",
    )
    # a run's snapshot count is the number of tag rows between since and last seen
    assert not rows(
        conn,
        """select h.cid, h.tag_code, h.since_date from marts.customer_profile_history as h
        left join marts.mart_customer_tags as t
          on t.cid = h.cid and t.tag_code = h.tag_code
         and t.as_of_date between h.since_date and h.last_seen_date
        group by h.cid, h.tag_code, h.since_date, h.snapshots
        having count(t.cid) <> h.snapshots""",
    )


@pytest.fixture(scope="module")
def tagged(pg_cluster, tiny_world, tmp_path_factory):
    """The small world loaded and built once (before any ml.* table exists: the tag layer
    must not need them); the tests below run in file order on the same warehouse."""
    dsn = create_database(pg_cluster, "tags_world")
    load_landing(dsn, tiny_world / "landing", progress=False)
    env = service_env_for(dsn, tmp_path_factory.mktemp("tags_local"))
    out = dbt(["build"], env)
    assert "rfm_quintiles_segments_and_value_tiers" in out
    return dsn, env


def test_tags_follow_the_catalog(tagged):
    dsn, _ = tagged
    with psycopg.connect(dsn) as conn:
        # every tag row is a catalog code; every feature snapshot has a lifecycle stage
        assert not rows(
            conn,
            """select distinct tag_code from marts.mart_customer_tags
            except select tag_code from marts.mart_tag_catalog""",
        )
        (features, staged) = rows(
            conn,
            """select (select count(*) from features.customer_features),
                (select count(*) from marts.mart_customer_tags
                 where tag_group = 'lifecycle_stage')""",
        )[0]
        assert features == staged > 0
        active_rule_tags = rows(
            conn,
            "select count(distinct tag_code) from tags.customer_rule_tags",
        )[0][0]
        assert active_rule_tags >= 5
        # every catalog rule has its feature columns: none is planned, and the rules on lab,
        # CRM, service, project and registry features tag customers of the small world
        assert not rows(conn, "select tag_code from tags.tag_catalog where status = 'planned'")
        non_erp = {
            r[0]
            for r in rows(
                conn,
                "select distinct tag_code from tags.customer_rule_tags where tag_code = any(%s)",
                [
                    "rd_driven",
                    "proactive_demand",
                    "high_service_dissatisfaction",
                    "co_creation_partner",
                    "registered_capital_large",
                    "lengthening_response_interval",
                    "declining_new_project_ratio",
                ],
            )
        }
        assert len(non_erp) >= 5, non_erp
        check_history_consistent(conn)


def test_model_tags_join_from_the_scores_and_analyst_queries_run(tagged):
    """Scoring writes ml.customer_scores between the tags layer and the marts."""
    dsn, env = tagged
    with psycopg.connect(dsn) as conn:
        ensure_ml_schema(conn)
        latest = rows(conn, "select max(as_of_date) from features.customer_features")[0][0]
        conn.execute(
            """
            insert into ml.customer_scores (cid, as_of_date, task, score, band, reason_1,
                reason_2, reason_3, model_name, model_version, model_alias, run_id)
            select cid, as_of_date, task, score, band, 'orders fell', 'late payments', null,
                'portrait-' || task, '1', 'champion', 'test'
            from (
                select cid, as_of_date, 'churn_180d' as task,
                    case when n <= 3 then 0.9 else 0.1 end as score,
                    case when n <= 3 then 'high' else 'low' end as band
                from (select cid, as_of_date, row_number() over (order by cid) as n
                      from features.customer_features where as_of_date = %s) as f
                union all
                select cid, as_of_date, 'default_90dpd_180d', 0.8, 'E'
                from (select cid, as_of_date from features.customer_features
                      where as_of_date = %s order by cid desc limit 2) as g
            ) as s
            """,
            (latest, latest),
        )
    dbt(["build", "--select", "path:models/marts"], env)

    with psycopg.connect(dsn) as conn:
        (high, grade_e) = rows(
            conn,
            """select count(*) filter (where tag_code = 'churn_risk_high'),
                      count(*) filter (where tag_code = 'credit_grade_e')
            from marts.mart_customer_tags where is_current""",
        )[0]
        assert (high, grade_e) == (3, 2)
        model_led = rows(
            conn,
            """select reasons, reason_source from marts.mart_credit_watchlist
            where warning_tags like 'credit_grade_e%%'""",
        )
        assert len(model_led) == 2
        assert all(r[0].startswith("orders fell") and r[1].startswith("model") for r in model_led)
        assert rows(conn, "select min(watch_rank) from marts.mart_churn_watchlist")[0][0] == 1
        check_history_consistent(conn)

        questions = analyst_queries()
        assert 5 <= len(questions) <= 8
        for question, query in questions:
            try:
                conn.execute(query).fetchall()
            except psycopg.Error as exc:  # pragma: no cover - the message names the question
                pytest.fail(f"analyst query failed: {question}\n{exc}")


def test_a_rule_without_its_feature_column_is_planned_until_the_column_exists(tagged):
    dsn, env = tagged
    with psycopg.connect(dsn) as conn:
        # a rule whose feature column is missing is planned and silent; it turns on by itself
        # once the column exists
        conn.execute("alter table features.customer_features drop column sample_requests_30d")
    # run, not build: the unit tests' fixtures name the column that is gone
    dbt(["run", "--select", "path:models/tags"], env)
    with psycopg.connect(dsn) as conn:
        high_intent = "tag_code = 'high_intent'"
        assert rows(
            conn, f"select status, missing_columns from tags.tag_catalog where {high_intent}"
        ) == [("planned", "sample_requests_30d")]
        assert not rows(conn, f"select * from tags.customer_rule_tags where {high_intent}")
        conn.execute(
            "alter table features.customer_features add column sample_requests_30d integer"
        )
        conn.execute(
            "update features.customer_features set sample_requests_30d = 4 where cid = "
            "(select min(cid) from features.customer_features)"
        )
    dbt(["build", "--select", "path:models/tags"], env)
    with psycopg.connect(dsn) as conn:
        assert rows(conn, "select status from tags.tag_catalog where tag_code = 'high_intent'") == [
            ("active",)
        ]
        tagged = rows(
            conn,
            "select count(distinct cid), count(*) from tags.customer_rule_tags "
            "where tag_code = 'high_intent'",
        )[0]
        dates = rows(
            conn,
            "select count(*) from features.customer_features where cid = "
            "(select min(cid) from features.customer_features)",
        )[0][0]
        # every snapshot of that customer is re-tagged, not only new dates
        assert tagged == (1, dates)
