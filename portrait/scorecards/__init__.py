"""Scorecards against the simulator's truth (demo and test worlds only; real data has none):
identity resolution (``identity``), the models against the oracle (``models``), the
learnable ceiling (``ceiling``) and the text stage (``text``), written to
``reports/quality.json`` (``report``)."""

from __future__ import annotations

import json
from pathlib import Path

from portrait import db
from portrait.scorecards.contacts import contacts_quality
from portrait.scorecards.identity import identity_quality
from portrait.scorecards.marketing import marketing_quality
from portrait.scorecards.model_worlds import models_worlds_quality
from portrait.scorecards.models import models_quality, not_judged
from portrait.scorecards.report import worlds_table, write_report
from portrait.scorecards.texts import text_section
from portrait.scorecards.worlds import WORLDS, worlds_quality
from portrait.settings import Settings

# What each section reads from the warehouse (built by the DAGs' dbt tasks).
SECTION_RELATIONS = {
    "identity": ("identity.customer_ids", "identity.int_company_records_normalized"),
    "models": ("identity.customer_ids", "features.customer_features", "features.customer_labels"),
}
WORLD_NAMES = tuple(WORLDS)
MISSING_WHY = (
    "no DAG run has built it in this warehouse. A run for a day the data does not cover does "
    "no dbt work: its coverage task skips or fails with the reason (see the run's log). Run "
    "`make demo`, or `portrait dags test portrait_daily <a day the data covers>`, first."
)


class WarehouseNotBuiltError(RuntimeError):
    """The warehouse lacks the tables a scorecard reads; the report says which and why."""


def missing_relations(dsn: str, relations: tuple[str, ...]) -> list[str]:
    """The schema.table names of `relations` that do not exist in the warehouse."""
    with db.connect(dsn) as conn:
        return [r for r in relations if not db.relation_exists(conn, *r.split("."))]


def run(truth_dir: Path, dsn: str, reports_dir: Path, worlds: Settings | None = None) -> Path:
    """The identity section (with contacts, and with the quality worlds when `worlds` gives
    the settings to build them with), then the models section (each target judged on its
    own; one that cannot train is listed with the reason): with `worlds`, the model worlds'
    figures per target and the demo warehouse's under ``demo``; prints both and returns the
    report's path. Raises WarehouseNotBuiltError, after writing the report, when a section's
    tables are missing (with `worlds`, the demo's tables are optional: the worlds are built
    here)."""
    missing = {s: missing_relations(dsn, rels) for s, rels in SECTION_RELATIONS.items()}
    if missing["identity"]:
        figures = {"status": "missing", "missing": missing["identity"], "reason": MISSING_WHY}
    else:
        figures = identity_quality(dsn, truth_dir)
        figures["contacts"] = contacts_quality(dsn, truth_dir)
    if worlds is not None:
        figures.update(worlds_quality(dsn, worlds))
    path = write_report("identity", figures, reports_dir)
    shown = {k: v for k, v in figures.items() if not isinstance(v, list | dict)}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    for name in ("contacts", *WORLD_NAMES):
        if isinstance(figures.get(name), dict):
            world = {k: v for k, v in figures[name].items() if not isinstance(v, list | dict)}
            print(f"{name}: {json.dumps(world, ensure_ascii=False)}")
    if missing["models"]:
        demo = {"status": "missing", "missing": missing["models"], "reason": MISSING_WHY}
    else:
        demo = models_quality(dsn, truth_dir)
    models = demo
    if worlds is not None:
        # the model worlds' figures per target, the demo warehouse's beside them
        models = models_worlds_quality(dsn, worlds)
        for target, figures in demo.items():
            if isinstance(models.get(target), dict) and isinstance(figures, dict):
                models[target]["demo"] = figures
        if "status" in demo:
            models["demo"] = demo
        print(worlds_table(models))
    write_report("models", models, reports_dir)
    try:
        text = text_section(dsn, truth_dir, worlds)
    except Exception as exc:  # the text figures must not hide the others
        text = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"[:2000]}
    write_report("text", text, reports_dir)
    shown = {k: v for k, v in text.items() if not isinstance(v, dict)}
    print("text: " + json.dumps(shown, ensure_ascii=False))
    if worlds is not None:
        # the marketing world: A/B intervals and the uplift model against the true effects
        try:
            marketing = marketing_quality(dsn, worlds)
        except Exception as exc:  # like the text figures: never hide the others
            marketing = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"[:2000]}
        write_report("marketing", marketing, reports_dir)
        shown = {k: v for k, v in marketing.items() if not isinstance(v, dict)}
        print("marketing: " + json.dumps(shown, ensure_ascii=False, default=str))
    print(json.dumps(demo, indent=2, ensure_ascii=False, default=str))
    for name, why in not_judged(demo).items():
        print(f"{name}: no figures ({why})")
    print(f"written to {path}")
    absent = sorted({r for rels in missing.values() for r in rels})
    if absent and worlds is None:
        raise WarehouseNotBuiltError(f"{', '.join(absent)} missing: {MISSING_WHY}")
    if absent:
        print(f"the demo warehouse lacks {', '.join(absent)}: {MISSING_WHY}")
    return path
