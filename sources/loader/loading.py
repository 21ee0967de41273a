"""Loading a batch in one transaction: lock it and a row slot, replace its earlier rows, load
each file (direct path, else the careful one) and record the batch and its files."""

from __future__ import annotations

import json
import time
import zlib
from pathlib import Path

import psycopg
from psycopg import sql

from sources.contract import (
    RAW_SCHEMA,
    Contract,
    SourceSpec,
    TableSpec,
    load_contract,
    raw_table_name,
)
from sources.loader.careful import _TMP, _copy_fast, _create_temp, _parse_slow, _read_mismatched
from sources.loader.casting import _type_rows, _typing_statements
from sources.loader.direct import _copy_direct
from sources.loader.discovery import (
    BATCH_ID_RE,
    BatchRef,
    _batch_files,
    _read_manifest,
    discover_batches,
)
from sources.loader.erasures import apply_erasures
from sources.loader.reading import _layout, _read_landing, _RecordByRecord
from sources.loader.report import BatchReport, FileReport, LoadError
from sources.loader.schema import ROW_SLOT_LOCK, ROW_SLOTS, ensure_raw_schema
from sources.loader.zones import NO_ZONES, ZoneWords, may_hold_zone_words, zone_words

DATESTYLE = "ISO, YMD"  # day-month-year and month-day-year forms are rejected, not guessed


def _load_file(
    conn: psycopg.Connection,
    ref: BatchRef,
    spec: SourceSpec,
    tab: TableSpec,
    path: Path,
    fmt: str,
    extracted_at: str | None,
    slot: int = 0,
    zones: ZoneWords = NO_ZONES,
) -> FileReport:
    """Load one file inside the batch's transaction (``slot``: the batch's row slot,
    ``zones``: the source's zone abbreviations)."""
    started = time.perf_counter()
    rel = f"{ref.source}/{ref.batch_id}/{path.name}"
    landing = _read_landing(path, fmt, spec.encoding, rel)
    report = FileReport(file=rel, table=tab.name)
    if landing.header is None:
        report.parser, report.status = "none", "empty"
        return report
    if landing.mismatch is not None:
        # In another encoding than declared: every record is quarantined, none loaded.
        report.parser, report.typing = "python", "none"
        mismatched: list[tuple] = []
        report.records = report.quarantined = _read_mismatched(landing, mismatched)
        _quarantine_rows(conn, ref, tab, rel, mismatched)
        report.status = "quarantined" if report.records else "empty"
        report.seconds = round(time.perf_counter() - started, 3)
        return report
    header = landing.header
    layout = _layout(header, tab, rel)
    report.extra_columns = [name for name, _ in layout.extras]
    # A zone abbreviation is read by the direct COPY without a trace (CST as US Central):
    # a file that may hold one is typed the careful way, which checks every value.
    stamps = any(tab.column(c).type == "timestamptz" for c in layout.positions)
    if not layout.extras and not (stamps and may_hold_zone_words(landing, zones)):
        records = _copy_direct(conn, spec, tab, layout, landing, slot)
        if records is not None:
            report.records = report.loaded = records
            report.status = "empty" if records == 0 else "loaded"
            report.seconds = round(time.perf_counter() - started, 3)
            return report
    # The careful path: the file has extra columns, or the direct COPY failed or found a
    # row to quarantine (and was rolled back to its savepoint).
    report.parser, report.typing = "copy", "cast"
    ncols = len(header)
    _create_temp(conn, ncols)

    py_quarantine: list[tuple] = []
    try:
        with conn.transaction():
            records = _copy_fast(conn, landing, ncols)
    except (psycopg.errors.DataError, _RecordByRecord):
        # Bad bytes, broken quoting, a wrong field count or bytes PostgreSQL would read
        # otherwise somewhere in the file: the savepoint is rolled back and the file is read
        # record by record (the one rule for every row, see reading._ByteCheck).
        report.parser = "python"
        records = _parse_slow(conn, landing, header, py_quarantine)
    _quarantine_rows(conn, ref, tab, rel, py_quarantine)

    raw_ident = sql.Identifier(RAW_SCHEMA, raw_table_name(spec.name, tab.name))
    params = {
        "source": ref.source,
        "table": tab.name,
        "batch_id": ref.batch_id,
        "file": rel,
        "extracted_at": extracted_at,
    }
    rows = records - len(py_quarantine)
    try:
        with conn.transaction():
            stmts = _typing_statements(tab, layout, ncols, raw_ident, careful=False, zones=zones)
            loaded, quarantined = _type_rows(conn, stmts, params, rows)
    except psycopg.errors.DataError:
        # A value did not cast: type again with casts that return null, so that the row
        # is quarantined instead of failing the file.
        report.typing = "careful"
        stmts = _typing_statements(tab, layout, ncols, raw_ident, careful=True, zones=zones)
        loaded, quarantined = _type_rows(conn, stmts, params, rows)
    conn.execute(sql.SQL("drop table {}").format(sql.Identifier("pg_temp", _TMP)))
    report.records = records
    report.loaded = loaded
    report.quarantined = quarantined + len(py_quarantine)
    if not report.reconciled:
        raise LoadError(
            f"{rel}: counts do not reconcile: {records} records in the file, {loaded} loaded, "
            f"{report.quarantined} quarantined"
        )
    if records == 0:
        report.status = "empty"
    elif report.quarantined:
        report.status = "loaded_with_quarantine"
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _quarantine_rows(
    conn: psycopg.Connection, ref: BatchRef, tab: TableSpec, rel: str, rows: list[tuple]
) -> None:
    """COPY (row_number, column, reason, raw_line) rows set aside by the reader into
    raw._quarantine (their text is escaped by the reader, see careful._shown)."""
    if not rows:
        return
    now = conn.execute("select now()").fetchone()[0]
    with (
        conn.cursor() as cur,
        cur.copy(
            "copy raw._quarantine (source, table_name, batch_id, file, row_number, "
            "column_name, reason, raw_line, _loaded_at) from stdin"
        ) as copy,
    ):
        for row_number, column, reason, raw_line in rows:
            copy.write_row(
                (ref.source, tab.name, ref.batch_id, rel, row_number, column, reason, raw_line, now)
            )


