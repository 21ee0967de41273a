"""The marketing loop in the warehouse, from landing campaign files to the A/B report: a
simulated company with campaigns (holdouts, a known effect) loaded and built; the members
reconcile with the landed audience; the A/B mart's effect and interval are the ones computed
from its members; conversions match the landed ERP orders of the simulator's companies; the
report pages are written with a verdict per campaign; the uplift model trains on the campaigns,
is gated, promoted and scores every customer per goal into the next-best-action mart."""

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np
import psycopg
import pytest
from conftest import run_dbt as dbt
from conftest import service_env_for

from marketing.report import write_reports
from sources.loader import load_landing

pytestmark = pytest.mark.integration
SELECTION = ["build", "-s", "+path:models/marts/marketing", "+path:models/features"]
SELECTION += ["+mart_customer_profile"]  # what the scheduled audiences select from
SELECTION += ["--indirect-selection", "cautious"]
Z90 = 1.6448536269514722


@pytest.fixture(scope="module")
def marketing_warehouse(pg_cluster, marketing_world, tmp_path_factory):
    from conftest import create_database

    world = marketing_world
    dsn = create_database(pg_cluster, "marketing_loop")
    load_landing(dsn, world / "landing", progress=False)
    local = tmp_path_factory.mktemp("mkt_local")
    dbt(SELECTION, service_env_for(dsn, local))
    return dsn, world, local


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_members_reconcile_with_the_landed_audience(marketing_warehouse):
    dsn, world, _ = marketing_warehouse
    landed = {
        (r["campaign_id"], r["account_id"]): r["assignment"]
        for p in sorted((world / "landing" / "marketing").glob("*/audience_members.csv"))
        for r in _rows(p)
    }
    with psycopg.connect(dsn) as conn:
        members = conn.execute(
            "select campaign_id, account_id, assignment, member_accounts "
            "from marts.mart_campaign_members"
        ).fetchall()
        unresolved = conn.execute(
            "select count(*) from staging.stg_marketing__audience_members as m "
            "where m.superseded_at is null and not exists (select from identity.customer_ids i "
            "where i.source_system = 'crm' and i.source_table = 'accounts' "
            "and i.source_record_id = m.account_id)"
        ).fetchone()[0]
    assert len(landed) > 200
    # every landed member is a mart member (one row per CID) or has no CID: nothing lost
    assert sum(m[3] for m in members) + unresolved == len(landed)
    for campaign, account, assignment, n in members:
        if n == 1:
            assert landed[(campaign, account)] == assignment


def test_ab_mart_is_the_difference_of_its_members(marketing_warehouse):
    dsn, *_ = marketing_warehouse
    with psycopg.connect(dsn) as conn:
        tests = conn.execute(
            "select scope_id, effect, ci_low, ci_high, n_treatment, n_holdout, verdict "
            "from marts.mart_campaign_ab_tests where scope = 'campaign' and metric = 'conversion'"
        ).fetchall()
        rows = conn.execute(
            "select campaign_id, assignment, converted::int from marts.mart_campaign_members "
            "where window_closed and assignment in ('treatment', 'holdout')"
        ).fetchall()
    assert len(tests) >= 10
    by = {}
    for campaign, assignment, y in rows:
        by.setdefault((campaign, assignment), []).append(y)
    for campaign, effect, low, high, n_t, n_h, verdict in tests:
        t, h = np.array(by[(campaign, "treatment")]), np.array(by[(campaign, "holdout")])
        assert (len(t), len(h)) == (n_t, n_h)
        assert effect == pytest.approx(t.mean() - h.mean())
        se = math.sqrt(t.var(ddof=1) / len(t) + h.var(ddof=1) / len(h))
        assert (low, high) == pytest.approx((effect - Z90 * se, effect + Z90 * se))
        assert verdict in {"worked", "backfired", "inconclusive"}


