"""The label windows are written once for dbt (dbt_project.yml vars, read by
features.customer_labels) and once for models_ml (each target's horizon_days): they must agree."""

import re
from pathlib import Path

import yaml

from models_ml.targets import TARGETS

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project" / "dbt_project.yml"


def python_targets() -> dict:
    """models_ml's prediction targets by name."""
    return TARGETS


def dbt_vars() -> dict:
    return yaml.safe_load(DBT_PROJECT.read_text(encoding="utf-8"))["vars"]


def test_every_target_has_the_same_horizon_in_dbt_and_python():
    horizons = dbt_vars()["label_horizon_days"]
    targets = python_targets()
    assert set(horizons) == set(targets)
    for name, target in targets.items():
        assert horizons[name] == target.horizon_days, name


def test_target_names_spell_their_windows():
    # churn_180d, purchase_30d, default_90dpd_180d: the name states the horizon (and the
    # days past due that count as a default), so a changed window shows in the name too
    variables = dbt_vars()
    for name, days in variables["label_horizon_days"].items():
        assert name.endswith(f"_{days}d"), name
    assert "default_90dpd_180d" in variables["label_horizon_days"]
    assert re.search(r"_(\d+)dpd_", "default_90dpd_180d").group(1) == str(
        variables["label_default_days_past_due"]
    )
