"""The ML layer on a real warehouse and a real MLflow (SQLite in tmp): train every task on
the default world, gate, roll back, score idempotently, segment, watch drift, compare with
the oracle. One world and one set of trained models per module."""

import datetime as dt
import math
import subprocess
import sys
from pathlib import Path

import mlflow
import psycopg
import pytest
from conftest import create_database, service_env_for

from sources.loader import load_landing

REPO = Path(__file__).resolve().parents[2]
DBT = str(Path(sys.executable).parent / "dbt")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(pg_cluster, default_world, tmp_path_factory):
    """The default world loaded and built, MLflow pointed at a private store, every task
    trained and promoted once."""
    from models_ml.register import promote
    from models_ml.targets import TARGETS
    from models_ml.train import train_task
    from portrait.settings import get_settings

    dsn = create_database(pg_cluster, "models_lifecycle")
    local = tmp_path_factory.mktemp("models_local")
    load_landing(dsn, default_world / "landing", progress=False)
    env = service_env_for(dsn, local)
    proc = subprocess.run(
        [DBT, "build"], cwd=REPO / "dbt_project", env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{local / 'mlflow.db'}")
        mp.setenv("PORTRAIT_MLFLOW_ARTIFACT_ROOT", str(local / "artifacts"))
        mp.setenv("PORTRAIT_REPORTS_DIR", str(local / "reports"))
        get_settings.cache_clear()
        trained = {name: train_task(name, dsn=dsn) for name in TARGETS}
        promoted = {name: promote(name) for name in TARGETS}
        yield {
            "dsn": dsn,
            "local": local,
            "truth": default_world / "truth",
            "trained": trained,
            "promoted": promoted,
        }
    get_settings.cache_clear()


def champion_version(task_name: str) -> str:
    from models_ml import tracking
    from models_ml.targets import get_target

    client = tracking.configure()
    return client.get_model_version_by_alias(
        get_target(task_name).registered_model_name, "champion"
    ).version


def latest_date(dsn) -> dt.date:
    with psycopg.connect(dsn) as conn:
        return conn.execute("select max(as_of_date) from features.customer_features").fetchone()[0]


def test_every_task_trains_well_above_chance_and_becomes_champion(world):
    for name, result in world["trained"].items():
        assert result.registered, (name, result.reasons)
        assert result.metrics["roc_auc"] > 0.7, (name, result.metrics)
        assert world["promoted"][name].promoted
    credit = world["trained"]["default_90dpd_180d"]
    # LightGBM's credit scores are Platt-calibrated; a baseline served gives its own PDs
    assert credit.calibration == ("platt" if credit.policy == "lightgbm" else "none")
    assert credit.metrics["ks"] > 0.3
    assert credit.metrics["brier"] < 0.05


def test_runs_carry_search_children_dataset_signature_and_calibrator(world):
    from models_ml import tracking
    from models_ml.fit import SEARCH_SPACE

    client = tracking.configure()
    result = world["trained"]["default_90dpd_180d"]
    run = client.get_run(result.run_id)
    children = client.search_runs(
        [run.info.experiment_id], f"tags.mlflow.parentRunId = '{result.run_id}'"
    )
    assert len(children) == len(SEARCH_SPACE)
    best = max(c.data.metrics.get("valid_roc_auc", -1) for c in children)
    assert run.data.metrics["valid_roc_auc"] == pytest.approx(best)
    assert int(run.data.params["num_leaves"]) == result.params["num_leaves"]
    assert run.inputs.dataset_inputs, "training data logged as an MLflow dataset"
    info = mlflow.models.get_model_info("models:/portrait_default_90dpd_180d@champion")
    assert info.signature is not None and info.saved_input_example_info is not None
    assert all(not col.required for col in info.signature.inputs.inputs)
    assert info.metadata["policy"] == result.policy
    assert info.metadata["calibration"]["method"] == (
        "platt" if result.policy == "lightgbm" else "none"
    )


def test_a_worse_challenger_is_not_promoted(world, monkeypatch):
    from models_ml import train
    from models_ml.register import promote

    before = champion_version("churn_180d")
    # A one-feature fit registers its best policy (LightGBM or a baseline): the gate is under test.
    worse = train.train_task("churn_180d", dsn=world["dsn"], features=["material_families_365d"])
    assert worse.registered
    decision = promote("churn_180d")
    assert not decision.promoted
    assert any("AUC" in r for r in decision.reasons), decision.reasons
    assert champion_version("churn_180d") == before
    run = mlflow.get_run(worse.run_id)
    assert run.data.tags["promotion"] == "rejected"


def test_rollback_restores_the_previous_champion(world, monkeypatch):
    from models_ml import train
    from models_ml.register import GatePolicy, promote, rollback

    first = champion_version("purchase_30d")
    assert train.train_task("purchase_30d", dsn=world["dsn"], seed=7).registered
    lenient = GatePolicy(auc_tolerance=1.0, brier_tolerance=1.0, segment_auc_tolerance=1.0)
    assert promote("purchase_30d", lenient).promoted
    second = champion_version("purchase_30d")
    assert second != first
    decision = rollback("purchase_30d")
    assert decision.promoted and champion_version("purchase_30d") == first
    assert rollback("purchase_30d").champion_version == second  # and back again


def test_scoring_a_date_twice_leaves_one_row_per_customer_and_task(world):
    from models_ml.score import score_task

    dsn, as_of = world["dsn"], latest_date(world["dsn"])
    for _ in range(2):
        result = score_task("default_90dpd_180d", as_of, dsn=dsn).to_dict()
    with psycopg.connect(dsn) as conn:
        (customers,) = conn.execute(
            "select count(*) from features.customer_features where as_of_date = %s", (as_of,)
        ).fetchone()
        rows, distinct, grades, lo, hi = conn.execute(
            "select count(*), count(distinct cid), array_agg(distinct band), min(score), "
            "max(score) from ml.customer_scores where task = %s and as_of_date = %s",
            ("default_90dpd_180d", as_of),
        ).fetchone()
    assert result["rows"] == rows == distinct == customers
    assert set(grades) <= set("ABCDE") and len(set(grades)) >= 2
    assert 0.0 < lo <= hi < 1.0


def test_partitioned_scoring_writes_the_rows_of_one_run_and_cids_rescore_only_theirs(world):
    """portrait_daily's mapped score tasks: three partitions run one by one give the rows one
    run gives, each writes only its own customers (disjoint, covering the snapshot), a re-run
    of one changes nothing, and a cid list rewrites only those customers' rows."""
    from psycopg import sql

    from models_ml.score import customer_filter, score_task

    dsn, as_of, task = world["dsn"], latest_date(world["dsn"]), "churn_180d"
    query = (
        "select cid, score, band, reason_1, reason_2, reason_3, model_name, model_version, "
        "model_alias, run_id from ml.customer_scores where task = %s and as_of_date = %s "
        "order by cid"
    )
    slice_ = "from ml.customer_scores where task = %s and as_of_date = %s"
    score_task(task, as_of, dsn=dsn)
    with psycopg.connect(dsn) as conn:
        whole = conn.execute(query, (task, as_of)).fetchall()
        snapshot = {
            r[0]
            for r in conn.execute(
                "select cid from features.customer_features where as_of_date = %s", (as_of,)
            )
        }
        parts = [
            {
                r[0]
                for r in conn.execute(
                    sql.SQL(
                        "select cid from features.customer_features where as_of_date = %s and {}"
                    ).format(customer_filter(p, 3)),
                    (as_of,),
                )
            }
            for p in range(3)
        ]
        conn.execute(f"delete {slice_}", (task, as_of))
    assert {r[0] for r in whole} == snapshot
    assert set.union(*parts) == snapshot and sum(map(len, parts)) == len(snapshot)
    assert all(parts), "three partitions of a few hundred customers are none empty"

    scored: set[str] = set()
    for p in range(3):
        result = score_task(task, as_of, dsn=dsn, chunk_rows=20, partition=p, partitions=3)
        with psycopg.connect(dsn) as conn:
            now = {r[0] for r in conn.execute(f"select cid {slice_}", (task, as_of))}
        assert result.rows == len(parts[p]) and now - scored == parts[p], p
        scored = now
    with psycopg.connect(dsn) as conn:
        assert conn.execute(query, (task, as_of)).fetchall() == whole
    score_task(task, as_of, dsn=dsn, partition=1, partitions=3)
    with psycopg.connect(dsn) as conn:
        assert conn.execute(query, (task, as_of)).fetchall() == whole

    state = f"select cid, scored_at, ctid::text {slice_}"
    with psycopg.connect(dsn) as conn:
        before = {r[0]: r[1:] for r in conn.execute(state, (task, as_of))}
    chosen = sorted(before)[:3]
    assert score_task(task, as_of, dsn=dsn, cids=chosen).rows == len(chosen)
    with psycopg.connect(dsn) as conn:
        after = {r[0]: r[1:] for r in conn.execute(state, (task, as_of))}
        assert conn.execute(query, (task, as_of)).fetchall() == whole
    assert after.keys() == before.keys()
    assert {c for c in before if after[c] != before[c]} == set(chosen)
    assert all(after[c][0] > before[c][0] for c in chosen)


def test_scoring_without_a_needed_column_fails_and_keeps_the_old_scores(world):
    from models_ml.matrix import FeatureError
    from models_ml.score import score_task

    dsn, as_of = world["dsn"], latest_date(world["dsn"])
    score_task("churn_180d", as_of, dsn=dsn)
    query = "select cid, score from ml.customer_scores where task = 'churn_180d' order by cid"
    with psycopg.connect(dsn) as conn:
        before = conn.execute(query).fetchall()
        conn.execute(
            "alter table features.customer_features rename column credit_limit_use to clu_old"
        )
    try:
        with pytest.raises(FeatureError, match="credit_limit_use"):
            score_task("churn_180d", as_of, dsn=dsn)
    finally:
        with psycopg.connect(dsn) as conn:
            conn.execute(
                "alter table features.customer_features rename column clu_old to credit_limit_use"
            )
    with psycopg.connect(dsn) as conn:
        assert conn.execute(query).fetchall() == before


def test_scores_name_their_model_and_give_reasons_and_a_midway_failure_writes_nothing(
    world, monkeypatch
):
    from models_ml import score, tracking
    from models_ml.targets import get_target

    dsn, as_of, task = world["dsn"], latest_date(world["dsn"]), "churn_180d"
    score.score_task(task, as_of, dsn=dsn, chunk_rows=20)
    mv = tracking.configure().get_model_version_by_alias(
        get_target(task).registered_model_name, "champion"
    )
    query = (
        "select cid, score, band, reason_1, reason_2, reason_3, model_version, run_id "
        "from ml.customer_scores where task = %s and as_of_date = %s order by cid"
    )
    with psycopg.connect(dsn) as conn:
        before = conn.execute(query, (task, as_of)).fetchall()
    assert {(r[6], r[7]) for r in before} == {(str(mv.version), mv.run_id)}
    assert any(r[3] for r in before) and all(r[3] or not r[4] for r in before)
    assert all(r[2] == get_target(task).band(r[1]) for r in before)

    scored = score.score_matrix
    calls = []

    def fail_on_the_third_chunk(champ, x, watch=None, reasons=True):
        calls.append(len(x))
        if len(calls) == 3:
            raise RuntimeError("scoring broke halfway")
        return scored(champ, x, watch, reasons)

    monkeypatch.setattr(score, "score_matrix", fail_on_the_third_chunk)
    with pytest.raises(RuntimeError, match="halfway"):
        score.score_task(task, as_of, dsn=dsn, chunk_rows=20)
    with psycopg.connect(dsn) as conn:
        assert conn.execute(query, (task, as_of)).fetchall() == before


def test_scoring_without_a_champion_fails_clearly_and_writes_nothing(world):
    from models_ml import tracking
    from models_ml.registry import NoChampionError
    from models_ml.score import score_task
    from models_ml.targets import get_target

    dsn, as_of, task = world["dsn"], latest_date(world["dsn"]), "churn_180d"
    name = get_target(task).registered_model_name
    client = tracking.configure()
    version = client.get_model_version_by_alias(name, "champion").version
    count = "select count(*) from ml.customer_scores where task = %s and as_of_date = %s"
    with psycopg.connect(dsn) as conn:
        conn.execute("delete from ml.customer_scores where task = %s", (task,))
    client.delete_registered_model_alias(name, "champion")
    try:
        with pytest.raises(NoChampionError, match="champion"):
            score_task(task, as_of, dsn=dsn)
    finally:
        client.set_registered_model_alias(name, "champion", version)
    with psycopg.connect(dsn) as conn:
        assert conn.execute(count, (task, as_of)).fetchone()[0] == 0


def test_a_run_s_pinned_version_scores_and_checks_drift_while_the_alias_moves(world):
    """portrait_daily's champion_<target> pins the version once per run: the partitions and
    the drift check of that run load it even when the alias moves (here: is taken away) in
    between, and their rows name it; a version that does not exist fails clearly."""
    from models_ml import registry, tracking
    from models_ml.monitor import check_drift
    from models_ml.registry import NoChampionError
    from models_ml.score import score_task
    from models_ml.targets import get_target

    dsn, as_of, task = world["dsn"], latest_date(world["dsn"]), "churn_180d"
    name = get_target(task).registered_model_name
    pinned = registry.champion_version(task)
    assert pinned == str(champion_version(task))
    client = tracking.configure()
    client.delete_registered_model_alias(name, "champion")
    try:
        with pytest.raises(NoChampionError):
            registry.champion_version(task)
        parts = [
            score_task(task, as_of, dsn=dsn, partition=p, partitions=2, version=pinned)
            for p in range(2)
        ]
        drift = check_drift(task, as_of, dsn=dsn, version=pinned)
    finally:
        client.set_registered_model_alias(name, "champion", pinned)
    assert sum(r.rows for r in parts) > 0 and drift.model_version == pinned
    with psycopg.connect(dsn) as conn:
        versions = conn.execute(
            "select distinct model_version, model_alias from ml.customer_scores"
            " where task = %s and as_of_date = %s",
            (task, as_of),
        ).fetchall()
    assert versions == [(pinned, "champion")]
    with pytest.raises(NoChampionError, match="no version 999"):
        score_task(task, as_of, dsn=dsn, version="999")


def test_segments_are_written_once_per_date_with_names_and_a_map(world):
    from models_ml.segment import segment_customers

    dsn, as_of = world["dsn"], latest_date(world["dsn"])
    segment_customers(as_of, dsn=dsn)
    result = segment_customers(as_of, dsn=dsn).to_dict()
    assert 3 <= result["k"] <= 8
    with psycopg.connect(dsn) as conn:
        rows, cids, names, runs = conn.execute(
            "select count(*), count(distinct cid), count(distinct segment_name), "
            "count(distinct model_run_id) from ml.customer_segments where as_of_date = %s",
            (as_of,),
        ).fetchone()
        (customers,) = conn.execute(
            "select count(*) from features.customer_features where as_of_date = %s", (as_of,)
        ).fetchone()
    assert rows == cids == customers == result["rows"]
    assert names == result["k"] and runs == 1
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(result["run_id"], "plots")}
    assert "plots/segments_pca.png" in artifacts


