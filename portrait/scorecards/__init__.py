"""Scorecards against the simulator's truth (demo and test worlds only; real data has none):
identity resolution (``identity``), the models against the oracle (``models``) and the
learnable ceiling (``ceiling``), written to ``reports/quality.json`` (``report``)."""

from __future__ import annotations

import json
from pathlib import Path

from portrait.scorecards.identity import identity_quality
from portrait.scorecards.models import models_quality
from portrait.scorecards.report import write_report


def run(truth_dir: Path, dsn: str, reports_dir: Path) -> Path:
    """The identity section, then the models section (an error note when the models cannot be
    judged, e.g. no features yet); prints both and returns the report's path."""
    figures = identity_quality(dsn, truth_dir)
    path = write_report("identity", figures, reports_dir)
    shown = {k: v for k, v in figures.items() if not isinstance(v, list | dict)}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    try:
        models = models_quality(dsn, truth_dir)
    except Exception as exc:  # no champion yet, no features: say so in the report
        models = {"error": f"{type(exc).__name__}: {exc}"}
    write_report("models", models, reports_dir)
    print(json.dumps(models, indent=2, ensure_ascii=False, default=str))
    print(f"written to {path}")
    return path
