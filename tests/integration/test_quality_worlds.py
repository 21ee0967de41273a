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