def copy_snapshot(conn, source: dt.date, target: dt.date, shift: bool) -> None:
    """A synthetic snapshot dated `target`: `source`'s rows, or a world where every customer
    orders ten times more, pays far later and has not ordered for a year."""
    conn.execute("delete from features.customer_features where as_of_date = %s", (target,))
    conn.execute(
        "create temp table snap as select * from features.customer_features where as_of_date = %s",
        (source,),
    )
    conn.execute("update snap set as_of_date = %s", (target,))
    if shift:
        conn.execute(
            "update snap set days_since_last_order = coalesce(days_since_last_order, 0) + 365, "
            "orders_90d = orders_90d * 10 + 5, orders_180d = orders_180d * 10 + 5, "
            "orders_365d = orders_365d * 10 + 5, revenue_cny_90d = revenue_cny_90d * 10 + 1e6, "
            "revenue_cny_180d = revenue_cny_180d * 10 + 1e6, "
            "revenue_cny_365d = revenue_cny_365d * 10 + 1e6, "
            "avg_days_late_365d = coalesce(avg_days_late_365d, 0) + 120, "
            "max_days_late_365d = coalesce(max_days_late_365d, 0) + 200, "
            "late_invoice_share_365d = 1, material_families_365d = material_families_365d + 6, "
            "credit_limit_use = coalesce(credit_limit_use, 0) + 3, "
            "invoices_365d = invoices_365d * 10 + 5, orders_prev_365d = orders_prev_365d * 10"
        )
    conn.execute("insert into features.customer_features select * from snap")
    conn.execute("drop table snap")