def _lock_batch(conn: psycopg.Connection, ref: BatchRef) -> int:
    """Lock the batch (one load of a batch at a time) and a free row slot for the batch's
    transaction, waiting for one if all are taken; return the slot. One round trip when a
    slot is free: the slots are tried in order and the first free one is kept."""
    slot = conn.execute(
        "select pg_advisory_xact_lock(hashtext('portrait.raw.batch'), hashtext(%s)), "
        "(select s from generate_series(0, %s) as s "
        "where pg_try_advisory_xact_lock(hashtext(%s), s) limit 1)",
        (f"{ref.source}/{ref.batch_id}", ROW_SLOTS - 1, ROW_SLOT_LOCK),
    ).fetchone()[1]
    if slot is not None:
        return slot
    slot = zlib.crc32(f"{ref.source}/{ref.batch_id}".encode()) % ROW_SLOTS
    conn.execute("select pg_advisory_xact_lock(hashtext(%s), %s)", (ROW_SLOT_LOCK, slot))
    return slot


def _load_order(
    files: list[tuple[TableSpec, Path, str]], alongside: bool
) -> list[tuple[TableSpec, Path, str]]:
    """The order in which a batch's files load: biggest first; ``alongside`` (another worker
    is loading a batch of the same source) rotates that order by one, biggest last, so the
    two batches COPY into different tables at the same time (two COPYs into one table slow
    each other down). The order changes nothing in raw or in the report."""

    def size(item: tuple[TableSpec, Path, str]) -> int:
        try:
            return item[1].stat().st_size
        except OSError:
            return 0

    order = sorted(files, key=lambda f: (-size(f), f[1].name))
    return order[1:] + order[:1] if alongside else order