def test_conversions_are_the_landed_erp_orders(marketing_warehouse):
    """Treated conversions per campaign, from the landing files and the simulator's truth alone
    (which company each account and ERP code is), against the KPI mart: the same counts for
    nearly every campaign (an identity error may move a member)."""
    dsn, world, _ = marketing_warehouse
    records = _rows(world / "truth" / "records.csv")
    company = {(r["source"], r["record_key"]): r["company_id"] for r in records}
    campaigns = {}
    for p in sorted((world / "landing" / "marketing").glob("*/campaigns.csv")):
        for r in _rows(p):
            campaigns[r["campaign_id"]] = r
    orders: dict[str, list[str]] = {}
    for p in sorted((world / "landing" / "erp").glob("*/orders.csv")):
        with open(p, encoding="gb18030", newline="") as fh:
            for r in csv.DictReader(fh):
                orders[r["order_id"]] = r  # the latest version wins
    by_company: dict[str, list[str]] = {}
    for r in orders.values():
        if r["status"] != "cancelled":
            by_company.setdefault(company[("erp", r["customer_code"])], []).append(r["ordered_at"])
    expected: dict[str, int] = {}
    for p in sorted((world / "landing" / "marketing").glob("*/audience_members.csv")):
        for m in _rows(p):
            if m["assignment"] != "treatment":
                continue
            c = campaigns[m["campaign_id"]]
            start, days = c["starts_on"], int(c["response_window_days"] or 30)
            d0 = dt.date.fromisoformat(start)
            end = (d0 + dt.timedelta(days=days)).isoformat()
            placed = by_company.get(company[("crm", m["account_id"])], [])
            hit = any(start <= o[:10] < end for o in placed)
            expected[m["campaign_id"]] = expected.get(m["campaign_id"], 0) + hit
    with psycopg.connect(dsn) as conn:
        got = dict(conn.execute(
            "select campaign_id, conversions_treatment from marts.mart_campaign_kpis "
            "where breakdown = 'all'"
        ).fetchall())  # fmt: skip
    same = sum(got.get(c) == n for c, n in expected.items())
    assert same >= 0.9 * len(expected), {c: (n, got.get(c)) for c, n in expected.items()}


def test_the_ab_report_has_a_page_and_a_verdict_per_campaign(marketing_warehouse, tmp_path):
    dsn, *_ = marketing_warehouse
    with psycopg.connect(dsn) as conn:
        written = write_reports(conn, tmp_path)
        (campaigns,) = conn.execute(
            "select count(*) from marts.mart_campaign_kpis where breakdown = 'all'"
        ).fetchone()
    assert written["pages"] == campaigns > 0
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "生命周期策略" in index and "<svg" in index
    assert sum(written["verdicts"].values()) >= 10
    page = next(p for p in tmp_path.glob("*.html") if p.name != "index.html")
    text = page.read_text(encoding="utf-8")
    assert "A/B" in text and ("结论" in text or "尚未结束" in text)


@pytest.fixture(scope="module")
def uplift_run(marketing_warehouse):
    """The uplift model trained on the world's own campaigns (rejected: nothing learnable at
    this scale), then on the same members with a planted effect (conftest), promoted and
    scored; MLflow in a private store."""
    from conftest import plant_campaign_effect

    from models_ml import uplift_task
    from portrait.settings import get_settings

    dsn, _, local = marketing_warehouse
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{local / 'mlflow.db'}")
        mp.setenv("PORTRAIT_MLFLOW_ARTIFACT_ROOT", str(local / "artifacts"))
        get_settings.cache_clear()
        rejected = uplift_task.train_uplift(dsn=dsn)
        unpromoted = uplift_task.promote_uplift()
        threshold = plant_campaign_effect(dsn)
        trained = uplift_task.train_uplift(dsn=dsn)
        promoted = uplift_task.promote_uplift()
        scored = uplift_task.score_uplift(dsn=dsn) if promoted.promoted else None
        dbt(["build", "-s", "mart_next_best_action"], service_env_for(dsn, local))
        yield {
            "rejected": rejected, "unpromoted": unpromoted, "trained": trained,
            "promoted": promoted, "scored": scored, "dsn": dsn, "threshold": threshold,
        }  # fmt: skip
    get_settings.cache_clear()


def test_a_model_within_chance_of_targeting_everyone_is_not_registered(uplift_run):
    """The small world's campaigns change little (true Qini of any learner ~0 here): the
    permutation test says so, nothing is registered, nothing promoted."""
    rejected = uplift_run["rejected"]
    assert not rejected["registered"] and rejected["version"] is None
    assert any("within chance" in r for r in rejected["reasons"]), rejected
    assert uplift_run["unpromoted"].reasons == ["no challenger to promote"]


