"""The identity scorecard's Splink benchmark is optional: without splink its figures are null."""

import sys

from portrait.scorecards import identity


def test_splink_quality_is_null_without_splink(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "splink", None)  # import splink -> ImportError
    figures = identity.splink_quality("postgresql://unused", tmp_path, truth={})
    assert figures["splink_pairwise_f1"] is None
    assert figures["splink_bcubed_f1"] is None
    assert figures["splink_seconds"] is None
    assert "not installed" in figures["splink_note"]


def test_splink_failure_is_reported_not_raised(monkeypatch, tmp_path):
    def boom(dsn):
        raise RuntimeError("warehouse down")

    monkeypatch.setattr(identity, "read_splink_records", boom)
    monkeypatch.setitem(sys.modules, "splink", sys.modules.get("splink") or object())
    monkeypatch.setitem(sys.modules, "duckdb", sys.modules.get("duckdb") or object())
    figures = identity.splink_quality("postgresql://unused", tmp_path, truth={})
    assert figures["splink_pairwise_f1"] is None
    assert "warehouse down" in figures["splink_note"]
