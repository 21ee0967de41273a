"""The uplift model in the pipeline (issue 19): who to target next, trained on past campaigns.

* **train** (``train_uplift``): the members of every campaign whose response window has closed
  (``marts.mart_campaign_members``, treated and held out) with the point-in-time features of
  the month-end before the campaign (``features.customer_features``) and the campaign's goal,
  channel, offer and content; one LightGBM X-learner per campaign template
  (``uplift.StratifiedLearner``) fitted on the earlier campaigns and judged on the later third
  by the empirical Qini coefficient (against chance: a permutation test) and the uplift of its
  top 30 %, beside the policies a marketing team would otherwise use on the same rows:
  **target everyone** (a constant score: Qini 0, the uplift of the whole audience) and
  **target by purchase score** (a LightGBM classifier of buying without the campaign, fitted
  on the held-out members: whom a purchase model picks). Logged to MLflow (experiment
  ``portrait/uplift``) with the Qini plot; registered as ``challenger`` of ``portrait_uplift``
  only when it beats both and chance, else the reasons are logged and nothing is registered.
* **promote** (``promote_uplift``): the challenger becomes ``champion`` unless the current
  champion does better on the challenger's own test window (re-scored from its reference
  artefact); the old champion keeps ``previous``.
* **score** (``score_uplift``): every customer of a feature snapshot, once per campaign goal
  the model has seen (the goal's usual channel, offer and content: its "template"), into
  ``ml.uplift_scores``; replaced per snapshot date, so a re-run never duplicates. The
  ``next_best_action`` mart reads it.

The learner is saved as LightGBM text models plus a JSON (``save_learner``), served by a pyfunc
model from code (``models_ml.uplift_model``): nothing is pickled.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import psycopg
from lightgbm import LGBMClassifier

from models_ml import data, tracking, uplift
from models_ml.matrix import FeatureError, require_columns, to_model_matrix
from models_ml.register import GateDecision, crown
from models_ml.registry import CHALLENGER, CHAMPION, NoChampionError, version_by_alias
from models_ml.targets import CATEGORICAL_FEATURES, FEATURE_WORDS
from models_ml.train import UntrainableTargetError
from portrait import db

TASK = "uplift"
MODEL_NAME = "portrait_uplift"
EXPERIMENT = "portrait/uplift"
CAMPAIGN_COLUMNS = ("campaign_goal", "campaign_channel", "campaign_offer", "campaign_content")
# The later campaigns (by start) the model is judged on; it trains on the earlier ones.
TEST_SHARE = 1 / 3
TOP_SHARE = 0.3
MIN_CAMPAIGNS = 3
MIN_ARM_ROWS = 30
# The gate's noise bar: the model's Qini must exceed this quantile of the Qinis of its own
# scores shuffled over the test rows (a permutation test: what chance alone reaches there).
NULL_PERMUTATIONS = 200
NULL_QUANTILE = 0.95
SEED = 19
LEARNER_DIR = "learner"
REFERENCE_ARTIFACT = "reference/test_window.parquet"
# the pyfunc model from code MLflow copies into each version (it imports this module, so a
# path rather than an import)
PYFUNC_FILE = Path(__file__).with_name("uplift_model.py")

MEMBERS_SQL = """
select m.campaign_id, m.cid, m.account_id, (m.assignment = 'treatment')::int as treated,
       m.converted::int as converted, m.starts_on, m.campaign_goal, m.campaign_channel,
       c.campaign_offer, c.campaign_content, f.*
from marts.mart_campaign_members as m
join marts.mart_campaign_kpis as c
  on c.campaign_id = m.campaign_id and c.breakdown = 'all'
join features.customer_features as f
  on f.cid = m.cid and f.as_of_date = m.features_as_of_date
