"""
### portrait_train — train, register and promote the customer models

Set up the warehouse's **roles** (idempotent), load, check that the landing data holds
batches (**coverage**: none fails and says so), refresh the feature snapshots for every
month-end the loaded data covers (dbt up to `features` with no as_of date: the data's own
first to last month), then for each task (churn within 180 days, 90+ days past due within
180 days — calibrated and graded A–E —, an order within 30 days): **train** LightGBM on a
time-based split (a bounded search logged as child runs) beside a logistic baseline,
**register** the new version as `challenger` in MLflow unless the baseline beats it, and
**promote** it to `champion` only if it passes the gate against the current champion on the
same test window (AUC, calibration, no segment collapsing; the old champion keeps alias
`previous`; `portrait models rollback <task>` undoes). The **uplift** model (who to target
next, docs/marketing.md) is retrained with them on the closed campaigns' members, and promoted
if it beats targeting everyone and by purchase score; skipped without a marketing export.

A target the snapshots cannot train (too few positives in a window, too little history) is
skipped with the reason; the others train and promote regardless.

Runs when `portrait_daily`'s drift policy emits `portrait://monitoring/drift_alert`, or by hand.
"""

from airflow.sdk import dag, task

from models_ml.targets import TARGETS
from portrait import orchestration as orc


@dag(
    dag_id="portrait_train",
    schedule=[orc.DRIFT_ALERT],
    start_date=orc.start_date(),
    catchup=False,
    max_active_runs=1,
    default_args=orc.DEFAULT_ARGS,
    user_defined_macros=orc.USER_MACROS,
    tags=["portrait", "training", "ml"],
    doc_md=__doc__,
)
def portrait_train():
    @task
    def roles() -> dict:
        return orc.roles_task()

    @task(outlets=[orc.RAW])
    def load() -> dict:
        return orc.load_landing_task()

    @task
    def coverage() -> dict:
        return orc.coverage_task(None)

    features = orc.dbt_task_group("features", select=["+path:models/features"], as_of_date=None)

    @task
    def train(task_name: str) -> dict:
        return orc.train_task(task_name)

    @task(retries=0, outlets=[orc.MODELS])
    def promote(task_name: str) -> dict:
        return orc.promote_task(task_name)

    @task
    def train_uplift() -> dict:
        return orc.uplift_train_task()

    @task(retries=0, outlets=[orc.MODELS])
    def promote_uplift() -> dict:
        return orc.uplift_promote_task()

    roles() >> load() >> coverage() >> features
    features >> train_uplift() >> promote_uplift()
    for name in TARGETS:
        trained = train.override(task_id=f"train_{name}")(name)
        features >> trained >> promote.override(task_id=f"promote_{name}")(name)


portrait_train()
