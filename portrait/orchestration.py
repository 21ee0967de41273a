"""Building blocks the DAG files share: assets, default args, the dbt task groups and the
task bodies (each a lazy import and one call into a package). DAG files stay wiring only."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

from airflow.sdk import Asset

from portrait.settings import AIRFLOW_CONN_ID, BROKER_CONN_ID, LANDING_CHANNEL, get_settings

# Schema boundaries as Airflow Assets (DESIGN.md: each boundary is an asset); every task
# emits the asset it writes.
RAW = Asset(name="warehouse.raw", uri="portrait://warehouse/raw", group="portrait")
SCORES = Asset(
    name="warehouse.ml.customer_scores",
    uri="portrait://warehouse/ml/customer_scores",
    group="portrait",
)
SEGMENTS = Asset(
    name="warehouse.ml.customer_segments",
    uri="portrait://warehouse/ml/customer_segments",
    group="portrait",
)
TEXTS = Asset(name="warehouse.texts", uri="portrait://warehouse/texts", group="portrait")
MODELS = Asset(name="mlflow.champions", uri="portrait://mlflow/champions", group="portrait")
# The marts are built (portrait_daily's last step): the campaign DAG listens to it.
MARTS = Asset(name="warehouse.marts", uri="portrait://warehouse/marts", group="portrait")
# Campaigns whose response window has newly closed (portrait_campaigns emits it only then);
# portrait_campaign_evaluation listens to it.
MARKETING = Asset(
    name="warehouse.marketing.closed_campaigns",
    uri="portrait://warehouse/marketing/closed_campaigns",
    group="portrait",
)
# Emitted only when the drift policy recommends retraining; portrait_train listens to it.
DRIFT_ALERT = Asset(
    name="monitoring.drift_alert",
    uri="portrait://warehouse/monitoring/drift_alert",
    group="portrait",
)

BUSINESS_TIMEZONE = get_settings().business_timezone
# The DAGs' start_date when PORTRAIT_START_DATE is unset: early enough for any company's
# history. Airflow creates no task at all for a date before a DAG's start_date (the run is
# "successful" and did nothing), so the start date must never cut a history off; a run for a
# day the data does not cover is caught by the coverage task instead, which says so.
EARLIEST_START_DATE = dt.date(2000, 1, 1)


def dag_start_date() -> dt.date:
    """The first day the DAGs run for: PORTRAIT_START_DATE, else EARLIEST_START_DATE."""
    return get_settings().start_date or EARLIEST_START_DATE


def as_of_date_for(run_after) -> str:
    """The day a run computes features for: the business-time day before the run. The
    nightly extraction of day D lands at midnight, so a run on D+1 sees all of D. Takes the
    run's logical date, or run_after for asset-triggered runs, which have none in Airflow 3."""
    import pendulum

    local = pendulum.instance(run_after).in_timezone(BUSINESS_TIMEZONE)
    return local.subtract(days=1).to_date_string()


# DAGs register as_of_date_for under this name (user_defined_macros).
USER_MACROS = {"portrait_as_of_date": as_of_date_for}
AS_OF_DATE_TEMPLATE = "{{ portrait_as_of_date(dag_run.logical_date or dag_run.run_after) }}"


def _default_args() -> dict:
    settings = get_settings()
    return {
        "owner": "data-team",
        "retries": settings.task_retries,
        "retry_delay": dt.timedelta(seconds=settings.task_retry_delay_seconds),
    }


DEFAULT_ARGS = _default_args()

DBT_PROJECT_DIR = get_settings().dbt_project_dir


def warehouse_dsn(component: str | None = None) -> str:
    """The warehouse URI a component logs in with, from its Airflow connection
    (AIRFLOW_CONN_PORTRAIT_WAREHOUSE_<COMPONENT>; none: portrait_warehouse, dbt's)."""
    from airflow.sdk import Connection

    conn_id = f"{AIRFLOW_CONN_ID}_{component}" if component else AIRFLOW_CONN_ID
    uri = Connection.get(conn_id).get_uri()
    return uri.replace("postgres://", "postgresql://", 1)