def test_drift_recommends_retraining_after_the_trigger_days_only_when_shifted(world):
    from models_ml.monitor import DriftPolicy, check_drift
    from models_ml.registry import load_champion, reference_frame
    from models_ml.score import score_task

    dsn, task = world["dsn"], "churn_180d"
    policy = DriftPolicy()
    reference = reference_frame(load_champion(task).run_id)
    source = max(reference["as_of_date"])
    clean = [dt.date(2029, m, 1) for m in (1, 2, 3, 4)]
    shifted = [dt.date(2030, m, 1) for m in (1, 2, 3, 4)]
    with psycopg.connect(dsn) as conn:
        for d in clean:
            copy_snapshot(conn, source, d, shift=False)
        for d in shifted:
            copy_snapshot(conn, source, d, shift=True)
    try:
        verdicts = []
        for d in clean + shifted:
            score_task(task, d, dsn=dsn)
            result = check_drift(
                task, d, dsn=dsn, reports_dir=world["local"] / "reports", policy=policy
            )
            verdicts.append((result.is_drifted, result.retrain_recommended))
    finally:
        with psycopg.connect(dsn) as conn:
            conn.execute("delete from features.customer_features where as_of_date >= '2029-01-01'")
            conn.execute("delete from ml.customer_scores where as_of_date >= '2029-01-01'")
    assert verdicts[:4] == [(False, False)] * 4
    alarms = [alarm for _, alarm in verdicts[4:]]
    assert all(drifted for drifted, _ in verdicts[4:])
    trigger = policy.trigger_days
    assert alarms == [False] * (trigger - 1) + [True] * (4 - trigger + 1)


def test_models_quality_compares_each_task_with_the_oracle(world):
    from models_ml.targets import TARGETS
    from portrait.scorecards.models import models_quality

    quality = models_quality(world["dsn"], world["truth"])
    assert set(quality) == set(TARGETS)
    for name, q in quality.items():
        assert q["oracle_coverage"] > 0.9, name
        assert 0.5 < q["oracle_auc"] <= 1.0 and not math.isnan(q["auc_ratio_to_oracle"])
        assert q["test_auc"] > q["baseline_auc"] - 0.05, (name, q)
        assert 0 <= q["brier"] < 0.25 and 0 <= q["ece"] < 0.25