where m.assignment in ('treatment', 'holdout') and m.window_closed
order by m.starts_on, m.campaign_id, m.cid
"""

UPLIFT_DDL = """
-- governance/roles.sql creates the schema for its owner; `create schema if not exists`
-- would need the database's CREATE privilege even when the schema exists.
do $$ begin if to_regnamespace('ml') is null then create schema ml; end if; end $$;
create table if not exists ml.uplift_scores (
    cid text not null,
    as_of_date date not null,
    campaign_goal text not null,
    campaign_channel text,
    campaign_offer text,
    campaign_content text,
    uplift double precision not null,
    p_without double precision not null,
    p_with double precision not null,
    model_name text not null,
    model_version text not null,
    model_alias text not null,
    run_id text not null,
    scored_at timestamptz not null default now(),
    primary key (as_of_date, campaign_goal, cid)
);
"""
SCORE_COLUMNS = [
    "cid", "as_of_date", "campaign_goal", "campaign_channel", "campaign_offer",
    "campaign_content", "uplift", "p_without", "p_with", "model_name", "model_version",
    "model_alias", "run_id",
]  # fmt: skip


# --------------------------------------------------------------------------- data


def campaign_frame(conn: psycopg.Connection) -> pd.DataFrame:
    """The closed campaigns' treated and held-out members with their point-in-time features."""
    for schema, name in (("marts", "mart_campaign_members"), ("features", "customer_features")):
        if not db.relation_exists(conn, schema, name):
            raise UntrainableTargetError(
                TASK, f"{schema}.{name} does not exist: build the dbt project first."
            )
    frame = db.read_frame(conn, MEMBERS_SQL)
    frame = frame.loc[:, ~frame.columns.duplicated()]
    # numeric(…) columns arrive as Decimal objects: floats, as the learner reads them
    columns, categorical = model_columns(frame)
    for column in set(columns) - set(categorical):
        frame[column] = pd.to_numeric(frame[column])
    return frame


def model_columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The learner's inputs: the customer features the frame has, then the campaign's."""
    columns = [c for c in FEATURE_WORDS if c in frame.columns] + list(CAMPAIGN_COLUMNS)
    categorical = [c for c in columns if c in CATEGORICAL_FEATURES or c in CAMPAIGN_COLUMNS]
    return columns, categorical


def test_campaigns(frame: pd.DataFrame, share: float = TEST_SHARE) -> set[str]:
    """The later `share` of the campaigns by start date (at least one)."""
    starts = frame.groupby("campaign_id")["starts_on"].min().sort_values(kind="stable")
    n_test = max(1, round(len(starts) * share))
    return set(starts.index[-n_test:])


def templates(frame: pd.DataFrame) -> dict[str, dict[str, str | None]]:
    """Per goal, the channel, offer and content its campaigns used most (ties: the first in
    name order): what scoring assumes a next campaign of that goal looks like."""
    campaigns = frame.drop_duplicates("campaign_id")[list(CAMPAIGN_COLUMNS)].fillna("")
    out = {}
    for goal, rows in campaigns.groupby("campaign_goal", sort=True):
        counts = rows.value_counts(list(CAMPAIGN_COLUMNS[1:])).reset_index(name="n")
        best = counts.sort_values(["n", *CAMPAIGN_COLUMNS[1:]], ascending=[False, True, True, True])
        out[str(goal)] = {c: (best.iloc[0][c] or None) for c in CAMPAIGN_COLUMNS[1:]}
    return out


# --------------------------------------------------------------------------- the learner on disk


def save_learner(learner, directory: Path, **meta) -> Path:
    """The fitted learner as LightGBM text models and a JSON beside them (`meta` added); a
    stratified one as its pooled learner and one folder per stratum."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(learner, uplift.StratifiedLearner):
        save_learner(learner.pooled_, directory / "pooled")
        strata = []
        for i, (key, (inner, offset)) in enumerate(sorted(learner.strata_.items())):
            save_learner(inner, directory / f"stratum_{i:02d}")
            strata.append({"key": key, "folder": f"stratum_{i:02d}", "offset": offset})
        spec = {"kind": "stratified", "strata_columns": learner.strata, "strata": strata, **meta}
        (directory / "learner.json").write_text(json.dumps(spec, indent=1, default=str))
        return directory
    names = ["mu0_", "mu1_"]
    kind = "t"
    if isinstance(learner, uplift.XLearner):
        kind = "x"
        names += ["tau0_", "tau1_"] + (["e_model_"] if hasattr(learner, "e_model_") else [])
    for name in names:
        text = getattr(learner, name).booster_.model_to_string()
        (directory / f"{name.rstrip('_')}.txt").write_text(text, encoding="utf-8")
    spec = {
        "kind": kind,
        "features": learner.features_,
        "categorical": learner.categorical_,
        "propensity": None if kind == "t" else getattr(learner, "e_", None),
        "models": [n.rstrip("_") for n in names],
        **meta,
    }
    (directory / "learner.json").write_text(json.dumps(spec, indent=1, default=str))
    return directory


