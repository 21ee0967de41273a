"""`make quality` against a warehouse the DAGs have not built: it names what is missing and
why, writes that into the report, and exits 1 instead of crashing."""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg


def _quality(dsn, tmp_path):
    return subprocess.run(
        [sys.executable, "-m", "portrait.cli", "quality", "--truth", str(tmp_path / "truth"),
         "--dsn", dsn, "--reports", str(tmp_path / "reports")],
        capture_output=True, text=True,
    )  # fmt: skip


def test_quality_on_an_empty_warehouse_names_the_missing_tables(fresh_db, tmp_path):
    proc = _quality(fresh_db, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "identity.customer_ids" in proc.stderr and "no DAG run has built it" in proc.stderr
    report = json.loads((tmp_path / "reports" / "quality.json").read_text())
    assert report["identity"]["status"] == "missing"
    assert "identity.customer_ids" in report["identity"]["missing"]
    assert set(report["models"]["missing"]) >= {"features.customer_features"}
    md = (tmp_path / "reports" / "quality.md").read_text()
    assert "identity.customer_ids" in md and "coverage task" in md


def test_quality_with_identity_built_but_no_features_still_judges_identity(fresh_db, tmp_path):
    """Half a warehouse (identity built, features not): the identity figures are reported,
    and the models section names the feature tables it lacks."""
    with psycopg.connect(fresh_db) as conn:
        conn.execute("create schema if not exists identity")  # the migration made it
        conn.execute(
            "create table identity.customer_ids (source_system text, source_record_id text, "
            "cid text)"
        )
        conn.execute(
            "insert into identity.customer_ids values ('erp', 'E1', 'C1'), ('crm', 'A1', 'C1')"
        )
        conn.execute("create table identity.int_company_records_normalized (x int)")
    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "records.csv").write_text(
        "source,table,record_key,company_id\nerp,customers,E1,CO1\ncrm,accounts,A1,CO1\n"
    )
    proc = _quality(fresh_db, tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    report = json.loads((tmp_path / "reports" / "quality.json").read_text())
    assert report["identity"]["pairwise_f1"] == 1.0
    assert report["models"]["status"] == "missing"
    assert "features.customer_labels" in report["models"]["missing"]
    assert "features.customer_features" in proc.stderr
    assert "identity.customer_ids" not in proc.stderr, "identity is built: not reported missing"