def roles_task() -> dict:
    """The DAGs' first task: the role migration (governance.roles), as the migration
    connection, setting each login's password to its Airflow connection's (idempotent)."""
    import psycopg
    from airflow.sdk import Connection

    from governance.roles import migrate
    from marketing.audiences import ensure_tables
    from portrait.settings import COMPONENT_LOGINS

    passwords = {}
    for component, login in COMPONENT_LOGINS.items():
        try:
            conn = Connection.get(f"{AIRFLOW_CONN_ID}_{component}")
        except Exception:  # a component without a connection keeps its login's password
            continue
        if conn.login == login and conn.password:
            passwords[login] = conn.password
    changes = migrate(warehouse_dsn("migration"), passwords)
    print(f"role migration: {len(changes)} change(s): {', '.join(changes) or 'none'}")
    # activation's tables (audiences), created by their owner: the service writes runs into them
    with psycopg.connect(warehouse_dsn("ml")) as conn:
        ensure_tables(conn)
    return {"changes": len(changes)}


def dbt_profile():
    """dbt's profile built by Cosmos from the same Airflow connection the Python tasks use,
    so dbt and the tasks can never reach the warehouse with different credentials."""
    from cosmos import ProfileConfig
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    class WarehouseProfileMapping(PostgresUserPasswordProfileMapping):
        """Cosmos's Postgres mapping, also for a connection without a password (a server
        that authenticates otherwise, e.g. the test suite's throwaway clusters)."""

        required_fields: ClassVar[list[str]] = ["host", "user", "dbname"]

        @property
        def secret_fields(self) -> list[str]:
            return ["password"] if self.conn.password else []

        @property
        def profile(self) -> dict:
            profile = super().profile
            if not self.conn.password:
                profile["password"] = ""
            return profile

    return ProfileConfig(
        profile_name="portrait",
        target_name="local",
        profile_mapping=WarehouseProfileMapping(
            conn_id=AIRFLOW_CONN_ID, profile_args={"schema": "public", "threads": 2}
        ),
    )


def _dbt_vars(as_of_date: str | None) -> dict:
    """The `--vars` every dbt run of the DAGs passes: the business time zone, the identity
    settings, the as_of_date (None: dbt's default, every month-end the data covers)."""
    dbt_vars: dict = {"business_timezone": BUSINESS_TIMEZONE}
    if get_settings().identity:
        dbt_vars["identity"] = get_settings().identity
    if as_of_date is not None:
        dbt_vars["as_of_date"] = as_of_date
    return dbt_vars


def dbt_task_group(
    group_id: str,
    select: list[str],
    exclude: list[str] | None = None,
    *,
    as_of_date: str | None = AS_OF_DATE_TEMPLATE,
    trigger_rule: str | None = None,
    execution: str | None = None,
):
    """A task group running the dbt project's select minus exclude, rendered from the parsed
    manifest (no dbt call at DAG parse time); tests, unit tests included, run with each model.
    as_of_date None leaves dbt's default: every month-end the loaded data covers.

    ``execution`` (default the setting PORTRAIT_DBT_EXECUTION) says how dbt runs:

    * "tasks": one Cosmos task per model (``dbt build --select <model>``: its tests with it);
    * "watcher": Cosmos's watcher mode, one ``dbt build`` over the selection
      (``dbt_producer_watcher``) and one sensor per model and per model's tests reading its
      status; the sensors reschedule instead of deferring, so neither a triggerer nor
      ``airflow dags test`` (which runs a deferred task's trigger inline, blocking the
      producer) is needed. Experimental: in the bench (2026-12-07, scale 0.3) the transform
      group's ``int_feature_dates_listed.test`` sensor never got its aggregated status
      (a test Cosmos 1.15 counts as the model's was not run by that group's build) and
      rescheduled forever, so the run did not finish;
    * "build": one task (``<group>.dbt_build``) running ``dbt build`` over the selection; when
      a node fails it fails with the failed models (and the models of failed tests) named.

    Every mode passes the same ``--vars`` and the same select and exclude."""
    dbt_vars = _dbt_vars(as_of_date)
    execution = execution or get_settings().dbt_execution
    default_args = DEFAULT_ARGS | ({"trigger_rule": trigger_rule} if trigger_rule else {})
    if execution == "build":
        return _dbt_build_group(group_id, select, exclude or [], dbt_vars, default_args)
    if execution not in ("tasks", "watcher"):
        raise ValueError(f"dbt execution {execution!r}: one of tasks, watcher, build")
    from cosmos import DbtTaskGroup, ExecutionConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, LoadMode, TestBehavior

    watcher = execution == "watcher"
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=DBT_PROJECT_DIR / "target" / "manifest.json",
            install_dbt_deps=False,
        ),
        profile_config=dbt_profile(),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER if watcher else ExecutionMode.LOCAL,
            dbt_executable_path=Path(sys.executable).parent / "dbt",
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            # Watcher: the producer's one `dbt build` runs each model's tests with it (a
            # failing test skips what depends on the model, as in "tasks"); AFTER_EACH renders
            # a sensor per model's tests showing their status (Cosmos has no per-model build
            # sensor: its DbtBuildWatcherOperator raises NotImplementedError).
            test_behavior=TestBehavior.AFTER_EACH if watcher else TestBehavior.BUILD,
            select=select,
            exclude=exclude or [],
            # A test over two models (e.g. relationships) runs as its own task after both,
            # not inside whichever model's build happens to come first. Watcher: the
            # producer's build runs it after both anyway, and a detached test's sensor in
            # poke/reschedule mode never gets a status (Cosmos 1.15 aggregates test results
            # per model only), so there it counts among each of its models' tests.
            should_detach_multiple_parents_tests=not watcher,
        ),
        operator_args={"vars": dbt_vars, "install_deps": False}
        | ({"deferrable": False, "poke_interval": WATCHER_POKE_SECONDS} if watcher else {}),
        default_args=default_args,
    )
    _drop_tests_beyond_group(group)
    if watcher:
        from airflow.sdk.bases.sensor import BaseSensorOperator

        for task in _group_tasks(group):
            if isinstance(task, BaseSensorOperator):
                # Free the slot between pokes (no triggerer needed); dags test reruns it.
                task.mode = "reschedule"
    return group


