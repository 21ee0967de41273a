"""portrait_train then portrait_daily, run by Airflow (dag.test) on the demo's small world
with a history that ends in mid-2024 (long before the DAGs' dates), then `make quality`;
and runs for days the data does not cover, which must fail and say so."""

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from models_ml.targets import TARGETS
from portrait.local.runner import world_start_date

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.e2e


def run(cmd, env, log: Path, expect: int = 0) -> str:
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    log.write_text(proc.stdout + proc.stderr)
    assert proc.returncode == expect, (
        f"{' '.join(map(str, cmd))} exited {proc.returncode}; log {log}:\n"
        + (proc.stdout + proc.stderr)[-6000:]
    )
    return proc.stdout + proc.stderr


def portrait(*args: str) -> list:
    return [sys.executable, "-m", "portrait.cli", *args]


@pytest.fixture(scope="module")
def pipeline(pipeline_warehouse):
    """The session's warehouse built by both DAGs (tests/conftest.py: pipeline_warehouse)."""
    return pipeline_warehouse


def untrainable(logs: Path) -> dict[str, str]:
    """Target -> the reason portrait_train gave for skipping it (too few positives, ...)."""
    text = (logs / "portrait_train.log").read_text()
    return {
        name: text.split(f"{name} cannot be trained: ", 1)[1].split("'", 1)[0]
        for name in TARGETS
        if f"{name} cannot be trained: " in text
    }


def champions(logs: Path) -> set[str]:
    """The targets portrait_train trained (and so gave a champion)."""
    return set(TARGETS) - set(untrainable(logs))


def test_training_skips_an_untrainable_target_with_its_reason_and_trains_the_others(pipeline):
    """On 30 months of scale-1 history a target may lack positives; it is skipped with the
    reason, and the others still train and get a champion."""
    dsn, _, _, logs = pipeline
    for name, reason in untrainable(logs).items():
        assert "positives" in reason or "history" in reason, (name, reason)
    assert len(champions(logs)) >= 2, untrainable(logs)
    with psycopg.connect(dsn) as conn:
        aliases = conn.execute(
            "select distinct task, model_alias from ml.customer_scores"
        ).fetchall()
    assert sorted(aliases) == sorted((name, "champion") for name in champions(logs))


def test_every_customer_of_the_snapshot_is_scored_once_per_task(pipeline):
    dsn, run_date, _, logs = pipeline
    with psycopg.connect(dsn) as conn:
        (as_of,) = conn.execute("select max(as_of_date) from ml.customer_scores").fetchone()
        assert as_of == run_date - dt.timedelta(days=1), "scores are for the day before the run"
        (customers,) = conn.execute(
            "select count(*) from features.customer_features where as_of_date = %s", (as_of,)
        ).fetchone()
        per_task = dict(
            conn.execute(
                "select task, count(*) from ml.customer_scores where as_of_date = %s group by 1",
                (as_of,),
            ).fetchall()
        )
        (dupes,) = conn.execute(
            "select count(*) from (select 1 from ml.customer_scores "
            "group by cid, as_of_date, task having count(*) > 1) as d"
        ).fetchone()
        aliases = {
            r[0] for r in conn.execute("select distinct model_alias from ml.customer_scores")
        }
    assert customers > 0
    assert per_task == dict.fromkeys(champions(logs), customers)
    assert dupes == 0
    assert aliases == {"champion"}


def test_drift_figures_are_stored_with_a_report(pipeline):
    dsn, _, env, _ = pipeline
    with psycopg.connect(dsn) as conn:
        runs = conn.execute(
            "select task, drifted_feature_share, report_path from monitoring.drift_runs"
        ).fetchall()
        (metrics,) = conn.execute("select count(*) from monitoring.drift_metrics").fetchone()
    assert {r[0] for r in runs} == champions(pipeline[3])
    assert metrics > 0
    for _, share, path in runs:
        assert 0.0 <= share <= 1.0
        html = Path(path).read_text()
        assert path.startswith(env["PORTRAIT_REPORTS_DIR"]), "reports go to the configured folder"
        assert "days_since_last_order" in html and "drift" in html.lower()


def test_customers_are_segmented_for_the_tag_layer(pipeline):
    dsn, run_date, *_ = pipeline
    with psycopg.connect(dsn) as conn:
        (segmented,) = conn.execute(
            "select count(*) from ml.customer_segments where as_of_date = %s",
            (run_date - dt.timedelta(days=1),),
        ).fetchone()
        (tagged,) = conn.execute(
            "select count(*) from marts.mart_customer_tags "
            "where tag_code = 'model_segment' and is_current and tag_value is not null"
        ).fetchone()
    assert segmented > 0
    assert tagged == segmented, "every segmented customer carries its segment as a current tag"


def test_marts_show_the_scores(pipeline):
    dsn, *_ = pipeline
    with psycopg.connect(dsn) as conn:
        (scored,) = conn.execute(
            "select count(*) from marts.mart_customer_profile where churn_score is not null"
        ).fetchone()
    assert scored > 0


