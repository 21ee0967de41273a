"""
### portrait_daily — from landing files to scored, tagged customer marts

Every day: set up the warehouse's **roles** (idempotent), **load** the landing batches into
`raw` (bad rows quarantined), build **staging** with dbt, read what people wrote with the
**text** stage (requirements, topics; `texts.*`, docs/text.md), build the rest of the
warehouse with **dbt** (identity → features → tags; one Airflow task per model, tests and
unit tests run with each), **score**
every customer with each task's `champion` model (churn, credit grade, purchase intent) and
**segment** them, check **drift** against the champion's test window, and build the
**marts** analysts read (profiles, tags, watchlists, history).

* As-of date: the business-time day before the run (`PORTRAIT_BUSINESS_TIMEZONE`,
  default Asia/Shanghai). **coverage** checks the loaded batches cover it: a day before or
  after the data fails the run with a message naming the day and the data's coverage.
* Start date: `PORTRAIT_START_DATE` (the first day of your history), so
  `airflow backfill create --dag-id portrait_daily --from-date <first> --to-date <last>`
  (with a scheduler) or `portrait dags backfill portrait_daily <first> <last>` (without)
  runs the history; see the README.
* A target without a champion (e.g. untrainable on this history) is skipped when scoring;
  the marts build with the others' scores.
* Scoring: `champion_<target>` pins the champion's version for the run, then
  `PORTRAIT_SCORE_PARTITIONS` (default 1) mapped tasks per target score one hash partition
  of the customers each with it; drift runs after all of a target's partitions.
* Re-running a day replaces that day's rows everywhere (loads by batch, scores by date).
* When the marts are built, `published` emits `portrait://warehouse/marts`, which schedules
  `portrait_campaigns` (audiences, campaign marts, uplift scores; docs/marketing.md).
* When the drift policy recommends retraining, `retrain_signal` emits the
  `portrait://monitoring/drift_alert` asset, which schedules `portrait_train`.
"""

from airflow.sdk import TriggerRule, dag, task
from airflow.sdk.exceptions import AirflowSkipException

from models_ml.targets import TARGETS
from portrait import orchestration as orc


@dag(
    dag_id="portrait_daily",
    schedule="@daily",
    start_date=orc.start_date(),
    end_date=orc.end_date(),
    catchup=False,
    max_active_runs=1,
    default_args=orc.DEFAULT_ARGS,
    user_defined_macros=orc.USER_MACROS,
    tags=["portrait", "daily", "dbt", "ml"],
    doc_md=__doc__,
)
def portrait_daily():
    @task
    def roles() -> dict:
        return orc.roles_task()

    @task(outlets=[orc.RAW])
    def load() -> dict:
        return orc.load_landing_task()

    @task
    def coverage(as_of_date: str) -> dict:
        return orc.coverage_task(as_of_date)

    staging = orc.dbt_task_group("staging", select=["path:seeds", "path:models/staging"])

    @task(outlets=[orc.TEXTS])
    def text() -> dict:
        return orc.text_task()

    transform = orc.dbt_task_group(
        "transform",
        select=["path:models"],
        exclude=["path:models/marts", "path:models/staging"],
    )

    @task
    def champion(task_name: str) -> str:
        return orc.champion_task(task_name)

    @task(outlets=[orc.SCORES])
    def score(
        task_name: str, as_of_date: str, partition: int, partitions: int, version: str
    ) -> dict:
        return orc.score_task(task_name, as_of_date, partition, partitions, version)

    @task(outlets=[orc.SEGMENTS])
    def segment(as_of_date: str) -> dict:
        return orc.segment_task(as_of_date)

    @task
    def drift(task_name: str, as_of_date: str, version: str) -> dict:
        return orc.drift_task(task_name, as_of_date, version)

    @task(outlets=[orc.DRIFT_ALERT], trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def retrain_signal(results: list[dict]) -> None:
        if not orc.retrain_needed(results):
            raise AirflowSkipException("Drift policy: no retraining needed.")

    # the marketing marts are portrait_campaigns' (it runs when these are published)
    marts = orc.dbt_task_group(
        "marts",
        select=["path:models/marts"],
        exclude=["path:models/marts/marketing"],
        trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
    )

    @task(outlets=[orc.MARTS])
    def published() -> None:
        """The marts are built: emits the asset portrait_campaigns is scheduled on."""

    roles() >> load() >> coverage(orc.AS_OF_DATE_TEMPLATE) >> staging >> text() >> transform
    segmented = segment(orc.AS_OF_DATE_TEMPLATE)
    transform >> segmented >> marts
    drift_results = []
    n = orc.score_partitions()
    for name in TARGETS:
        # the run's champion version, then one mapped task per hash partition of the
        # customers (PORTRAIT_SCORE_PARTITIONS), all scoring with that version
        version = champion.override(task_id=f"champion_{name}")(name)
        scored = (
            score.override(task_id=f"score_{name}")
            .partial(
                task_name=name,
                as_of_date=orc.AS_OF_DATE_TEMPLATE,
                partitions=n,
                version=version,
            )
            .expand(partition=list(range(n)))
        )
        transform >> version
        checked = drift.override(task_id=f"drift_{name}", trigger_rule=TriggerRule.ALL_SUCCESS)(
            name, orc.AS_OF_DATE_TEMPLATE, version
        )
        scored >> checked
        drift_results.append(checked)
        scored >> marts
    retrain_signal(drift_results)
    marts >> published()


portrait_daily()