@dataclass
class LoadedLearner:
    """A saved learner: predicts the uplift (and the two outcomes) from a raw frame."""

    kind: str
    features: list[str]
    categorical: list[str]
    propensity: float | None
    boosters: dict[str, lgb.Booster]
    meta: dict = field(default_factory=dict)

    def _x(self, frame: pd.DataFrame) -> pd.DataFrame:
        return to_model_matrix(frame, self.features, self.categorical)

    def outcomes(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(P(buy | not contacted), P(buy | contacted)) per row."""
        x = self._x(frame)
        return self.boosters["mu0"].predict(x), self.boosters["mu1"].predict(x)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        x = self._x(frame)
        b = self.boosters
        if self.kind == "t":
            return b["mu1"].predict(x) - b["mu0"].predict(x)
        if "e_model" in b:
            e = np.clip(b["e_model"].predict(x), *uplift.PROPENSITY_CLIP)
        else:
            e = np.full(len(x), float(self.propensity))
        return e * b["tau0"].predict(x) + (1.0 - e) * b["tau1"].predict(x)


@dataclass
class LoadedStratified:
    """A saved StratifiedLearner: each row predicted by its stratum's learner (plus the
    stratum's offset), or by the pooled one."""

    strata_columns: list[str]
    pooled: LoadedLearner
    strata: dict[str, tuple[LoadedLearner, float]]
    meta: dict = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return self.pooled.features

    def _by_stratum(self, frame: pd.DataFrame, predict) -> np.ndarray:
        keys = uplift.stratum_keys(frame, self.strata_columns)
        return uplift.by_stratum(frame, keys, self.pooled, self.strata, predict)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self._by_stratum(frame, lambda m, x, offset: m.predict(x) + offset)

    def outcomes(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return (
            self._by_stratum(frame, lambda m, x, _: m.outcomes(x)[0]),
            self._by_stratum(frame, lambda m, x, _: m.outcomes(x)[1]),
        )


def load_learner(directory: str | Path) -> LoadedLearner | LoadedStratified:
    directory = Path(directory)
    spec = json.loads((directory / "learner.json").read_text())
    if spec["kind"] == "stratified":
        strata = {
            s["key"]: (load_learner(directory / s["folder"]), float(s["offset"]))
            for s in spec.pop("strata")
        }
        columns = spec.pop("strata_columns")
        spec.pop("kind")
        return LoadedStratified(columns, load_learner(directory / "pooled"), strata, spec)
    boosters = {
        name: lgb.Booster(model_str=(directory / f"{name}.txt").read_text(encoding="utf-8"))
        for name in spec.pop("models")
    }
    return LoadedLearner(
        spec.pop("kind"),
        spec.pop("features"),
        spec.pop("categorical"),
        spec.pop("propensity"),
        boosters,
        spec,
    )


# --------------------------------------------------------------------------- fit and judge


@dataclass
class UpliftFit:
    learner: uplift.StratifiedLearner
    frame: pd.DataFrame
    test: np.ndarray  # rows of the later campaigns
    scores: dict[str, np.ndarray]  # policy -> score on the test rows
    metrics: dict[str, float]
    reasons: list[str]  # why it must not be registered (empty: it beats both policies)
    templates: dict[str, dict]
    columns: list[str]
    categorical: list[str]


def _arms(t: np.ndarray, where: np.ndarray, label: str) -> None:
    treated, held = int(t[where].sum()), int((1 - t[where]).sum())
    if min(treated, held) < MIN_ARM_ROWS:
        raise UntrainableTargetError(
            TASK,
            f"the {label} campaigns have {treated} treated and {held} held-out members; "
            f"at least {MIN_ARM_ROWS} of each are needed",
        )


def purchase_scores(x, y, t, train, columns, categorical, seed: int = SEED) -> np.ndarray:
    """Whom a purchase model picks: P(buy without the campaign), a LightGBM classifier fitted
    on the held-out members of the training campaigns, on every row."""
    held = train & (t == 0)
    model = LGBMClassifier(
        n_estimators=200, learning_rate=0.03, num_leaves=7, min_child_samples=50,
        random_state=seed, deterministic=True, n_jobs=1, verbose=-1,
    )  # fmt: skip
    model.fit(to_model_matrix(x[held], columns, categorical), y[held])
    return model.predict_proba(to_model_matrix(x, columns, categorical))[:, 1]


def fit_uplift(frame: pd.DataFrame, seed: int = SEED) -> UpliftFit:
    """Fit the stratified learner on the earlier campaigns and judge it on the later ones
    against the "everyone", "by purchase score" and random policies and against chance
    (empirical figures: y and t only)."""
    n_campaigns = frame["campaign_id"].nunique() if len(frame) else 0
    if n_campaigns < MIN_CAMPAIGNS:
        raise UntrainableTargetError(
            TASK,
            f"{n_campaigns} campaign(s) with a closed response window; at least "
            f"{MIN_CAMPAIGNS} are needed (earlier ones to train on, later ones to judge)",
        )
    test = frame["campaign_id"].isin(test_campaigns(frame)).to_numpy()
    columns, categorical = model_columns(frame)
    x = frame[columns]
    y = frame["converted"].to_numpy(int)
    t = frame["treated"].to_numpy(int)
    _arms(t, ~test, "earlier (training)")
    _arms(t, test, "later (test)")
    # one X-learner per campaign template (what was sent), centred on its observed effect
    learner = uplift.StratifiedLearner(CAMPAIGN_COLUMNS[1:], seed=seed, categorical=categorical)
    learner.fit(x[~test], y[~test], t[~test])
    yt, tt = y[test], t[test]
    scores = {
        "uplift_model": learner.predict(x[test]),
        uplift.BY_PURCHASE: purchase_scores(x, y, t, ~test, columns, categorical, seed)[test],
        uplift.RANDOM: uplift.score_random(int(test.sum()), seed=seed),
        uplift.EVERYONE: uplift.score_everyone(int(test.sum())),
    }
    metrics: dict[str, float] = {
        "train_rows": float((~test).sum()),
        "test_rows": float(test.sum()),
        "train_campaigns": float(frame.loc[~test, "campaign_id"].nunique()),
        "test_campaigns": float(frame.loc[test, "campaign_id"].nunique()),
    }
    for name, score in scores.items():
        prefix = "test" if name == "uplift_model" else f"{name}_test"
        metrics[f"{prefix}_qini"] = uplift.qini_coefficient(yt, tt, score)
        metrics[f"{prefix}_uplift_at_30"] = uplift.uplift_at_k(yt, tt, score, TOP_SHARE)
    rng = np.random.default_rng(seed)
    model = scores["uplift_model"]
    null = [
        uplift.qini_coefficient(yt, tt, rng.permutation(model)) for _ in range(NULL_PERMUTATIONS)
    ]
    metrics["null_test_qini_q95"] = float(np.quantile(null, NULL_QUANTILE))
    reasons = []
    ours, everyone = metrics["test_uplift_at_30"], metrics["everyone_test_uplift_at_30"]
    if not metrics["test_qini"] > metrics["by_purchase_test_qini"]:
        reasons.append(
            f"its Qini on the later campaigns ({metrics['test_qini']:.2f}) does not beat "
            f"targeting by purchase score ({metrics['by_purchase_test_qini']:.2f})"
        )
    if not metrics["test_qini"] > max(0.0, metrics["null_test_qini_q95"]):
        reasons.append(
            f"its Qini ({metrics['test_qini']:.2f}) is within chance of targeting everyone "
            f"(0; {NULL_QUANTILE:.0%} of shuffled scores reach {metrics['null_test_qini_q95']:.2f})"
        )
    if math.isnan(ours) or not ours > everyone:
        reasons.append(
            f"the uplift of its top {TOP_SHARE:.0%} ({ours:.3f}) does not beat targeting "
            f"everyone ({everyone:.3f})"
        )
    return UpliftFit(
        learner, frame, test, scores, metrics, reasons, templates(frame[~test]), columns,
        categorical,
    )  # fmt: skip


def _log(fit: UpliftFit) -> None:
    frame, test = fit.frame, fit.test
    yt = frame.loc[test, "converted"].to_numpy(int)
    tt = frame.loc[test, "treated"].to_numpy(int)
    mlflow.set_tags(
        {
            "task": TASK,
            "learner": "stratified_x_learner",
            "strata": ",".join(sorted(fit.learner.strata_)),
            "test_campaigns": ",".join(sorted(frame.loc[test, "campaign_id"].unique())),
            "starts_range": f"{frame['starts_on'].min()}..{frame['starts_on'].max()}",
            "gate_reasons": json.dumps(fit.reasons, ensure_ascii=False),
        }
    )
    mlflow.log_params(
        {**fit.learner.params, "features": len(fit.columns), "top_share": TOP_SHARE}
        | {"seed": fit.learner.seed, "propensity": uplift.CONSTANT}
        | {"min_arm": fit.learner.min_arm, "own_strata": len(fit.learner.strata_)}
    )
    mlflow.log_metrics({k: v for k, v in fit.metrics.items() if not math.isnan(v)})
    curves = {
        name: uplift.qini_curve(yt, tt, s) for name, s in fit.scores.items() if name != "everyone"
    }
    with tempfile.TemporaryDirectory() as tmp:
        plot = uplift.qini_plot(
            curves, Path(tmp) / "qini.png", "Qini on the later campaigns · 后期活动的 Qini 曲线"
        )
        mlflow.log_artifact(str(plot), "plots")
        reference = frame.loc[test, ["campaign_id", "cid", "treated", "converted", *fit.columns]]
        path = Path(tmp) / "test_window.parquet"
        reference.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), "reference")
    mlflow.log_dict(fit.templates, "templates.json")