def _drop_tests_beyond_group(group) -> list[str]:
    """Remove the test tasks of `group` that check a model built after it. Cosmos renders a
    multi-model test in every group that holds any one of its models (it adds tests by
    parent, after the selection), so a test comparing staging with the features also ran in
    the staging group, before the features it checks were built (on a fresh warehouse it
    failed; on a built one it checked yesterday's features). It stays in the group that
    builds the last of its models, where the others are built already. Reads the graph
    Cosmos already parsed (group.dbt_graph), not the manifest again."""
    nodes = group.dbt_graph.nodes
    children: dict[str, list[str]] = {}
    for node in nodes.values():
        for parent in node.depends_on:
            children.setdefault(parent, []).append(node.unique_id)
    in_group = {t.task_id.removeprefix(f"{group.group_id}.") for t in group}

    def built_here(unique_id: str) -> bool:
        node = nodes.get(unique_id)
        return node is not None and f"{node.name}_{node.resource_type.value}_build" in in_group

    def descendants(start: list[str]) -> set[str]:
        seen, stack = set(), list(start)
        while stack:
            for child in children.get(stack.pop(), []):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    dropped = []
    for node in nodes.values():
        # Cosmos's name for a detached test's task (cosmos.airflow.graph)
        task_id = f"{group.group_id}.{node.resource_name.split('.')[0]}_test"
        if len(node.depends_on) < 2 or task_id not in group.children:
            continue
        below = descendants([p for p in node.depends_on if built_here(p)])
        if not any(p in below for p in node.depends_on if not built_here(p)):
            continue
        task = group.children.pop(task_id)
        for upstream in task.upstream_list:
            upstream.downstream_task_ids.discard(task_id)
        for downstream in task.downstream_list:
            downstream.upstream_task_ids.discard(task_id)
        task.dag.task_dict.pop(task_id, None)
        dropped.append(task_id)
    return dropped


# "build": its `dbt build` over a group selects a test when its models are selected or upstream
# of the selection. dbt's default (eager) would also run a test one of whose models is in a
# later group (features reconciled with staging) before that model is rebuilt, as "tasks" and
# "watcher" do (Cosmos renders such a test in both groups, and in "watcher" a model's test
# sensor waits for every test Cosmos counts as the model's, so it needs eager).
BUILDABLE = "buildable"
# Watcher mode: how often a model's sensor reads its status from the producer's XComs.
WATCHER_POKE_SECONDS = 5