def test_rerunning_the_day_replaces_rather_than_duplicates(pipeline):
    dsn, run_date, env, logs = pipeline
    with psycopg.connect(dsn) as conn:
        before = conn.execute(
            "select task, count(*) from ml.customer_scores group by 1 order by 1"
        ).fetchall()
    run(
        portrait("dags", "test", "portrait_daily", run_date.isoformat()),
        env,
        logs / "portrait_daily_rerun.log",
    )
    with psycopg.connect(dsn) as conn:
        after = conn.execute(
            "select task, count(*) from ml.customer_scores group by 1 order by 1"
        ).fetchall()
    assert after == before


def test_the_snapshots_span_the_whole_history(pipeline, historical_world):
    """Every month-end from the data's first to its last is a feature snapshot."""
    dsn, run_date, *_ = pipeline
    first = world_start_date(historical_world / "landing")
    with psycopg.connect(dsn) as conn:
        dates = [
            r[0]
            for r in conn.execute(
                "select distinct as_of_date from features.customer_features order by 1"
            )
        ]
    month_ends = [
        dt.date(y, m, 1) - dt.timedelta(days=1)
        for y in range(first.year, run_date.year + 1)
        for m in range(1, 13)
        if first <= dt.date(y, m, 1) <= run_date
    ]
    assert dates == month_ends


def test_a_past_month_backfills_with_the_champions(pipeline):
    """A month of the history run afterwards (`portrait dags backfill`, one dag.test per
    month) scores that month-end with the same champions and leaves the other days alone."""
    dsn, run_date, env, logs = pipeline
    day = dt.date(run_date.year - 1, run_date.month, 1)
    with psycopg.connect(dsn) as conn:
        before = conn.execute(
            "select task, count(*) from ml.customer_scores where as_of_date = %s group by 1",
            (run_date - dt.timedelta(days=1),),
        ).fetchall()
    out = run(
        portrait("dags", "backfill", "portrait_daily", day.isoformat(), day.isoformat()),
        env,
        logs / "portrait_daily_backfill.log",
    )
    assert f"portrait_daily {day}: success" in out
    with psycopg.connect(dsn) as conn:
        backfilled = dict(
            conn.execute(
                "select task, count(*) from ml.customer_scores where as_of_date = %s group by 1",
                (day - dt.timedelta(days=1),),
            ).fetchall()
        )
        after = conn.execute(
            "select task, count(*) from ml.customer_scores where as_of_date = %s group by 1",
            (run_date - dt.timedelta(days=1),),
        ).fetchall()
        (customers,) = conn.execute(
            "select count(*) from features.customer_features where as_of_date = %s",
            (day - dt.timedelta(days=1),),
        ).fetchone()
    assert customers > 0
    assert backfilled == dict.fromkeys(champions(logs), customers)
    assert sorted(after) == sorted(before)


@pytest.mark.parametrize(
    ("run_date", "start_date", "says"),
    [
        # The newest batch is extracted on 2024-07-01: a run for a later day has nothing new.
        ("2024-09-01", None, "is after the data"),
        # Before the data, with no start date to stop it: the coverage task fails the run.
        ("2021-06-01", "", "is before the data"),
        # Before PORTRAIT_START_DATE: refused before Airflow would create no task at all.
        ("2021-06-01", None, "before the DAGs' start date"),
    ],
    ids=["after-the-data", "before-the-data", "before-the-start-date"],
)
def test_a_run_for_a_day_the_data_does_not_cover_fails_and_says_why(
    pipeline, run_date, start_date, says
):
    dsn, _, env, logs = pipeline
    if start_date is not None:
        env = {k: v for k, v in env.items() if k != "PORTRAIT_START_DATE"}
    with psycopg.connect(dsn) as conn:
        before = conn.execute("select count(*) from ml.customer_scores").fetchone()
    out = run(
        portrait("dags", "test", "portrait_daily", run_date),
        env,
        logs / f"portrait_daily_{run_date}_{start_date}.log",
        expect=1,
    )
    assert says in out
    assert "finished: success" not in out
    with psycopg.connect(dsn) as conn:
        after = conn.execute("select count(*) from ml.customer_scores").fetchone()
    assert after == before, "nothing was scored for a day the data does not cover"


def test_quality_reports_every_target_of_the_2024_world(pipeline, historical_world):
    dsn, _, env, logs = pipeline
    reports = Path(env["PORTRAIT_REPORTS_DIR"])
    out = run(
        portrait("quality", "--truth", str(historical_world / "truth"), "--dsn", dsn,
                 "--reports", str(reports)),
        env,
        logs / "quality.log",
    )  # fmt: skip
    report = json.loads((reports / "quality.json").read_text())
    assert report["identity"]["pairwise_f1"] > 0.9, out[-3000:]
    assert set(report["models"]) == set(TARGETS)
    for name in champions(logs):
        figures = report["models"][name]
        assert figures["status"] == "judged" and figures["source"] == "champion", (name, figures)
        assert 0.5 < figures["test_auc"] <= 1.0, (name, figures)
    for name, reason in untrainable(logs).items():
        assert report["models"][name] == {"status": "untrainable", "reason": reason}
        assert f"{name}: no figures (untrainable: {reason})" in out
    md = (reports / "quality.md").read_text()
    assert all(f"| {name}.status | untrainable |" in md for name in untrainable(logs))
