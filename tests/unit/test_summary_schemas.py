"""The demo summary counts every schema the demo fills, marketing's audiences included."""

import os

from portrait.local import summary
from portrait.settings import get_settings


class _FakeConn:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_the_summary_counts_the_activation_audiences(monkeypatch, tmp_path):
    for key in [k for k in os.environ if k.startswith("PORTRAIT_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PORTRAIT_LOCAL_DIR", str(tmp_path / ".local"))
    get_settings.cache_clear()
    settings = get_settings()
    counts = [("marts", "mart_campaign_kpis", 6), ("activation", "audience_members", 40)]
    monkeypatch.setattr(summary.db, "connect", lambda dsn: _FakeConn())
    monkeypatch.setattr(summary, "rows_per_schema", lambda conn: counts)
    monkeypatch.setattr(summary, "drift_lines", lambda conn: [])
    monkeypatch.setattr(summary, "model_lines", lambda: [])
    lines = summary.render(settings, settings.warehouse_dsn()).splitlines()
    get_settings.cache_clear()
    (activation,) = [line for line in lines if line.strip().startswith("activation ")]
    assert activation.split()[1] == "40" and "audience_members=40" in activation