def _group_tasks(group) -> list:
    """Every task in a task group, nested groups included."""
    from airflow.sdk.definitions.taskgroup import TaskGroup

    out = []
    for child in group.children.values():
        out.extend(_group_tasks(child) if isinstance(child, TaskGroup) else [child])
    return out


def _dbt_build_group(group_id: str, select, exclude, dbt_vars: dict, default_args: dict):
    """The "build" execution: one task, ``<group_id>.dbt_build``, running ``dbt build`` over
    the selection with Cosmos's local operator (the same profile, vars and partial parse as
    the other modes), in-process (dbt's runner) so its failure can name the failed nodes."""
    from airflow.sdk import TaskGroup
    from cosmos.constants import InvocationMode

    from portrait.dbt_build import DbtBuildNamingFailures

    with TaskGroup(group_id=group_id, default_args=default_args) as group:
        DbtBuildNamingFailures(
            task_id="dbt_build",
            project_dir=DBT_PROJECT_DIR,
            profile_config=dbt_profile(),
            dbt_executable_path=Path(sys.executable).parent / "dbt",
            invocation_mode=InvocationMode.DBT_RUNNER,
            select=list(select),
            exclude=list(exclude),
            vars=dbt_vars,
            indirect_selection=BUILDABLE,
            install_deps=False,
        )
    return group


# ---- coverage: which as_of dates the loaded data can describe ------------------------------
@dataclass(frozen=True)
class Coverage:
    """What the loaded batches make known, per source: from its first batch's extraction to
    its newest's (``known_at`` in staging; a batch without ``extracted_at`` counts from when
    it first loaded). A snapshot at as_of_date sees the records known at its cutoff, midnight
    after the day in business time."""

    sources: dict[str, tuple[dt.datetime, dt.datetime]]

    @property
    def first_known(self) -> dt.datetime:
        return min(first for first, _ in self.sources.values())

    @property
    def last_known(self) -> dt.datetime:
        return max(last for _, last in self.sources.values())

    def as_of_range(self, tz: str = BUSINESS_TIMEZONE) -> tuple[dt.date, dt.date]:
        """The first and last as_of dates whose cutoff the batches cover."""
        first = self.first_known.astimezone(ZoneInfo(tz))
        last = self.last_known.astimezone(ZoneInfo(tz))
        first_day = first.date() - dt.timedelta(days=1 if first.time() == dt.time(0) else 0)
        return first_day, last.date() - dt.timedelta(days=1)

    def describe(self, tz: str = BUSINESS_TIMEZONE) -> str:
        zone = ZoneInfo(tz)
        return "; ".join(
            f"{src} {a.astimezone(zone):%Y-%m-%d %H:%M}..{b.astimezone(zone):%Y-%m-%d %H:%M}"
            for src, (a, b) in sorted(self.sources.items())
        )

    def to_dict(self, tz: str = BUSINESS_TIMEZONE) -> dict:
        first, last = self.as_of_range(tz)
        return {"first_as_of_date": str(first), "last_as_of_date": str(last)} | {
            "batches_known": self.describe(tz)
        }


def as_of_cutoff(as_of_date: dt.date, tz: str = BUSINESS_TIMEZONE) -> dt.datetime:
    """Midnight after as_of_date in business time (dbt's as_of_cutoff macro)."""
    return dt.datetime.combine(as_of_date + dt.timedelta(days=1), dt.time(0), ZoneInfo(tz))


def coverage_gap(
    as_of_date: dt.date | None, coverage: Coverage | None, tz: str = BUSINESS_TIMEZONE
) -> tuple[str, str] | None:
    """None when the data covers as_of_date (None: any loaded data will do), else the kind of
    gap ("empty", "before" or "after") and a message naming the day and the coverage."""
    if coverage is None or not coverage.sources:
        return "empty", (
            f"No loaded batch in raw._batches, so nothing covers as_of_date {as_of_date or '-'}:"
            " the landing folder held no batch with rows. Deliver batches in the shape of "
            "docs/landing-contract.md and run again."
        )
    if as_of_date is None:
        return None
    first, last = coverage.as_of_range(tz)
    cutoff = f"{as_of_cutoff(as_of_date, tz):%Y-%m-%d %H:%M} {tz}"
    if as_of_date < first:
        return "before", (
            f"as_of_date {as_of_date} is before the data: its cutoff {cutoff} comes before the "
            f"first loaded batch, so no record is known yet. The data covers as_of dates "
            f"{first}..{last} (batches: {coverage.describe(tz)}). Nothing to compute for this day:"
            " run for a day the data covers."
        )
    if as_of_date > last:
        return "after", (
            f"as_of_date {as_of_date} is after the data: its cutoff {cutoff} comes after the "
            f"newest loaded batch, so its features would silently miss everything since. The "
            f"data covers as_of dates {first}..{last} (batches: {coverage.describe(tz)}). Load "
            "the newer batches, or run for a day the data covers."
        )
    return None


