"""A quality world end to end, small: simulate with the knobs, load into a scratch database
beside the warehouse, build the identity stage there, and report ours and Splink's figures."""

from __future__ import annotations

from importlib.util import find_spec

import psycopg
import pytest

from portrait.scorecards import worlds
from portrait.settings import Settings

pytestmark = pytest.mark.integration


def test_a_small_world_is_built_in_its_own_database_and_scored(fresh_db, tmp_path):
    settings = Settings(local_dir=tmp_path / "local", warehouse_url=fresh_db)
    knobs = {"scale": 0.5, "placeholder_share": 0.3, "foreign_share": 0.2}
    figures = worlds.build_world("placeholder_world", fresh_db, settings, knobs=knobs)
    assert figures["world"]["placeholder_share"] == 0.3
    assert figures["records"] > 0 and 0.0 <= figures["pairwise_f1"] <= 1.0
    assert isinstance(figures["wrong_merges_distinct_codes"], int)
    if find_spec("splink") is not None:
        assert figures["splink_status"] in {"trained", "partly_trained", "untrained"}
        if figures["splink_status"] != "untrained":
            assert 0.0 <= figures["splink_pairwise_f1"] <= 1.0
            assert isinstance(figures["splink_wrong_merges_distinct_codes"], int)
    # the world lives in its own database; the warehouse's is untouched
    with psycopg.connect(worlds.scratch_dsn(fresh_db, "placeholder_world")) as conn:
        assert conn.execute("select count(*) from identity.customer_ids").fetchone()[0] > 0
    with psycopg.connect(fresh_db) as conn:
        found = conn.execute("select to_regclass('identity.customer_ids')").fetchone()[0]
    assert found is None


def test_a_world_that_fails_is_reported_not_raised(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("no warehouse")

    monkeypatch.setattr(worlds, "build_world", boom)
    out = worlds.worlds_quality("postgresql://unused/x", Settings(local_dir=tmp_path))
    assert set(out) == set(worlds.WORLDS)
    assert all(v["status"] == "failed" and "no warehouse" in v["reason"] for v in out.values())


def test_a_model_world_is_built_judged_per_policy_and_reused(fresh_db, tmp_path):
    from portrait.scorecards import model_worlds
    from portrait.scorecards.report import worlds_table

    settings = Settings(local_dir=tmp_path / "local", warehouse_url=fresh_db)
    knobs = {"tiny": {"scale": 1, "seed": 42, "identity_noise": 0.15, "start": "2023-07-01",
                      "months": 24}}  # fmt: skip
    first = model_worlds.models_worlds_quality(fresh_db, settings, knobs, progress=lambda m: None)
    assert first["worlds"]["tiny"]["reused"] is False
    marker = tmp_path / "local" / "worlds" / "model_tiny" / "built.json"
    stamp = marker.read_text()
    # every target is judged or says why not; purchase intent trains on 100 companies
    targets = ("churn_180d", "purchase_30d", "default_90dpd_180d")
    statuses = {t: first[t]["worlds"]["tiny"]["status"] for t in targets}
    assert set(statuses.values()) <= {"judged", "untrainable"}, first
    purchase = first["purchase_30d"]["worlds"]["tiny"]
    assert statuses["purchase_30d"] == "judged", purchase
    assert set(purchase["candidates"]) == {"lightgbm", "logistic", "bgnbd"}
    assert purchase["ratio_p05"] <= purchase["ratio_to_oracle"] <= purchase["ratio_p95"]
    assert first["purchase_30d"]["mean_ratio_to_oracle"] == purchase["ratio_to_oracle"]
    assert "| purchase_30d | tiny |" in worlds_table(first)
    # a second run reuses the world: same stamp, nothing rebuilt, same figures
    again = model_worlds.models_worlds_quality(fresh_db, settings, knobs, progress=lambda m: None)
    assert again["worlds"]["tiny"]["reused"] is True and marker.read_text() == stamp
    assert again["purchase_30d"]["worlds"]["tiny"]["ratio_to_oracle"] == pytest.approx(
        purchase["ratio_to_oracle"]
    )