def record_not_loaded(conn: psycopg.Connection, refs: list[tuple[BatchRef, str, str]]) -> None:
    """Note (batch, status, reason) of batches that failed or were skipped in raw._batches.

    A batch loaded before keeps its counts (they are those of its rows still in raw); its
    status and error say what the last attempt did. Source folders that cannot be loaded
    (batch id "") are not batches and get no row.
    """
    rows = [(r.source, r.batch_id, status, error) for r, status, error in refs if r.batch_id]
    if not rows:
        return
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "insert into raw._batches (source, batch_id, loaded_at, files, records, loaded, "
            "quarantined, status, error) values (%s, %s, now(), 0, 0, 0, 0, %s, %s) "
            "on conflict (source, batch_id) do update "
            "set status = excluded.status, error = excluded.error",
            rows,
        )


def _load_batch(
    conn: psycopg.Connection, ref: BatchRef, contract: Contract, alongside: bool = False
) -> BatchReport:
    """Load one batch; if it fails, its raw._batches row says why (and LoadError is raised).

    Data the warehouse refuses and files that cannot be read fail the batch, not the load.
    """
    name = f"{ref.source}/{ref.batch_id}"
    try:
        if ref.problem is not None:
            raise LoadError(ref.problem)
        return _load_batch_in_transaction(conn, ref, contract, alongside)
    except LoadError as exc:
        error = exc
    except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
        # the primary message only: PostgreSQL's context would quote the whole line
        error = LoadError(f"{name}: the warehouse refused the data ({exc.diag.message_primary})")
        error.__cause__ = exc
    except OSError as exc:
        where = Path(exc.filename or ref.path)
        root = ref.path.parent.parent
        shown = where.relative_to(root) if where.is_relative_to(root) else where.name
        error = LoadError(f"{name}: cannot read {shown} ({exc.strerror or exc})")
        error.__cause__ = exc
    record_not_loaded(conn, [(ref, "failed", str(error))])
    raise error