# A batch's rows are known from its extraction, else from its first load (a re-delivery keeps
# that time): the same known_at as staging's (stg_loader__batches, the versioned macro).
COVERAGE_SQL = """
select source, min(known_at), max(known_at)
from (
    select source, coalesce(extracted_at, first_loaded_at, loaded_at) as known_at
    from raw._batches
    where loaded > 0
) as batches
group by source
"""


def read_coverage(dsn: str) -> Coverage | None:
    """The coverage of the batches in raw._batches that loaded rows; None before any load."""
    from portrait import db

    with db.connect(dsn) as conn:
        if not db.relation_exists(conn, "raw", "_batches"):
            return None
        rows = conn.execute(COVERAGE_SQL).fetchall()
    return Coverage({src: (first, last) for src, first, last in rows})


# ---- task bodies ---------------------------------------------------------------------------
def _load_landing():
    """Load the landing batches and print the report. A batch the data fails (bad file, bad
    folder, ...) fails the task without retries, after printing the load report and one line
    per failed batch: the same files would fail again. Other errors (a lost connection) are
    retried."""
    from airflow.sdk.exceptions import AirflowFailException

    from sources.loader import LoadError, load_landing

    try:
        report = load_landing(warehouse_dsn("loader"), get_settings().landing_dir, progress=False)
    except LoadError as exc:
        if exc.report is not None:
            print(exc.report.summary())
            print("\n".join(exc.report.failures()))
        raise AirflowFailException(" ".join(str(exc).split())) from exc
    print(report.summary())
    return report


def load_landing_task() -> dict:
    """Load the landing batches (see _load_landing for what fails and what retries)."""
    report = _load_landing()
    # XCom carries counts, not the per-file detail (that is in raw._batch_files).
    return {
        "batches": len(report.batches),
        "records": report.records,
        "loaded": report.loaded,
        "quarantined": report.quarantined,
        "reconciled": report.reconciled,
    }


def coverage_task(as_of_date: str | None) -> dict:
    """Check the loaded data covers the run's as_of_date (None: that any data is loaded).
    A day before or after the data, or no data at all, fails the run (without retries) with
    a message naming the day and the data's coverage: no run does nothing in silence."""
    from airflow.sdk.exceptions import AirflowFailException

    day = dt.date.fromisoformat(as_of_date) if as_of_date else None
    coverage = read_coverage(warehouse_dsn("loader"))
    gap = coverage_gap(day, coverage)
    if gap is not None:
        raise AirflowFailException(gap[1])
    first, last = coverage.as_of_range()
    cutoff = as_of_cutoff(day) if day else None
    lagging = [s for s, (_, newest) in coverage.sources.items() if cutoff and newest < cutoff]
    print(
        f"as_of_date {as_of_date or '(every month-end)'}: the data covers {first}..{last}"
        + (f"; sources not yet extracted up to it: {', '.join(sorted(lagging))}" if lagging else "")
    )
    return {"as_of_date": as_of_date} | coverage.to_dict()


def train_task(task_name: str) -> dict:
    """Train one target; a target the snapshots cannot train is skipped with the reason (the
    others train regardless, and its champion, if any, stays)."""
    from airflow.sdk.exceptions import AirflowSkipException

    from models_ml.train import UntrainableTargetError
    from models_ml.train import train_task as train

    try:
        return train(task_name, dsn=warehouse_dsn("ml")).to_dict()
    except UntrainableTargetError as exc:
        raise AirflowSkipException(str(exc)) from exc


