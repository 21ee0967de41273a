"""The coverage the DAGs check, read from a real raw._batches: what each source's batches make
known (extraction, else first load), failed and empty batches left out."""

from __future__ import annotations

import datetime as dt

import psycopg

from portrait.orchestration import coverage_gap, read_coverage
from sources.loader import ensure_raw_schema

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def test_coverage_is_read_from_the_batches_that_loaded_rows(fresh_db):
    assert read_coverage(fresh_db) is None, "no raw schema yet: nothing loaded"
    with psycopg.connect(fresh_db) as conn:
        ensure_raw_schema(conn)
        conn.commit()
    assert coverage_gap(dt.date(2024, 6, 30), read_coverage(fresh_db))[0] == "empty"
    rows = [
        # source, batch, extracted_at, first_loaded_at, loaded_at, loaded, status
        ("erp", "20220201", "2022-02-01 00:00+08", "2026-12-01", "2026-12-01", 10, "loaded"),
        ("erp", "20240701", "2024-07-01 00:00+08", "2026-12-01", "2026-12-02", 10, "loaded"),
        # a later batch that failed to load, and one without rows: they make nothing known
        ("erp", "20240801", "2024-08-01 00:00+08", None, "2026-12-02", 0, "failed"),
        ("erp", "20240901", "2024-09-01 00:00+08", "2026-12-02", "2026-12-02", 0, "empty"),
        # no manifest: known from its first load, not from its latest re-delivery
        ("crm", "b1", None, "2023-05-01 12:00+08", "2026-12-02", 5, "loaded"),
    ]
    with psycopg.connect(fresh_db) as conn:
        conn.cursor().executemany(
            "insert into raw._batches (source, batch_id, extracted_at, first_loaded_at, "
            "loaded_at, files, records, loaded, quarantined, status) "
            "values (%s, %s, %s, %s, %s, 1, %s, %s, 0, %s)",
            [(s, b, e, f, la, n, n, st) for s, b, e, f, la, n, st in rows],
        )
    coverage = read_coverage(fresh_db)
    assert sorted(coverage.sources) == ["crm", "erp"]
    assert coverage.sources["erp"] == (
        dt.datetime(2022, 2, 1, tzinfo=SHANGHAI),
        dt.datetime(2024, 7, 1, tzinfo=SHANGHAI),
    )
    assert coverage.sources["crm"][0] == dt.datetime(2023, 5, 1, 12, tzinfo=SHANGHAI)
    assert coverage.as_of_range() == (dt.date(2022, 1, 31), dt.date(2024, 6, 30))
    assert coverage_gap(dt.date(2024, 6, 30), coverage) is None
    assert coverage_gap(dt.date(2024, 7, 31), coverage)[0] == "after"
