"""The campaign DAGs run by Airflow (dag.test) on a small world with campaigns, as they follow
each other in production: portrait_campaigns (audiences, campaign marts, newly closed
campaigns; no uplift champion yet) → portrait_campaign_evaluation (A/B reports, the uplift
model trained, gated, promoted) → portrait_campaigns again (scores with the champion, next
best actions; nothing newly closed) → once more (a re-run changes nothing). Before the
evaluation the members' conversions get a planted, learnable effect (conftest's
plant_campaign_effect: this small world's own effects are rightly found within chance).

What portrait_train's features step and portrait_daily do before them (month-end snapshots,
then the run day's snapshot and the marts) is done here by dbt directly: 7 minutes less than
running portrait_daily by Airflow on this world, whose own e2e run is test_pipeline's."""

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from conftest import create_database, plant_campaign_effect, run_dbt, service_env_for

from portrait.local.runner import world_run_date, world_start_date
from sources.loader import load_landing

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.e2e

# a table the runs so far have not created counts 0
COUNTED = {
    "audience_members": "activation.audience_members",
    "audience_runs": "activation.audience_runs",
    "uplift_scores": "ml.uplift_scores",
    "next_best_action": "marts.mart_next_best_action",
    "evaluations": "activation.campaign_evaluations",
}


@pytest.fixture(scope="module")
def campaigns(pg_cluster, marketing_world, tmp_path_factory):
    dsn = create_database(pg_cluster, "e2e_campaigns")
    local = tmp_path_factory.mktemp("e2e_campaigns_local")
    landing = local / "data" / "landing"  # where the DAGs' load task reads
    shutil.copytree(marketing_world / "landing", landing)
    env = service_env_for(dsn, local) | {"PORTRAIT_START_DATE": str(world_start_date(landing))}
    logs = local / "logs"
    logs.mkdir()
    run_date = world_run_date(landing)

    def run(name: str, *cmd) -> str:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        (logs / f"{name}.log").write_text(proc.stdout + proc.stderr)
        assert proc.returncode == 0, (
            f"{name} exited {proc.returncode}:\n" + (proc.stdout + proc.stderr)[-6000:]
        )
        return proc.stdout + proc.stderr

    def dag(name: str, dag_id: str) -> str:
        cli = [sys.executable, "-m", "portrait.cli"]
        return run(name, *cli, "dags", "test", dag_id, str(run_date))

    def counts() -> dict[str, int]:
        with psycopg.connect(dsn) as conn:
            return {
                k: conn.execute(f"select count(*) from {t}").fetchone()[0]
                if conn.execute("select to_regclass(%s)", (t,)).fetchone()[0]
                else 0
                for k, t in COUNTED.items()
            }

    load_landing(dsn, landing, progress=False)
    run_dbt(["build", "-s", "+path:models/features", "--indirect-selection", "cautious"], env)
    as_of = run_date - dt.timedelta(days=1)
    daily = json.dumps({"as_of_date": str(as_of)})
    run_dbt(["build", "--exclude", "path:models/marts/marketing", "--vars", daily], env)
    run("migrate", BIN / "airflow", "db", "migrate")
    out = {"dsn": dsn, "local": local, "run_date": run_date, "logs": {}}
    for name, dag_id in (
        ("campaigns_1", "portrait_campaigns"),
        ("evaluation", "portrait_campaign_evaluation"),
        ("campaigns_2", "portrait_campaigns"),
    ):
        if name == "evaluation":
            out["threshold"] = plant_campaign_effect(dsn)
        out["logs"][name] = dag(name, dag_id)
        out[name] = counts()
    out["logs"]["campaigns_3"] = dag("campaigns_3", "portrait_campaigns")
    out["campaigns_3"] = counts()
    return out


def test_the_first_campaign_run_finds_the_closed_campaigns_and_has_no_uplift_champion(campaigns):
    log = campaigns["logs"]["campaigns_1"]
    assert "campaign(s) to evaluate" in log
    assert "uplift not scored" in log
    assert campaigns["campaigns_1"]["uplift_scores"] == 0
    assert campaigns["campaigns_1"]["next_best_action"] == 0
    # the scheduled audiences were materialised for this month's campaigns
    assert campaigns["campaigns_1"]["audience_runs"] >= 2


def test_the_evaluation_writes_the_reports_and_promotes_an_uplift_champion(campaigns):
    log = campaigns["logs"]["evaluation"]
    assert "uplift: registered=True" in log, log[-3000:]
    assert "uplift: promoted=True" in log
    index = campaigns["local"] / "reports" / "campaigns" / "index.html"
    assert "生命周期策略" in index.read_text(encoding="utf-8")
    with psycopg.connect(campaigns["dsn"]) as conn:
        (closed,) = conn.execute(
            "select count(*) from marts.mart_campaign_kpis "
            "where breakdown = 'all' and window_closed"
        ).fetchone()
    assert campaigns["evaluation"]["evaluations"] == closed > 0


def test_the_next_campaign_run_scores_everyone_and_recommends(campaigns):
    log = campaigns["logs"]["campaigns_2"]
    assert "No campaign's response window has newly closed" in log
    as_of = campaigns["run_date"] - dt.timedelta(days=1)
    with psycopg.connect(campaigns["dsn"]) as conn:
        (customers,) = conn.execute(
            "select count(*) from features.customer_features where as_of_date = %s", (as_of,)
        ).fetchone()
        (goals,) = conn.execute(
            "select count(distinct campaign_goal) from ml.uplift_scores where as_of_date = %s",
            (as_of,),
        ).fetchone()
        (actions,) = conn.execute(
            "select count(*) from marts.mart_next_best_action where next_best_action is not null"
        ).fetchone()
    after = campaigns["campaigns_2"]
    assert customers > 0 and goals >= 2
    assert after["uplift_scores"] == customers * goals
    assert after["next_best_action"] == customers
    assert 0 < actions < customers


def test_rerunning_the_campaign_dag_replaces_rather_than_duplicates(campaigns):
    assert campaigns["campaigns_3"] == campaigns["campaigns_2"]