def promote_task(task_name: str) -> dict:
    from models_ml.register import promote

    decision = promote(task_name)
    print(f"{task_name}: promoted={decision.promoted} reasons={decision.reasons}")
    return decision.to_dict()


def score_partitions() -> int:
    """How many mapped tasks score each target in portrait_daily (PORTRAIT_SCORE_PARTITIONS)."""
    return get_settings().score_partitions


def champion_task(task_name: str) -> str:
    """The version the target's champion alias points at when the run reaches scoring: its
    score partitions and its drift check load this version, so a promotion landing mid-run
    cannot give one date's rows two versions. A target without a champion (never trained,
    e.g. untrainable on this history) is skipped with the reason, and with it its scoring;
    the marts show the others' scores."""
    from airflow.sdk.exceptions import AirflowSkipException

    from models_ml.registry import NoChampionError, champion_version

    try:
        version = champion_version(task_name)
    except NoChampionError as exc:
        raise AirflowSkipException(f"{task_name} not scored: {exc}") from exc
    print(f"{task_name}: this run scores with version {version}")
    return version


def score_task(
    task_name: str,
    as_of_date: str,
    partition: int = 0,
    partitions: int = 1,
    version: str | None = None,
) -> dict:
    """Score one target (or one hash partition of its customers, portrait_daily's mapped
    tasks) with the champion, or with the `version` champion_task pinned for the run."""
    from airflow.sdk.exceptions import AirflowSkipException

    from models_ml.registry import NoChampionError
    from models_ml.score import score_task as score

    try:
        return score(
            task_name,
            dt.date.fromisoformat(as_of_date),
            dsn=warehouse_dsn("ml"),
            partition=partition,
            partitions=partitions,
            version=version,
        ).to_dict() | {"partition": partition, "partitions": partitions}
    except NoChampionError as exc:
        raise AirflowSkipException(f"{task_name} not scored: {exc}") from exc


def uplift_train_task() -> dict:
    """Train the uplift model on the closed campaigns (models_ml.uplift_task); skipped with
    the reason when there is nothing to learn from (no marketing export, too few campaigns)."""
    from airflow.sdk.exceptions import AirflowSkipException

    from models_ml.train import UntrainableTargetError
    from models_ml.uplift_task import train_uplift

    try:
        result = train_uplift(dsn=warehouse_dsn("ml"))
    except UntrainableTargetError as exc:
        raise AirflowSkipException(str(exc)) from exc
    print(f"uplift: registered={result['registered']} reasons={result['reasons']}")
    return result


def uplift_promote_task() -> dict:
    from models_ml.uplift_task import promote_uplift

    decision = promote_uplift()
    print(f"uplift: promoted={decision.promoted} reasons={decision.reasons}")
    return decision.to_dict()


def uplift_score_task(as_of_date: str) -> dict:
    """Score the snapshot with the uplift champion; skipped when there is none yet."""
    from airflow.sdk.exceptions import AirflowSkipException

    from models_ml.registry import NoChampionError
    from models_ml.uplift_task import score_uplift

    try:
        return score_uplift(dt.date.fromisoformat(as_of_date), dsn=warehouse_dsn("ml"))
    except NoChampionError as exc:
        raise AirflowSkipException(f"uplift not scored: {exc}") from exc


def audiences_task(as_of_date: str) -> dict:
    """Materialise the scheduled audiences (marketing.audiences) for the campaigns of the
    as-of date's month: activation's tables made by their owner (portrait_ml), the runs by the
    profile service's login, as the API does for the marketing system (it reads the profile
    mart the filters select from; portrait_ml reads only the campaign marts)."""
    import psycopg

    from marketing.audiences import ensure_tables, materialise_scheduled

    with psycopg.connect(warehouse_dsn("ml")) as conn:
        ensure_tables(conn)
    with psycopg.connect(warehouse_dsn("service")) as conn:
        runs = materialise_scheduled(conn, dt.date.fromisoformat(as_of_date))
    for run in runs:
        print(f"{run['campaign_id']}: {run['treatment']} treated, {run['holdout']} held out")
    return {"runs": runs}


