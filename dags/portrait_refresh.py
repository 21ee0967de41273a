"""
### portrait_refresh — a landed batch's customers refreshed within minutes

Scheduled by an event, not a clock: `portrait notify <batch>` (the export job's last step, or
a file watcher) publishes the batch on the broker's `portrait.landing` channel; the asset
watcher in the triggerer turns it into an event on `portrait://landing/batches`. The run
**loads** every pending batch, **builds** with dbt only what the touched sources feed (tests
with each model), **re-scores** the customers whose features changed, rebuilds the **marts**
they show in, and emits `portrait://warehouse/marts`.

* The as_of_date is the newest day the loaded data covers; the daily run stays the full
  reconciliation (text analysis, drift, segments and retraining run there only).
* A run with no new batch (its batch was loaded by an earlier run) is skipped.
"""

from airflow.sdk import TriggerRule, dag, task

from models_ml.targets import TARGETS
from portrait import orchestration as orc


@dag(
    dag_id="portrait_refresh",
    schedule=[orc.landing_asset()],
    start_date=orc.start_date(),
    catchup=False,
    max_active_runs=1,
    default_args=orc.DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["portrait", "refresh"],
)
def portrait_refresh():
    @task(outlets=[orc.RAW])
    def load() -> dict:
        return orc.refresh_load_task()

    @task
    def plan(loaded: dict) -> dict:
        return orc.refresh_plan_task(loaded)

    @task
    def build(plan: dict, stage: str) -> dict:
        return orc.refresh_dbt_task(plan, stage)

    @task(outlets=[orc.SCORES])
    def score(task_name: str, plan: dict) -> dict:
        return orc.refresh_score_task(task_name, plan)

    @task(outlets=[orc.MARTS], trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def published(marts: dict) -> dict:
        return marts

    planned = plan(load())
    features = build.override(task_id="build_features")(planned, "features")
    marts = build.override(
        task_id="build_marts", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    )(planned, "marts")
    for name in TARGETS:
        scored = score.override(task_id=f"score_{name}")(name, planned)
        features >> scored >> marts
    features >> marts  # the marts build even when no target has a champion to score
    published(marts)


portrait_refresh()