def train_uplift(*, dsn: str | None = None, seed: int = SEED, register: bool = True) -> dict:
    """Train on the closed campaigns, log the run and register a challenger that beats both
    policies. Raises UntrainableTargetError (nothing logged) when there is too little to
    learn from: no marketing export, too few campaigns or members."""
    client = tracking.configure()
    with db.connect(dsn) as conn:
        frame = campaign_frame(conn)
    fit = fit_uplift(frame, seed)
    with mlflow.start_run(
        experiment_id=tracking.experiment_id(EXPERIMENT),
        run_name=f"{TASK}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}",
    ) as run:
        _log(fit)
        version = None
        if register and not fit.reasons:
            version = _register(client, fit)
        mlflow.set_tag("registered", str(version is not None))
    return {
        "task": TASK,
        "run_id": run.info.run_id,
        "version": version,
        "registered": version is not None,
        "reasons": fit.reasons or ["beats targeting everyone and by purchase score"],
        "metrics": {k: round(v, 4) for k, v in fit.metrics.items()},
    }


def _register(client, fit: UpliftFit) -> str:
    example = fit.frame.loc[fit.test, fit.columns].head(5)
    with tempfile.TemporaryDirectory() as tmp:
        learner_dir = save_learner(fit.learner, Path(tmp) / LEARNER_DIR, templates=fit.templates)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(PYFUNC_FILE),
            artifacts={"learner": str(learner_dir)},
            registered_model_name=MODEL_NAME,
            input_example=example,
            metadata={"task": TASK, "features": fit.columns, "templates": fit.templates},
        )
        # The learner once more as a plain run artefact: what portrait's loader reads.
        mlflow.log_artifacts(str(learner_dir), LEARNER_DIR)
    version = str(info.registered_model_version)
    client.set_registered_model_alias(MODEL_NAME, CHALLENGER, version)
    client.set_model_version_tag(MODEL_NAME, version, "task", TASK)
    return version