def closed_campaigns_task() -> dict:
    """The campaigns whose response window closed and that were not evaluated yet; skipped
    (so no marketing asset event) when there is none."""
    import psycopg
    from airflow.sdk.exceptions import AirflowSkipException

    from marketing.report import closed_unevaluated

    with psycopg.connect(warehouse_dsn("ml")) as conn:
        pending = closed_unevaluated(conn)
    if not pending:
        raise AirflowSkipException("No campaign's response window has newly closed.")
    print(f"{len(pending)} campaign(s) to evaluate: {', '.join(pending)}")
    return {"campaigns": pending}


def campaign_report_task() -> dict:
    """Write the A/B report pages (reports_dir/campaigns) and record the newly closed
    campaigns as evaluated."""
    import psycopg

    from marketing.report import closed_unevaluated, record_evaluations, write_reports

    out = get_settings().reports_dir / "campaigns"
    with psycopg.connect(warehouse_dsn("ml")) as conn:
        pending = closed_unevaluated(conn)
        written = write_reports(conn, out)
        record_evaluations(conn, pending, out)
    print(f"{written['pages']} report pages in {out}; {len(pending)} campaign(s) newly evaluated")
    return {"pages": written["pages"], "evaluated": pending, "report": str(out / "index.html")}


def text_task() -> dict:
    """The text stage (texts.stage) as portrait_ml: new documents segmented and read for
    requirements, topics refitted; its counts (flags, skipped) in the task's return value."""
    from texts.stage import run

    result = run(warehouse_dsn("ml")).to_dict()
    print(
        f"texts: {result['documents_new']} new of {result['documents_seen']} documents, "
        f"{result['documents_skipped']} skipped, flags {result['flags']}, "
        f"{result['requirements_new']} requirements, {result['topics']} topics"
    )
    return result


def segment_task(as_of_date: str) -> dict:
    from models_ml.segment import segment_customers

    return segment_customers(dt.date.fromisoformat(as_of_date), dsn=warehouse_dsn("ml")).to_dict()


def drift_task(task_name: str, as_of_date: str, version: str | None = None) -> dict:
    from models_ml.monitor import check_drift

    return check_drift(
        task_name, dt.date.fromisoformat(as_of_date), dsn=warehouse_dsn("ml"), version=version
    ).to_dict()


def start_date():
    """dag_start_date() at midnight in the business time zone, as the DAGs' start_date."""
    import pendulum

    day = dag_start_date()
    return pendulum.datetime(day.year, day.month, day.day, tz=BUSINESS_TIMEZONE)


def end_date():
    """PORTRAIT_END_DATE at midnight in the business time zone (None: no end), as the
    scheduled DAGs' end_date."""
    import pendulum

    day = get_settings().end_date
    return pendulum.datetime(day.year, day.month, day.day, tz=BUSINESS_TIMEZONE) if day else None


def retrain_needed(drift_results: list[dict]) -> bool:
    """True when any task's drift policy recommends retraining (a skipped check gives None)."""
    return any(r.get("retrain_recommended") for r in drift_results if r)


# ---- event-driven refresh (portrait_refresh, docs/scaling.md) ------------------------------
# `portrait notify` publishes each landed batch on the broker's pub/sub channel; the asset
# watcher's trigger (in the triggerer) turns a message into an asset event, which schedules
# portrait_refresh. Pub/sub keeps no message nobody hears, so the refresh loads every pending
# batch, not just the one announced; the daily run remains the full reconciliation.
# Each customer's feature row at the refresh's as_of_date before the build (md5 of the row),
# to find the customers whose features the new batch changed.
DIGESTS_TABLE = "ml.refresh_feature_digests"


def landing_asset() -> Asset:
    """The landing area as an asset with a watcher on the broker's landing channel."""
    from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger
    from airflow.sdk import AssetWatcher

    trigger = MessageQueueTrigger(
        scheme="redis+pubsub",
        channels=[LANDING_CHANNEL],
        redis_conn_id=BROKER_CONN_ID,
        poll_interval=1,
    )
    return Asset(
        name="landing.batches",
        uri="portrait://landing/batches",
        group="portrait",
        watchers=[AssetWatcher(name="portrait_landing_watcher", trigger=trigger)],
    )