def _load_batch_in_transaction(
    conn: psycopg.Connection, ref: BatchRef, contract: Contract, alongside: bool
) -> BatchReport:
    started = time.perf_counter()
    spec = contract.source(ref.source)
    report = BatchReport(source=ref.source, batch_id=ref.batch_id)
    report.extracted_at = _read_manifest(ref)
    files = _batch_files(ref, spec)
    with conn.transaction():
        # One load of a batch at a time (re-loading replaces it); other batches, also of the
        # same source, may load concurrently.
        slot = _lock_batch(conn, ref)
        # For the whole batch: how timestamps are read, and the bookkeeping values that the
        # raw tables' defaults pick up on the direct path. Whether the batch was loaded
        # before is read by a statement that starts after the lock is held.
        previous, first_loaded_at = conn.execute(
            "select set_config('TimeZone', %s, true), set_config('DateStyle', %s, true), "
            "set_config('portrait.batch_id', %s, true), "
            "set_config('portrait.extracted_at', %s, true), "
            "set_config('portrait.row_slot', %s, true), "
            "exists (select from raw._batches where source = %s and batch_id = %s), "
            "(select coalesce(first_loaded_at, case when status not in ('failed', 'skipped') "
            "then loaded_at end) from raw._batches where source = %s and batch_id = %s)",
            (
                spec.timezone,
                DATESTYLE,
                ref.batch_id,
                report.extracted_at or "",
                str(slot),
                ref.source,
                ref.batch_id,
                ref.source,
                ref.batch_id,
            ),
        ).fetchone()[-2:]
        if previous:
            # Re-loading replaces the batch: its earlier rows go, whatever tables they were in.
            report.replaced = True
            for tab in spec.tables:
                conn.execute(
                    sql.SQL("delete from {} where _batch_id = %s").format(
                        sql.Identifier(RAW_SCHEMA, raw_table_name(spec.name, tab.name))
                    ),
                    (ref.batch_id,),
                )
            for table in ("_quarantine", "_batch_files", "_batches"):
                conn.execute(
                    sql.SQL("delete from {} where source = %s and batch_id = %s").format(
                        sql.Identifier(RAW_SCHEMA, table)
                    ),
                    (ref.source, ref.batch_id),
                )
        zones = zone_words(conn, spec)
        loaded = {
            path: _load_file(conn, ref, spec, tab, path, fmt, report.extracted_at, slot, zones)
            for tab, path, fmt in _load_order(files, alongside)
        }
        report.files = [loaded[path] for _, path, _ in files]
        # People who asked to be forgotten stay forgotten: their values in this batch go.
        apply_erasures(conn, contract, ref.source, ref.batch_id)
        if first_loaded_at is not None:
            # A re-delivery keeps the batch's first load time (see raw._batches.first_loaded_at).
            for tab in {tab.name for tab, _, _ in files}:
                conn.execute(
                    sql.SQL("update {} set _loaded_at = %s where _batch_id = %s").format(
                        sql.Identifier(RAW_SCHEMA, raw_table_name(spec.name, tab))
                    ),
                    (first_loaded_at, ref.batch_id),
                )
        if not report.reconciled:
            raise LoadError(f"{ref.source}/{ref.batch_id}: counts do not reconcile")
        if report.records == 0:
            report.status = "empty"
        elif report.quarantined:
            report.status = "loaded_with_quarantine"
        # The batch's row and its files' rows in one statement (one round trip).
        conn.execute(
            "with batch as (insert into raw._batches (source, batch_id, extracted_at, "
            "loaded_at, first_loaded_at, files, records, loaded, quarantined, status) "
            "values (%(source)s, %(batch_id)s, %(extracted_at)s, now(), "
            "coalesce(%(first_loaded_at)s::timestamptz, now()), %(files)s, "
            "%(records)s, %(loaded)s, %(quarantined)s, %(status)s)) "
            "insert into raw._batch_files (source, batch_id, file, table_name, records, "
            "loaded, quarantined, extra_columns, parser, status, loaded_at) "
            "select %(source)s, %(batch_id)s, f.file, f.table_name, f.records, f.loaded, "
            "f.quarantined, coalesce((select array_agg(e) from jsonb_array_elements_text("
            "f.extra_columns) as e), '{}'), f.parser, f.status, now() "
            "from jsonb_to_recordset(%(file_rows)s::jsonb) as f (file text, table_name text, "
            "records bigint, loaded bigint, quarantined bigint, extra_columns jsonb, "
            "parser text, status text)",
            {
                "source": ref.source,
                "batch_id": ref.batch_id,
                "extracted_at": report.extracted_at,
                "first_loaded_at": first_loaded_at,
                "files": len(report.files),
                "records": report.records,
                "loaded": report.loaded,
                "quarantined": report.quarantined,
                "status": report.status,
                "file_rows": json.dumps(
                    [
                        {
                            "file": f.file,
                            "table_name": f.table,
                            "records": f.records,
                            "loaded": f.loaded,
                            "quarantined": f.quarantined,
                            "extra_columns": f.extra_columns,
                            "parser": f.parser,
                            "status": f.status,
                        }
                        for f in report.files
                    ]
                ),
            },
        )
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _connect(dsn: str) -> psycopg.Connection:
    conn = psycopg.connect(dsn)
    # temp_buffers must precede the session's first use of a temp table; work_mem holds a
    # direct COPY's rows (the check trigger's transition table) and its key check in memory.
    conn.execute(
        "set temp_buffers = '256MB'; set work_mem = '256MB'; set jit = off; "
        "set client_encoding = 'UTF8'"
    )
    conn.commit()
    return conn


def load_batch(
    dsn: str,
    landing_root: Path,
    source: str,
    batch_id: str,
    *,
    contract: Contract | None = None,
) -> BatchReport:
    """Load (or re-load) one batch, ``<landing_root>/<source>/<batch_id>``."""
    contract = contract or load_contract()
    if not contract.has_source(source):
        raise LoadError(
            f"unknown source {source!r} (contract sources: {', '.join(contract.source_names)})"
        )
    if not BATCH_ID_RE.match(batch_id):
        shown = repr(batch_id) if len(batch_id) <= 80 else repr(batch_id[:80]) + "..."
        raise LoadError(f"{source}: batch id {shown} must consist of [A-Za-z0-9_.-]")
    path = Path(landing_root) / source / batch_id
    found = [
        r
        for r in discover_batches(Path(landing_root), contract, [source], [batch_id])
        if r.batch_id in (batch_id, "")
    ]
    if not found:
        raise LoadError(f"{path}: no such batch folder")
    with _connect(dsn) as conn:
        ensure_raw_schema(conn, contract)
        return _load_batch(conn, found[0], contract)