def _learner_of(client, run_id: str) -> LoadedLearner | LoadedStratified:
    with tempfile.TemporaryDirectory() as tmp:
        path = client.download_artifacts(run_id, LEARNER_DIR, tmp)
        return load_learner(path)


def promote_uplift() -> GateDecision:
    """The challenger becomes champion unless the champion's Qini on the challenger's test
    window is higher (the same rows, re-scored by the champion; the challenger's own Qini on
    them is its run's `test_qini`); the old champion keeps `previous`."""
    client = tracking.configure()
    challenger = version_by_alias(client, MODEL_NAME, CHALLENGER)
    champion = version_by_alias(client, MODEL_NAME, CHAMPION)
    champion_version = champion.version if champion else None
    if challenger is None:
        return GateDecision(TASK, None, champion_version, False, ["no challenger to promote"])
    if champion is not None and champion.version == challenger.version:
        return GateDecision(TASK, challenger.version, champion_version, False, ["already champion"])
    reasons, checks = [], {}
    if champion is not None:
        with tempfile.TemporaryDirectory() as tmp:
            ref = pd.read_parquet(
                client.download_artifacts(challenger.run_id, REFERENCE_ARTIFACT, tmp)
            )
        y, t = ref["converted"].to_numpy(int), ref["treated"].to_numpy(int)
        ours = client.get_run(challenger.run_id).data.metrics["test_qini"]
        try:
            theirs = uplift.qini_coefficient(
                y, t, _learner_of(client, champion.run_id).predict(ref)
            )
        except FeatureError as exc:  # the champion read features this snapshot lacks
            theirs, checks["champion_error"] = math.nan, str(exc)
        checks |= {"challenger_qini": round(ours, 4), "champion_qini": round(theirs, 4)}
        if not math.isnan(theirs) and ours < theirs:
            reasons.append(
                f"the champion v{champion.version} does better on the challenger's test window "
                f"(Qini {theirs:.2f} against {ours:.2f})"
            )
    promoted = not reasons
    if promoted:
        reasons = crown(client, MODEL_NAME, challenger, champion)
    decision = GateDecision(TASK, challenger.version, champion_version, promoted, reasons, checks)
    client.log_dict(challenger.run_id, decision.to_dict(), "promotion_decision.json")
    client.set_tag(challenger.run_id, "promotion", "promoted" if promoted else "rejected")
    return decision