def refresh_load_task() -> dict:
    """Load every pending batch (as the daily load does) and name the sources they touched."""
    from airflow.sdk.exceptions import AirflowSkipException

    report = _load_landing()
    new = [b for b in report.batches if b.status.startswith("loaded")]
    if not new:
        raise AirflowSkipException("no new batch in the landing area: nothing to refresh")
    return {
        "batches": [f"{b.source}/{b.batch_id}" for b in new],
        "sources": sorted({b.source for b in new}),
        "records": sum(b.records for b in new),
    }


def refresh_plan_task(loaded: dict) -> dict:
    """The refresh's as_of_date (the newest day the loaded data covers) and dbt selection
    (what the touched sources feed), and each customer's feature digest before the build."""
    import psycopg

    coverage = read_coverage(warehouse_dsn("loader"))
    as_of = coverage.as_of_range()[1]
    with psycopg.connect(warehouse_dsn("ml")) as conn:
        conn.execute(
            f"create table if not exists {DIGESTS_TABLE} (cid text primary key, digest text)"
        )
        conn.execute(f"truncate {DIGESTS_TABLE}")
        if _table_exists(conn, "features.customer_features"):
            conn.execute(
                f"insert into {DIGESTS_TABLE} select f.cid, md5(f::text)"
                " from features.customer_features f where f.as_of_date = %s",
                (as_of,),
            )
    upstream = [f"source:{source}+" for source in loaded["sources"]]
    return {"as_of_date": as_of.isoformat(), "sources": loaded["sources"], "select": upstream}


def _table_exists(conn, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]


def refresh_dbt_task(plan: dict, stage: str) -> dict:
    """`dbt build` of what the touched sources feed: stage "features" everything but the marts,
    stage "marts" the marts among it and those the new scores feed (tests run with each model;
    a failure names the failed models, as the "build" execution's does)."""
    import json
    import tempfile

    from airflow.sdk.exceptions import AirflowFailException
    from dbt.cli.main import dbtRunner

    from portrait.dbt_build import failure_message

    if stage == "features":
        select, exclude = plan["select"], ["path:models/marts"]
    else:
        select = [f"{s},path:models/marts" for s in [*plan["select"], "source:ml+"]]
        exclude = []
    with tempfile.TemporaryDirectory(prefix="portrait-dbt-") as target:
        # A target folder of its own: runs on other workers do not share run_results.json.
        args = [
            "build", "--project-dir", str(DBT_PROJECT_DIR), "--target-path", target,
            "--select", *select, *(["--exclude", *exclude] if exclude else []),
            "--indirect-selection", "cautious",
            "--vars", json.dumps(_dbt_vars(plan["as_of_date"])),
        ]  # fmt: skip
        result = dbtRunner().invoke(args)
    if not result.success:
        raise AirflowFailException(f"({stage}) {failure_message(result.result, result.exception)}")
    return {"stage": stage, "nodes": len(result.result.results)}


def refresh_score_task(task_name: str, plan: dict) -> dict:
    """Re-score the customers whose features the batch changed (or who are new) at the
    refresh's as_of_date; everyone when that day has no scores yet (a new snapshot)."""
    import psycopg
    from airflow.sdk.exceptions import AirflowSkipException

    from models_ml.registry import NoChampionError
    from models_ml.score import score_task as score

    as_of = dt.date.fromisoformat(plan["as_of_date"])
    with psycopg.connect(warehouse_dsn("ml")) as conn:
        scored = conn.execute(
            "select exists (select from ml.customer_scores where task = %s and as_of_date = %s)",
            (task_name, as_of),
        ).fetchone()[0] if _table_exists(conn, "ml.customer_scores") else False  # fmt: skip
        changed = [
            cid
            for (cid,) in conn.execute(
                f"select f.cid from features.customer_features f left join {DIGESTS_TABLE} d"
                " on d.cid = f.cid where f.as_of_date = %s"
                " and d.digest is distinct from md5(f::text)",
                (as_of,),
            )
        ]
    cids = changed if scored else None
    if cids == []:
        raise AirflowSkipException(f"{task_name}: no customer's features changed")
    try:
        only = {"cids": cids} if cids is not None else {}
        result = score(task_name, as_of, dsn=warehouse_dsn("ml"), **only).to_dict()
    except NoChampionError as exc:
        raise AirflowSkipException(f"{task_name} not scored: {exc}") from exc
    print(f"{task_name}: re-scored {result['rows']} customers at {as_of}")
    return result | {"affected": len(changed), "full": cids is None}
