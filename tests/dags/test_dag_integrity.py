"""Every DAG file imports without a database or network, and is documented and owned."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((REPO / "dags").glob("*.py"))


@pytest.fixture(scope="module")
def dag_env(tmp_path_factory, monkeypatch_module):
    """Service env pointing at a throwaway home; the dbt manifest Cosmos renders from."""
    from portrait.settings import Settings

    local = tmp_path_factory.mktemp("local")
    env = Settings(local_dir=local).service_env()
    for key, value in env.items():
        monkeypatch_module.setenv(key, value)
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "parse", "--quiet"],
        cwd=REPO / "dbt_project",
        check=True,
        env={**os.environ, **env},
    )
    return env


@pytest.fixture(scope="module")
def dagbag(dag_env, monkeypatch_module):
    def no_network(*args, **kwargs):
        raise AssertionError("a DAG file opened a network connection at parse time")

    monkeypatch_module.setattr(socket.socket, "connect", no_network)
    monkeypatch_module.setenv(
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite:////nonexistent/airflow.db"
    )
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(REPO / "dags"))
    elapsed = time.perf_counter() - started
    from conftest import SESSION_REPORT

    SESSION_REPORT.append(
        f"DAG parse: {len(bag.dags)} DAGs from {len(DAG_FILES)} files in {elapsed:.2f}s "
        f"({sum(len(d.tasks) for d in bag.dags.values())} tasks)"
    )
    return bag


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_one_dag_per_file_named_after_it(dagbag):
    assert sorted(dagbag.dags) == sorted(p.stem for p in DAG_FILES)
    for dag_id, dag in dagbag.dags.items():
        assert Path(dag.fileloc).stem == dag_id


@pytest.mark.parametrize("dag_id", [p.stem for p in DAG_FILES])
def test_dag_has_owner_tags_retries_and_docs(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.tags, "tags"
    assert dag.doc_md and len(dag.doc_md) > 100, "doc_md from the module docstring"
    for t in dag.tasks:
        assert t.owner and t.owner != "airflow", f"{t.task_id} has no owner"
        if not t.task_id.startswith("promote_"):
            assert t.retries >= 1, f"{t.task_id} has no retries"


def test_dbt_models_are_tasks(dagbag):
    daily = {t.task_id for t in dagbag.dags["portrait_daily"].tasks}
    assert "transform.customer_features_model_build" in daily
    assert "marts.mart_customer_profile_model_build" in daily
    assert not any(t.startswith("transform.mart_") for t in daily), "marts run after scoring"
    assert "staging.stg_text__documents_model_build" in daily
    assert any(t.startswith("staging.") and t.endswith("_seed_build") for t in daily), (
        "seeds (identity decisions, reference data) load in the daily run"
    )
    train = {t.task_id for t in dagbag.dags["portrait_train"].tasks}
    assert "features.customer_labels_model_build" in train


def test_train_is_scheduled_on_the_drift_asset(dagbag):
    from portrait.orchestration import DRIFT_ALERT

    train = dagbag.dags["portrait_train"]
    uris = [asset.uri for asset in train.timetable.asset_condition.objects]
    assert uris == [DRIFT_ALERT.uri]
    signal = dagbag.dags["portrait_daily"].get_task("retrain_signal")
    assert any(getattr(o, "uri", None) == DRIFT_ALERT.uri for o in signal.outlets)


def test_dag_files_are_thin():
    for path in DAG_FILES:
        text = path.read_text()
        for heavy in ("import pandas", "import lightgbm", "import mlflow", "psycopg", "select "):
            assert heavy not in text, f"{path.name} contains {heavy!r}: move it into a package"


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_each_dag_file_parses_quickly(dagbag, path):
    """A loose bound (the dagbag is already warm): it catches a dbt call or a warehouse query
    at parse time (tens of seconds), not the noise of a shared machine."""
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(path))
    elapsed = time.perf_counter() - started
    assert not bag.import_errors
    assert elapsed < 5.0, f"{path.name} took {elapsed:.1f}s to parse"


def test_tasks_emit_the_assets_they_write(dagbag):
    from portrait import orchestration as orc

    daily = dagbag.dags["portrait_daily"]
    outlets = {t.task_id: {o.uri for o in t.outlets} for t in daily.tasks}
    assert outlets["load"] == {orc.RAW.uri}
    assert outlets["segment"] == {orc.SEGMENTS.uri}
    assert all(outlets[t] == {orc.SCORES.uri} for t in outlets if t.startswith("score_"))
    train = dagbag.dags["portrait_train"]
    promote = [t for t in train.tasks if t.task_id.startswith("promote_")]
    assert promote and all({o.uri for o in t.outlets} == {orc.MODELS.uri} for t in promote)


def test_every_run_checks_its_day_is_covered_before_any_dbt_work(dagbag):
    """A day the data does not cover fails at `coverage`, before dbt: never an empty success."""
    for dag_id, first_dbt in (("portrait_daily", "staging."), ("portrait_train", "features.")):
        dag = dagbag.dags[dag_id]
        coverage = dag.get_task("coverage")
        assert coverage.upstream_task_ids == {"load"}
        dbt_roots = [
            t for t in dag.tasks if t.task_id.startswith(first_dbt) and not t.upstream_task_ids
        ] + [t for t in dag.tasks if "coverage" in t.upstream_task_ids]
        assert dbt_roots and all(t.task_id.startswith(first_dbt) for t in dbt_roots), dag_id
        assert all("coverage" in t.upstream_task_ids for t in dbt_roots), dag_id


def test_a_target_without_a_champion_does_not_block_the_marts(dagbag):
    daily = dagbag.dags["portrait_daily"]
    roots = [t for t in daily.tasks if t.task_id.startswith("marts.") and any(
        u.startswith("score_") for u in t.upstream_task_ids)]  # fmt: skip
    assert roots and all(t.trigger_rule == "none_failed_min_one_success" for t in roots)


def test_the_campaign_dags_are_scheduled_on_the_assets_the_others_emit(dagbag):
    """daily publishes the marts -> portrait_campaigns; newly closed campaigns ->
    portrait_campaign_evaluation (data-aware scheduling, docs/marketing.md)."""
    from portrait import orchestration as orc

    def schedule(dag_id):
        return [a.uri for a in dagbag.dags[dag_id].timetable.asset_condition.objects]

    def emits(dag_id, task_id):
        return {o.uri for o in dagbag.dags[dag_id].get_task(task_id).outlets}

    assert schedule("portrait_campaigns") == [orc.MARTS.uri]
    assert schedule("portrait_campaign_evaluation") == [orc.MARKETING.uri]
    assert emits("portrait_daily", "published") == {orc.MARTS.uri}
    assert emits("portrait_campaigns", "closed_campaigns") == {orc.MARKETING.uri}
    daily = dagbag.dags["portrait_daily"]
    upstream = daily.get_task("published").upstream_task_ids
    assert upstream and all(t.startswith("marts.") for t in upstream), "after the marts"
    # the marketing marts are the campaign DAG's, not the daily run's
    daily_ids = {t.task_id for t in daily.tasks}
    assert not any("mart_campaign" in t or "next_best_action" in t for t in daily_ids)
    campaigns = {t.task_id for t in dagbag.dags["portrait_campaigns"].tasks}
    assert "marketing.mart_campaign_ab_tests_model_build" in campaigns
    assert "next_best_action.mart_next_best_action_model_build" in campaigns
    for dag_id in ("portrait_train", "portrait_campaign_evaluation"):
        assert emits(dag_id, "promote_uplift") == {orc.MODELS.uri}
        upstream = dagbag.dags[dag_id].get_task("promote_uplift").upstream_task_ids
        assert upstream == {"train_uplift"}


def test_scoring_maps_one_task_per_partition(dag_env, monkeypatch):
    """PORTRAIT_SCORE_PARTITIONS=3: each target's score task maps over partitions 0..2 with
    the version its champion_<target> task pinned, a mapped instance still renders the
    templated as-of date given in partial(), and drift (with the same version) and the marts
    wait for all of them."""
    import datetime as dt
    from types import SimpleNamespace

    from airflow.dag_processing.dagbag import DagBag

    from models_ml.targets import TARGETS
    from portrait import orchestration as orc
    from portrait.settings import get_settings

    monkeypatch.setenv("PORTRAIT_SCORE_PARTITIONS", "3")
    get_settings.cache_clear()
    try:
        bag = DagBag(dag_folder=str(REPO / "dags" / "portrait_daily.py"))
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert not bag.import_errors
    daily = bag.dags["portrait_daily"]
    run = SimpleNamespace(logical_date=dt.datetime(2024, 6, 1, 1, tzinfo=dt.UTC), run_after=None)
    as_of = orc.USER_MACROS["portrait_as_of_date"](run.logical_date)
    for name in TARGETS:
        scored = daily.get_task(f"score_{name}")
        assert scored.op_kwargs_expand_input.value == {"partition": [0, 1, 2]}
        unmapped = scored.unmap({"op_kwargs": {"partition": 2}})
        kwargs = dict(unmapped.op_kwargs)
        pinned = kwargs.pop("version")
        assert pinned.operator.task_id == f"champion_{name}" and pinned.key == "return_value"
        upstream = daily.get_task(f"champion_{name}").upstream_task_ids
        assert upstream and all(t.startswith("transform.") for t in upstream), upstream
        rendered = unmapped.render_template(kwargs, {"dag_run": run}, daily.get_template_env())
        assert rendered == {"task_name": name, "as_of_date": as_of, "partitions": 3, "partition": 2}
        drift_version = daily.get_task(f"drift_{name}").op_args[2]
        assert drift_version.operator.task_id == f"champion_{name}"
        assert "op_kwargs" in scored.template_fields
        assert f"score_{name}" in daily.get_task(f"drift_{name}").upstream_task_ids
        assert any(t.startswith("marts.") for t in scored.downstream_task_ids)


@pytest.fixture
def dagbag_in_mode(dag_env, monkeypatch):
    """portrait_daily parsed with PORTRAIT_DBT_EXECUTION set to a mode (settings re-read)."""
    from airflow.dag_processing.dagbag import DagBag

    from portrait.settings import get_settings

    def parse(mode: str):
        monkeypatch.setenv("PORTRAIT_DBT_EXECUTION", mode)
        monkeypatch.setenv(
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite:////nonexistent/airflow.db"
        )
        get_settings.cache_clear()
        bag = DagBag(dag_folder=str(REPO / "dags" / "portrait_daily.py"))
        assert bag.import_errors == {}
        return bag.dags["portrait_daily"]

    yield parse
    get_settings.cache_clear()


def _dbt_args(task) -> tuple:
    """What a dbt task runs over: its select and exclude (as sets of selectors), its vars."""

    def selectors(value):
        return set(value.split() if isinstance(value, str) else value or [])

    return selectors(task.select), selectors(task.exclude), task.vars


def test_watcher_mode_renders_one_build_and_a_sensor_per_model(dagbag_in_mode):
    """PORTRAIT_DBT_EXECUTION=watcher: per group one `dbt build` (the producer) over the same
    selection, vars included, and a sensor per model and per model's tests, each showing its
    status; the sensors reschedule (no triggerer, and `airflow dags test` cannot deadlock)."""
    tasks_dag = dagbag_in_mode("tasks")
    tasks = {t.task_id: t for t in tasks_dag.tasks}
    dag = dagbag_in_mode("watcher")
    ids = {t.task_id for t in dag.tasks}
    for group in ("staging", "transform", "marts"):
        producer = dag.get_task(f"{group}.dbt_producer_watcher")
        assert type(producer).__name__ == "DbtProducerWatcherOperator"
        assert producer.base_cmd == ["build"]
        model = next(
            t for t in tasks.values() if t.task_id.startswith(f"{group}.") and hasattr(t, "vars")
        )
        select, exclude, dbt_vars = _dbt_args(producer)
        assert dbt_vars == model.vars, "the same --vars as one task per model"
        assert select and not select & exclude
    assert {"transform.customer_features.run", "transform.customer_features.test"} <= ids
    assert "marts.mart_customer_profile.run" in ids
    from airflow.sdk.bases.sensor import BaseSensorOperator

    sensors = [t for t in dag.tasks if isinstance(t, BaseSensorOperator)]
    assert len(sensors) > 50 and all(s.mode == "reschedule" and not s.deferrable for s in sensors)
    assert dag.get_task("transform.dbt_producer_watcher").upstream_task_ids == {"text"}
    assert any(u.startswith("marts.") for u in dag.get_task("published").upstream_task_ids)


def test_build_mode_renders_one_build_task_per_group(dagbag_in_mode):
    """PORTRAIT_DBT_EXECUTION=build: each group is one task running `dbt build` over the
    same select, exclude and vars as the per-model tasks, wired where the group was."""
    tasks_dag = dagbag_in_mode("tasks")
    dag = dagbag_in_mode("build")
    dbt_ids = {
        t.task_id for t in dag.tasks if t.task_id.startswith(("staging.", "transform.", "marts."))
    }
    assert dbt_ids == {"staging.dbt_build", "transform.dbt_build", "marts.dbt_build"}
    staging = dag.get_task("staging.dbt_build")
    assert _dbt_args(staging)[:2] == ({"path:seeds", "path:models/staging"}, set())
    transform = dag.get_task("transform.dbt_build")
    assert _dbt_args(transform)[:2] == (
        {"path:models"}, {"path:models/marts", "path:models/staging"},
    )  # fmt: skip
    model = tasks_dag.get_task("transform.customer_features_model_build")
    assert _dbt_args(transform)[2] == model.vars
    assert staging.upstream_task_ids == {"coverage"}
    assert transform.upstream_task_ids == {"text"}
    marts = dag.get_task("marts.dbt_build")
    assert marts.trigger_rule == "none_failed_min_one_success"
    assert {"segment", "score_churn_180d"} <= marts.upstream_task_ids
    assert dag.get_task("published").upstream_task_ids == {"marts.dbt_build"}


def test_a_multi_model_test_runs_only_in_the_group_that_builds_its_last_model(dagbag):
    """Cosmos renders a test over several models in every group holding one of them; the
    staging-vs-features reconciliations must run after the features, in transform only."""
    ids = dagbag.dags["portrait_daily"].task_ids
    reconcile = [t for t in ids if t.endswith("_reconcile_staging_features_test")]
    assert len(reconcile) == 6 and all(t.startswith("transform.") for t in reconcile), reconcile