# --------------------------------------------------------------------------- score


def score_uplift(as_of_date: dt.date | None = None, *, dsn: str | None = None) -> dict:
    """Every customer of the snapshot, once per goal (its template), scored by the champion
    into ml.uplift_scores; the snapshot date's rows are replaced in one transaction."""
    client = tracking.configure()
    champion = version_by_alias(client, MODEL_NAME, CHAMPION)
    if champion is None:
        raise NoChampionError(f"{MODEL_NAME} has no version aliased {CHAMPION!r}")
    learner = _learner_of(client, champion.run_id)
    goals = learner.meta.get("templates") or {}
    with db.connect(dsn) as conn:
        if as_of_date is None:
            as_of_date = data.latest_snapshot_date(conn)
        snapshot = data.snapshot_frame(conn, as_of_date)
        require_columns(
            list(snapshot.columns), [c for c in learner.features if c not in CAMPAIGN_COLUMNS]
        )
        if snapshot.empty:
            raise FeatureError(f"features.customer_features has no rows for {as_of_date}.")
        parts = []
        for goal, template in sorted(goals.items()):
            frame = snapshot.assign(campaign_goal=goal, **template)
            p0, p1 = learner.outcomes(frame)
            parts.append(
                pd.DataFrame(
                    {
                        "cid": snapshot["cid"].to_numpy(),
                        "as_of_date": as_of_date,
                        "campaign_goal": goal,
                        **{c: template.get(c) for c in CAMPAIGN_COLUMNS[1:]},
                        "uplift": learner.predict(frame),
                        "p_without": p0,
                        "p_with": p1,
                        "model_name": MODEL_NAME,
                        "model_version": champion.version,
                        "model_alias": CHAMPION,
                        "run_id": champion.run_id,
                    }
                )
            )
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SCORE_COLUMNS)
        conn.execute(UPLIFT_DDL)
        conn.execute("delete from ml.uplift_scores where as_of_date = %s", (as_of_date,))
        written = db.copy_frame(conn, "ml", "uplift_scores", out, SCORE_COLUMNS)
    return {
        "task": TASK,
        "as_of_date": str(as_of_date),
        "rows": written,
        "customers": int(snapshot["cid"].nunique()),
        "goals": sorted(goals),
        "version": champion.version,
    }