def test_the_uplift_model_beats_both_policies_and_becomes_champion(uplift_run):
    trained, promoted = uplift_run["trained"], uplift_run["promoted"]
    m = trained["metrics"]
    assert trained["registered"], trained["reasons"]
    assert m["test_qini"] > m["by_purchase_test_qini"]
    assert m["test_qini"] > max(0.0, m["null_test_qini_q95"])
    assert m["test_uplift_at_30"] > m["everyone_test_uplift_at_30"]
    assert promoted.promoted and promoted.reasons == ["first champion"]


def test_every_customer_is_scored_once_per_goal_and_gets_one_next_best_action(uplift_run):
    scored, dsn = uplift_run["scored"], uplift_run["dsn"]
    assert scored["goals"] and scored["rows"] == scored["customers"] * len(scored["goals"])
    with psycopg.connect(dsn) as conn:
        (snapshot,) = conn.execute(
            "select count(*) from features.customer_features "
            "where as_of_date = %s", (scored["as_of_date"],)
        ).fetchone()  # fmt: skip
        rows = conn.execute(
            "select customer_class, count(*), count(next_best_action), "
            "bool_and(reason_zh is not null and reason_en is not null), "
            "min(expected_uplift), max(expected_uplift) "
            "from marts.mart_next_best_action group by 1"
        ).fetchall()
    classes = {r[0]: r for r in rows}
    assert sum(r[1] for r in rows) == snapshot == scored["customers"]
    # only persuadable customers get an action; every row says why in both languages
    assert all(r[2] == (r[1] if c == "persuadable" else 0) for c, r in classes.items())
    assert all(r[3] for r in rows)
    assert "persuadable" in classes and float(classes["persuadable"][4]) >= 0.0099
    # the planted effect is found: the frequent buyers are the persuadable ones
    with psycopg.connect(dsn) as conn:
        high, low = conn.execute(
            "select avg(n.expected_uplift) filter (where f.orders_365d >= %(t)s), "
            "avg(n.expected_uplift) filter (where f.orders_365d < %(t)s) "
            "from marts.mart_next_best_action as n join features.customer_features as f "
            "using (cid, as_of_date)", {"t": uplift_run["threshold"]},
        ).fetchone()  # fmt: skip
    assert float(high) > float(low) + 0.15, (high, low)


def test_a_saved_uplift_learner_predicts_as_the_fitted_one(marketing_warehouse, tmp_path):
    from models_ml import uplift_task

    dsn, *_ = marketing_warehouse
    with psycopg.connect(dsn) as conn:
        frame = uplift_task.campaign_frame(conn)
    fit = uplift_task.fit_uplift(frame)
    loaded = uplift_task.load_learner(uplift_task.save_learner(fit.learner, tmp_path / "l"))
    x = frame[fit.columns]
    np.testing.assert_allclose(loaded.predict(x), fit.learner.predict(x), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(loaded.outcomes(x)[0], fit.learner.p0_hat(x), atol=1e-12)


def test_the_campaign_tasks_logins_have_what_they_need_and_no_more(pg_cluster, uplift_run):
    """The DAG tasks' own logins (tests elsewhere build as the superuser): portrait_ml reads
    the campaign marts and writes the evaluations, not the profile mart; portrait_service
    materialises the scheduled audiences from the profile mart."""
    import datetime as dt

    from marketing import audiences
    from marketing.report import closed_unevaluated, record_evaluations
    from models_ml import uplift_task

    dsn = uplift_run["dsn"]
    db = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    pw = pg_cluster.login_passwords
    ml = pg_cluster.dsn_for(db, "portrait_ml", pw["portrait_ml"])
    service = pg_cluster.dsn_for(db, "portrait_service", pw["portrait_service"])
    with psycopg.connect(ml) as conn:
        audiences.ensure_tables(conn)
        assert len(uplift_task.campaign_frame(conn)) > 500
        pending = closed_unevaluated(conn)
        assert pending and record_evaluations(conn, pending, Path("reports")) == len(pending)
    with psycopg.connect(ml) as conn:
        assert closed_unevaluated(conn) == []
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from marts.mart_customer_profile")
    with psycopg.connect(service) as conn:
        runs = audiences.materialise_scheduled(conn, dt.date(2025, 6, 30))
    assert {r["campaign_id"] for r in runs} == {
        "project_buyers_preseason-202506", "churn_retention-202506"
    }  # fmt: skip
