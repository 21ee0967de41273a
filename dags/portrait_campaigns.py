"""
### portrait_campaigns — audiences, campaign marts and who to target next

Runs when `portrait_daily` has published the marts (`portrait://warehouse/marts`), or by hand
(docs/marketing.md):

* **roles**: the warehouse's roles, as in every DAG (idempotent).
* **audiences**: the scheduled audiences (`schedule: monthly` in marketing/audiences.yml) are
  materialised for their campaign of the month, `<audience_id>-<YYYYMM>`, with the seeded
  holdout (activation.*; a re-run replaces the day's run, a customer keeps its first
  assignment).
* **marketing**: dbt builds the campaign marts (members, KPIs, funnel, A/B tests) from the
  landed marketing export; empty without one.
* **closed_campaigns**: the campaigns whose response window has newly closed; when there are
  any it emits `portrait://warehouse/marketing/closed_campaigns`, which schedules
  `portrait_campaign_evaluation` (their A/B reports and the uplift model's retraining).
* **score_uplift**: every customer of the as-of snapshot scored by the uplift champion once per
  campaign goal (ml.uplift_scores), then the **next_best_action** mart; skipped, and the mart
  empty, while the uplift model has no champion.
"""

from airflow.sdk import TriggerRule, dag, task

from portrait import orchestration as orc


@dag(
    dag_id="portrait_campaigns",
    schedule=[orc.MARTS],
    start_date=orc.start_date(),
    catchup=False,
    max_active_runs=1,
    default_args=orc.DEFAULT_ARGS,
    user_defined_macros=orc.USER_MACROS,
    tags=["portrait", "marketing", "dbt", "ml"],
    doc_md=__doc__,
)
def portrait_campaigns():
    @task
    def roles() -> dict:
        return orc.roles_task()

    @task
    def audiences(as_of_date: str) -> dict:
        return orc.audiences_task(as_of_date)

    marketing = orc.dbt_task_group(
        "marketing", select=["path:models/marts/marketing"], exclude=["mart_next_best_action"]
    )

    @task(outlets=[orc.MARKETING])
    def closed_campaigns() -> dict:
        return orc.closed_campaigns_task()

    @task
    def score_uplift(as_of_date: str) -> dict:
        return orc.uplift_score_task(as_of_date)

    next_best_action = orc.dbt_task_group(
        "next_best_action", select=["mart_next_best_action"], trigger_rule=TriggerRule.NONE_FAILED
    )

    roles() >> audiences(orc.AS_OF_DATE_TEMPLATE) >> marketing >> closed_campaigns()
    marketing >> score_uplift(orc.AS_OF_DATE_TEMPLATE) >> next_best_action


portrait_campaigns()
