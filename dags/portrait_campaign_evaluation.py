"""
### portrait_campaign_evaluation — A/B reports and the uplift model, when campaigns close

Runs when `portrait_campaigns` finds campaigns whose response window has newly closed
(`portrait://warehouse/marketing/closed_campaigns`), or by hand (docs/marketing.md):

* **roles**: the warehouse's roles, as in every DAG (idempotent).
* **report**: the A/B report pages (reports/campaigns/index.html and one page per campaign:
  effect, 90 % interval, CUPED, power note, verdict in Chinese and English); the newly closed
  campaigns are recorded as evaluated (activation.campaign_evaluations).
* **train_uplift** → **promote_uplift**: the uplift model retrained on every closed campaign's
  treated and held-out members, registered only if it beats targeting everyone and by
  purchase score on the later campaigns, promoted unless the champion does better on the same
  rows (MLflow `portrait_uplift`, Qini plot in the run). The next `portrait_campaigns` run
  scores with the new champion.
"""

from airflow.sdk import dag, task

from portrait import orchestration as orc


@dag(
    dag_id="portrait_campaign_evaluation",
    schedule=[orc.MARKETING],
    start_date=orc.start_date(),
    catchup=False,
    max_active_runs=1,
    default_args=orc.DEFAULT_ARGS,
    user_defined_macros=orc.USER_MACROS,
    tags=["portrait", "marketing", "ml"],
    doc_md=__doc__,
)
def portrait_campaign_evaluation():
    @task
    def roles() -> dict:
        return orc.roles_task()

    @task
    def report() -> dict:
        return orc.campaign_report_task()

    @task
    def train_uplift() -> dict:
        return orc.uplift_train_task()

    @task(retries=0, outlets=[orc.MODELS])
    def promote_uplift() -> dict:
        return orc.uplift_promote_task()

    roles() >> report() >> train_uplift() >> promote_uplift()


portrait_campaign_evaluation()
