"""Load landing files (``<root>/<source>/<batch_id>/<table>.csv|.parquet``) into ``raw``.

One transaction per batch: a re-loaded batch replaces its earlier rows, a failed one leaves
the earlier content untouched. Timestamps without an offset are read in the source's time
zone (contract), with DateStyle ISO, YMD, on every path.

Direct path: each file without extra columns is COPYed straight into its typed raw table
inside a savepoint; the bookkeeping columns come from column defaults that read
transaction-local settings, and a statement trigger checks the COPY's rows for what the
careful path would quarantine. Any COPY error or finding rolls the savepoint back and the
file takes the careful path: COPY as text into a temp table (or, if PostgreSQL rejects the
bytes, parse record by record in Python, quarantining unreadable records), then one SQL
statement types the rows into ``raw.<source>__<table>`` and quarantines the rows whose
values do not fit the contract. For every file ``loaded + quarantined == records``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sys
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from sources.contract import (
    PG_TYPES,
    RAW_SCHEMA,
    Contract,
    SourceSpec,
    TableSpec,
    load_contract,
    pg_encoding,
    raw_table_name,
)

MANIFEST = "_batch.json"
FORMATS = {".csv": "csv", ".parquet": "parquet"}
BATCH_ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
RAW_LINE_MAX = 4000  # characters of the original line kept in raw._quarantine
VALUE_MAX = 200  # characters of a bad value quoted in a reason
COPY_CHUNK = 1 << 20

META_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_batch_id", "text"),
    ("_file", "text"),
    ("_row_number", "bigint"),
    ("_loaded_at", "timestamptz"),
    ("_extracted_at", "timestamptz"),
    ("_extra", "jsonb"),
)

# Defaults of the bookkeeping columns, which the direct COPY leaves to the table. They read
# transaction-local settings the loader sets per batch and per file (set_config(..., true));
# _row_number comes from a per-table sequence reset to 1 before each file. Batches may load
# concurrently (also batches of one source, into the same tables), so each table has
# ROW_SLOTS sequences: a batch claims a free slot with an advisory lock for its transaction
# and its direct COPYs number their rows from that slot's sequence (see _row_number_default).
META_DEFAULTS: dict[str, str] = {
    "_batch_id": "raw._setting('portrait.batch_id')",
    "_file": "raw._setting('portrait.file')",
    "_loaded_at": "now()",
    "_extracted_at": "raw._setting_ts('portrait.extracted_at')",
}
DIRECT_TRIGGER = "_portrait_check_direct_load"
_DIRECT_SAVEPOINT = "portrait_direct_copy"
DATESTYLE = "ISO, YMD"  # day-month-year and month-day-year forms are rejected, not guessed
ROW_SLOTS = 4  # batches that can COPY into one raw table at the same time
ROW_SLOT_LOCK = "portrait.raw.row_slot"  # advisory lock (hashtext(this), slot) of a batch


def _row_seq(table: str, slot: int = 0) -> str:
    """Name (in schema raw) of the sequence numbering a raw table's rows within a file, for
    the batches holding row slot ``slot``."""
    return f"{table}__row_number_seq" + (f"_{slot}" if slot else "")


def _row_number_default(table: str) -> sql.Composable:
    """The _row_number default: nextval of the sequence of the batch's row slot. The setting
    is read by an immutable function, so the CASE folds to one nextval when COPY plans its
    defaults; outside a load (no setting) it is slot 0's sequence."""
    arms = sql.SQL(" ").join(
        sql.SQL("when {} then nextval({})").format(
            sql.Literal(str(slot)), sql.Literal(f"{RAW_SCHEMA}.{_row_seq(table, slot)}")
        )
        for slot in range(1, ROW_SLOTS)
    )
    return sql.SQL("case raw._setting('portrait.row_slot') {} else nextval({}) end").format(
        arms, sql.Literal(f"{RAW_SCHEMA}.{_row_seq(table)}")
    )


class LoadError(RuntimeError):
    """A batch could not be loaded; the message names the file and the column or table.

    ``report`` holds what was loaded before the failure (earlier batches are committed,
    the failed batch is rolled back and marked ``failed``).
    """

    def __init__(self, message: str, report: LoadReport | None = None):
        super().__init__(message)
        self.report = report


# ---------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------


@dataclass
class FileReport:
    """What happened to one landing file."""

    file: str
    table: str
    records: int = 0
    loaded: int = 0
    quarantined: int = 0
    extra_columns: list[str] = field(default_factory=list)
    # direct (one COPY straight into the typed raw table) | copy (COPY as text into a temp
    # table, then typed) | python (parsed record by record) | none (0-byte file)
    parser: str = "direct"
    # direct (typed by the COPY) | cast (every value cast) | careful (null-on-error casts)
    typing: str = "direct"
    status: str = "loaded"  # loaded | loaded_with_quarantine | empty
    seconds: float = 0.0

    @property
    def reconciled(self) -> bool:
        return self.loaded + self.quarantined == self.records


@dataclass
class BatchReport:
    """What happened to one batch of one source."""

    source: str
    batch_id: str
    extracted_at: str | None = None
    files: list[FileReport] = field(default_factory=list)
    status: str = "loaded"  # loaded | loaded_with_quarantine | empty | failed
    error: str | None = None
    replaced: bool = False
    seconds: float = 0.0

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def loaded(self) -> int:
        return sum(f.loaded for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def reconciled(self) -> bool:
        return all(f.reconciled for f in self.files)

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(
            records=self.records,
            loaded=self.loaded,
            quarantined=self.quarantined,
            reconciled=self.reconciled,
        )
        return out


@dataclass
class LoadReport:
    """Per batch and per file counts of one load; ``to_dict()`` is JSON/XCom friendly."""

    batches: list[BatchReport] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(b.records for b in self.batches)

    @property
    def loaded(self) -> int:
        return sum(b.loaded for b in self.batches)

    @property
    def quarantined(self) -> int:
        return sum(b.quarantined for b in self.batches)

    @property
    def reconciled(self) -> bool:
        return all(b.reconciled for b in self.batches)

    @property
    def files(self) -> list[tuple[BatchReport, FileReport]]:
        return [(b, f) for b in self.batches for f in b.files]

    def to_dict(self) -> dict:
        return {
            "batches": [b.to_dict() for b in self.batches],
            "records": self.records,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
            "reconciled": self.reconciled,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def summary(self) -> str:
        """A plain-text table: one line per file, a total per batch and overall."""
        head = ("source", "batch_id", "file", "records", "loaded", "quarantined", "extra", "status")
        rows: list[tuple[str, ...]] = []
        for b in self.batches:
            for f in b.files:
                rows.append(
                    (
                        b.source,
                        b.batch_id,
                        Path(f.file).name,
                        str(f.records),
                        str(f.loaded),
                        str(f.quarantined),
                        ",".join(f.extra_columns),
                        f.status + ("" if f.reconciled else " NOT RECONCILED"),
                    )
                )
            status = b.status if b.error is None else f"failed: {b.error}"
            rows.append(
                (
                    b.source,
                    b.batch_id,
                    "(batch)",
                    str(b.records),
                    str(b.loaded),
                    str(b.quarantined),
                    "",
                    status,
                )
            )
        rows.append(
            (
                "total",
                f"{len(self.batches)} batches",
                "",
                str(self.records),
                str(self.loaded),
                str(self.quarantined),
                "",
                "reconciled" if self.reconciled else "NOT RECONCILED",
            )
        )
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        numeric = {3, 4, 5}

        def fmt(r: tuple[str, ...]) -> str:
            cells = [r[i].rjust(w) if i in numeric else r[i].ljust(w) for i, w in enumerate(widths)]
            return "  ".join(cells).rstrip()

        return "\n".join([fmt(head), "  ".join("-" * w for w in widths), *map(fmt, rows)])


# ---------------------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRef:
    source: str
    batch_id: str
    path: Path


def discover_batches(
    landing_root: Path,
    contract: Contract,
    sources: list[str] | None = None,
    batches: list[str] | None = None,
) -> list[BatchRef]:
    """The batches under ``landing_root`` to load, in (batch_id, source) order."""
    root = Path(landing_root)
    if not root.is_dir():
        raise LoadError(f"landing root {root} does not exist or is not a folder")
    if sources is not None:
        unknown = [s for s in sources if not contract.has_source(s)]
        if unknown:
            raise LoadError(
                f"unknown source(s) {', '.join(unknown)} (contract sources: "
                f"{', '.join(contract.source_names)})"
            )
    refs: list[BatchRef] = []
    for src_dir in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        if not src_dir.is_dir():
            continue
        if not contract.has_source(src_dir.name):
            if sources is None:
                raise LoadError(
                    f"{src_dir}: unknown source folder {src_dir.name!r} (contract sources: "
                    f"{', '.join(contract.source_names)})"
                )
            continue
        if sources is not None and src_dir.name not in sources:
            continue
        for batch_dir in sorted(p for p in src_dir.iterdir() if not p.name.startswith(".")):
            if not batch_dir.is_dir():
                continue
            if not BATCH_ID_RE.match(batch_dir.name):
                raise LoadError(
                    f"{batch_dir}: batch id {batch_dir.name!r} must consist of [A-Za-z0-9_.-]"
                )
            if batches is not None and batch_dir.name not in batches:
                continue
            refs.append(BatchRef(src_dir.name, batch_dir.name, batch_dir))
    refs.sort(key=lambda r: (r.batch_id, r.source))
    return refs


def _batch_files(ref: BatchRef, spec: SourceSpec) -> list[tuple[TableSpec, Path, str]]:
    """(table, path, format) of each data file in a batch folder, checked against the contract."""
    out: list[tuple[TableSpec, Path, str]] = []
    seen: dict[str, Path] = {}
    for path in sorted(ref.path.iterdir()):
        if path.name.startswith(".") or path.name == MANIFEST:
            continue
        rel = f"{ref.source}/{ref.batch_id}/{path.name}"
        fmt = FORMATS.get(path.suffix.lower())
        if path.is_dir() or fmt is None:
            raise LoadError(
                f"{rel}: not a landing file (expected <table>.csv or <table>.parquet; "
                f"tables of {spec.name}: {', '.join(spec.table_names)})"
            )
        table = path.stem
        if not spec.has_table(table):
            raise LoadError(
                f"{rel}: unknown table {table!r} for source {spec.name!r} "
                f"(contract tables: {', '.join(spec.table_names)})"
            )
        if table in seen:
            raise LoadError(f"{rel}: table {table!r} also comes as {seen[table].name}; keep one")
        seen[table] = path
        out.append((spec.table(table), path, fmt))
    return out


def _read_manifest(ref: BatchRef) -> str | None:
    """extracted_at from the batch manifest (ISO 8601 with offset), or None."""
    path = ref.path / MANIFEST
    if not path.exists():
        return None
    rel = f"{ref.source}/{ref.batch_id}/{MANIFEST}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise LoadError(f"{rel}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise LoadError(f"{rel}: expected a JSON object")
    for key, expected in (("batch_id", ref.batch_id), ("source", ref.source)):
        if data.get(key) not in (None, expected):
            raise LoadError(f"{rel}: {key} is {data[key]!r} but the folder says {expected!r}")
    value = data.get("extracted_at")
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise LoadError(f"{rel}: extracted_at {value!r} is not an ISO 8601 timestamp") from exc
    if parsed.tzinfo is None:
        raise LoadError(f"{rel}: extracted_at {value!r} has no UTC offset")
    return parsed.isoformat()


# ---------------------------------------------------------------------------------------
# DDL
# ---------------------------------------------------------------------------------------

_BOOKKEEPING_DDL = """
create schema if not exists raw;

create table if not exists raw._batches (
    source text not null,
    batch_id text not null,
    extracted_at timestamptz,
    loaded_at timestamptz not null,
    files integer not null,
    records bigint not null,
    loaded bigint not null,
    quarantined bigint not null,
    status text not null,
    primary key (source, batch_id)
);

create table if not exists raw._batch_files (
    source text not null,
    batch_id text not null,
    file text not null,
    table_name text not null,
    records bigint not null,
    loaded bigint not null,
    quarantined bigint not null,
    extra_columns text[] not null default '{}',
    parser text not null,
    status text not null,
    loaded_at timestamptz not null,
    primary key (source, batch_id, file)
);

create table if not exists raw._quarantine (
    source text not null,
    table_name text not null,
    batch_id text not null,
    file text not null,
    row_number bigint,
    column_name text,
    reason text not null,
    raw_line text,
    _loaded_at timestamptz not null
);
create index if not exists _quarantine_batch on raw._quarantine (source, batch_id);

{try_cast_functions}
-- Defaults of the bookkeeping columns (see META_DEFAULTS). Declared immutable on purpose:
-- PostgreSQL then folds them to a constant when a statement is planned (COPY plans its
-- defaults once per statement), instead of reading the setting for every row. The loader
-- sets the settings before each COPY and inserts explicit values everywhere else.
create or replace function raw._setting(name text) returns text
language sql immutable parallel safe as $$
    select nullif(current_setting(name, true), '')
$$;

create or replace function raw._setting_ts(name text) returns timestamptz
language sql immutable parallel safe as $$
    select nullif(current_setting(name, true), '')::timestamptz
$$;

-- After a direct COPY into a raw table: run the loader's check query (set in
-- portrait.check_sql) over the rows of that statement; a hit fails the COPY, so that the
-- loader rolls back to its savepoint and loads the file the careful way.
create or replace function raw._check_direct_load() returns trigger
language plpgsql as $$
declare
    check_sql text := current_setting('portrait.check_sql', true);
    bad boolean;
begin
    if coalesce(check_sql, '') = '' then
        return null;
    end if;
    perform set_config('portrait.check_sql', '', true);
    execute check_sql into bad;
    if bad then
        raise exception 'portrait: a row of this file needs the careful load'
            using errcode = 'data_exception';
    end if;
    return null;
end $$;
"""


def _try_cast_function(pg_type: str, volatility: str) -> str:
    return f"""create or replace function raw._try_{pg_type}(value text) returns {pg_type}
language plpgsql {volatility} strict parallel safe as $$
begin
    return value::{pg_type};
exception when others then
    return null;
end $$;
"""


# PostgreSQL 15 has no pg_input_is_valid: these return null instead of raising. Casts that
# depend on the session's TimeZone/DateStyle can only be stable, the others are immutable.
_BOOKKEEPING_DDL = _BOOKKEEPING_DDL.replace(
    "{try_cast_functions}",
    "\n".join(
        _try_cast_function(pg_type, volatility)
        for pg_type, volatility in (
            ("bigint", "immutable"),
            ("numeric", "immutable"),
            ("boolean", "immutable"),
            ("date", "stable"),
            ("timestamptz", "stable"),
        )
    ),
)


def ensure_raw_schema(conn: psycopg.Connection, contract: Contract | None = None) -> None:
    """Create schema raw, the bookkeeping tables and one table per contract table.

    Columns the contract gained since the table was created are added (never dropped).
    The schema's comment records a fingerprint of what was ensured last; when it matches
    and every table is there, nothing is done (one catalogue query instead of the DDL).
    """
    contract = contract or load_contract()
    names = [
        f"{RAW_SCHEMA}.{raw_table_name(src.name, tab.name)}"
        for src in contract.sources
        for tab in src.tables
    ]
    fingerprint = (
        "portrait raw schema "
        + hashlib.sha256(
            repr(
                (
                    _BOOKKEEPING_DDL,
                    META_COLUMNS,
                    META_DEFAULTS,
                    DIRECT_TRIGGER,
                    ROW_SLOTS,
                    contract.sources,
                )
            ).encode()
        ).hexdigest()[:16]
    )
    with conn.transaction():
        current = conn.execute(
            "select obj_description(n.oid, 'pg_namespace') = %s "
            "and not exists (select from unnest(%s::text[]) t where to_regclass(t) is null) "
            "from pg_namespace n where n.nspname = %s",
            (fingerprint, names, RAW_SCHEMA),
        ).fetchone()
    if current and current[0]:
        return
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('portrait.raw.ddl'))")
        conn.execute(_BOOKKEEPING_DDL)
        conn.execute(
            sql.SQL("comment on schema {} is {}").format(
                sql.Identifier(RAW_SCHEMA), sql.Literal(fingerprint)
            )
        )
        existing: dict[str, dict[str, str | None]] = {}
        for tname, cname, default in conn.execute(
            "select table_name, column_name, column_default from information_schema.columns "
            "where table_schema = %s",
            (RAW_SCHEMA,),
        ).fetchall():
            existing.setdefault(tname, {})[cname] = default
        triggers = {
            r[0]
            for r in conn.execute(
                "select c.relname from pg_trigger t join pg_class c on c.oid = t.tgrelid "
                "join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = %s and t.tgname = %s",
                (RAW_SCHEMA, DIRECT_TRIGGER),
            ).fetchall()
        }
        for src in contract.sources:
            for tab in src.tables:
                _ensure_raw_table(conn, raw_table_name(src.name, tab.name), tab, existing, triggers)


def _ensure_raw_table(
    conn: psycopg.Connection,
    name: str,
    tab: TableSpec,
    existing: dict[str, dict[str, str | None]],
    triggers: set[str],
) -> None:
    """Create one raw table, or add the columns, defaults and trigger it lacks."""
    Id, SQL = sql.Identifier, sql.SQL
    cols = [(c.name, c.pg_type) for c in tab.columns] + list(META_COLUMNS)
    ident = Id(RAW_SCHEMA, name)
    have = existing.get(name)
    if have is None:
        conn.execute(
            SQL("create table {} ({})").format(
                ident, SQL(", ").join(SQL("{} {}").format(Id(c), SQL(t)) for c, t in cols)
            )
        )
        have = {}
    for c, t in cols:
        if c not in have:
            if name in existing:
                conn.execute(SQL("alter table {} add column {} {}").format(ident, Id(c), SQL(t)))
            have[c] = None
    for c, expr in META_DEFAULTS.items():
        if have.get(c) is None:
            conn.execute(
                SQL("alter table {} alter column {} set default {}").format(ident, Id(c), SQL(expr))
            )
    if "portrait.row_slot" not in (have.get("_row_number") or ""):
        # New table, or one from before row slots (its slot 0 sequence is kept).
        for slot in range(ROW_SLOTS):
            conn.execute(
                SQL("create sequence if not exists {} cache 1000 owned by {}.{}").format(
                    Id(RAW_SCHEMA, _row_seq(name, slot)), ident, Id("_row_number")
                )
            )
        conn.execute(
            SQL("alter table {} alter column _row_number set default {}").format(
                ident, _row_number_default(name)
            )
        )
    if name not in triggers:
        conn.execute(
            SQL(
                "create trigger {} after insert on {} referencing new table as new_rows "
                "for each statement execute function raw._check_direct_load()"
            ).format(Id(DIRECT_TRIGGER), ident)
        )


# ---------------------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------------------


@dataclass
class _Landing:
    """One file's bytes as CSV in a known encoding, and its header."""

    rel: str
    encoding: str  # Python codec of the CSV bytes
    header: list[str] | None  # None: 0-byte file
    open_bytes: object  # callable returning a binary stream of the whole CSV

    def stream(self) -> io.BufferedIOBase:
        return self.open_bytes()  # type: ignore[operator]


def _read_landing(path: Path, fmt: str, encoding: str, rel: str) -> _Landing:
    if fmt == "parquet":
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:
            raise LoadError(f"{rel}: cannot read Parquet ({exc})") from exc
        buf = io.BytesIO()
        pacsv.write_csv(table, buf)
        data = buf.getvalue()
        return _Landing(rel, "utf-8", list(table.column_names), lambda: io.BytesIO(data))
    with path.open("rb") as fh:
        first = fh.readline()
    if not first:
        return _Landing(rel, encoding, None, lambda: path.open("rb"))
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        text = first.decode(codec)
    except UnicodeDecodeError as exc:
        raise LoadError(f"{rel}: the header line is not valid {encoding} ({exc})") from exc
    try:
        header = next(csv.reader([text], strict=True))
    except (csv.Error, StopIteration) as exc:
        raise LoadError(f"{rel}: cannot parse the header line ({exc})") from exc
    return _Landing(rel, encoding, [h.strip() for h in header], lambda: path.open("rb"))


@dataclass
class _Layout:
    """How the header's columns map to the contract table."""

    positions: dict[str, int]  # contract column -> index in the header
    extras: list[tuple[str, int]]  # (header name, index) of columns not in the contract


def _layout(header: list[str], tab: TableSpec, rel: str) -> _Layout:
    positions: dict[str, int] = {}
    extras: list[tuple[str, int]] = []
    seen: set[str] = set()
    contract_cols = {c.lower(): c for c in tab.column_names}
    for i, raw_name in enumerate(header):
        name = raw_name or f"column_{i + 1}"
        low = name.lower()
        if low in seen:
            raise LoadError(f"{rel}: column {name!r} appears twice in the header")
        seen.add(low)
        if low in contract_cols:
            positions[contract_cols[low]] = i
        else:
            extras.append((name, i))
    missing = [c for c in tab.required_columns if c not in positions]
    if missing:
        raise LoadError(
            f"{rel}: required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)} missing from the header "
            f"(header: {', '.join(header)})"
        )
    return _Layout(positions, extras)


# ---------------------------------------------------------------------------------------
# Direct path: COPY the file's bytes straight into the typed raw table
# ---------------------------------------------------------------------------------------


def _direct_check_sql(tab: TableSpec, layout: _Layout) -> sql.Composable:
    """A query over the COPY's rows (transition table new_rows): true if some row would be
    quarantined on the careful path (required value empty, NaN, infinity, repeated key)."""
    Id, SQL = sql.Identifier, sql.SQL
    bad: list[sql.Composable] = []
    for col in tab.columns:
        if col.name not in layout.positions:
            continue
        c = Id(col.name)
        # Written to be cheap per row (measured): btrim only runs on a leading blank (it
        # trims blanks only), and the numeric comparisons only on values stored in 3 or 6
        # bytes, which NaN and the infinities always are (as is zero).
        if col.required:
            if col.type == "text":
                bad.append(SQL("{c} is null or ({c} like ' %' and btrim({c}) = '')").format(c=c))
            else:
                bad.append(SQL("{c} is null").format(c=c))
        if col.type == "numeric":
            bad.append(
                SQL(
                    "(pg_column_size({c}) in (3, 6) and {c} in ('NaN', 'Infinity', '-Infinity'))"
                ).format(c=c)
            )
        elif col.type in ("date", "timestamptz"):
            bad.append(SQL("not isfinite({c})").format(c=c))
    parts: list[sql.Composable] = []
    if bad:
        parts.append(SQL("exists (select from new_rows where {})").format(SQL(" or ").join(bad)))
    keys = [Id(k) for k in tab.key if k in layout.positions]
    if keys:
        parts.append(
            SQL("exists (select from new_rows group by {} having count(*) > 1)").format(
                SQL(", ").join(keys)
            )
        )
    return SQL("select {}").format(SQL(" or ").join(parts) if parts else SQL("false"))


def _copy_direct(
    conn: psycopg.Connection,
    spec: SourceSpec,
    tab: TableSpec,
    layout: _Layout,
    landing: _Landing,
    slot: int = 0,
) -> int | None:
    """COPY the file into raw.<source>__<table> inside a savepoint; the records loaded, or
    None if the COPY failed (bytes, quoting, a value that is not of its type) or the check
    trigger found a row that the careful path would quarantine: then nothing was loaded.

    The bookkeeping columns come from the table's defaults (batch settings are set by
    _load_batch), TimeZone and DateStyle are the batch's, so the typed values are exactly
    what the careful path's casts give. ``slot`` is the batch's row slot (its sequence numbers
    the rows).
    """
    Id, SQL = sql.Identifier, sql.SQL
    name = raw_table_name(spec.name, tab.name)
    by_pos = sorted((pos, col) for col, pos in layout.positions.items())
    cols = SQL(", ").join(Id(col) for _, col in by_pos)
    stmt = SQL(
        "copy {raw} ({cols}) from stdin (format csv, header true, encoding {enc}, "
        "force_null ({cols}))"
    ).format(
        raw=Id(RAW_SCHEMA, name),
        cols=cols,
        enc=sql.Literal(pg_encoding(landing.encoding)),
    )
    # The savepoint and the file's settings go in one message (simple query protocol, so
    # the values are quoted literals): one round trip less per file.
    prepare = SQL(
        "savepoint {sp}; select set_config('portrait.file', {file}, true), "
        "set_config('portrait.check_sql', {check}, true), setval({seq}::regclass, 1, false)"
    ).format(
        sp=Id(_DIRECT_SAVEPOINT),
        file=sql.Literal(landing.rel),
        check=sql.Literal(_direct_check_sql(tab, layout).as_string(conn)),
        seq=sql.Literal(f"{RAW_SCHEMA}.{_row_seq(name, slot)}"),
    )
    with conn.cursor() as cur:
        cur.execute(prepare)
        try:
            with cur.copy(stmt) as copy, landing.stream() as fh:
                while chunk := fh.read(COPY_CHUNK):
                    copy.write(chunk)
        except psycopg.errors.DataError:
            cur.execute(
                SQL("rollback to savepoint {sp}; release savepoint {sp}").format(
                    sp=Id(_DIRECT_SAVEPOINT)
                )
            )
            return None
        records = cur.rowcount
        cur.execute(SQL("release savepoint {}").format(Id(_DIRECT_SAVEPOINT)))
        return records


# ---------------------------------------------------------------------------------------
# Careful path, first step: COPY the file's bytes into a temp table as text
# ---------------------------------------------------------------------------------------

_TMP = "_portrait_landing"


def _create_temp(conn: psycopg.Connection, ncols: int) -> None:
    conn.execute(f"drop table if exists pg_temp.{_TMP}")
    cols = ", ".join(f"c{i} text" for i in range(ncols))
    conn.execute(
        f"create temp table {_TMP} (_row_number bigint generated by default as identity, "
        f"{cols}) on commit drop"
    )


def _copy_fast(conn: psycopg.Connection, landing: _Landing, ncols: int) -> int:
    cols = ", ".join(f"c{i}" for i in range(ncols))
    stmt = (
        f"copy pg_temp.{_TMP} ({cols}) from stdin "
        f"(format csv, header true, encoding '{pg_encoding(landing.encoding)}')"
    )
    with conn.cursor() as cur:
        with cur.copy(stmt) as copy, landing.stream() as fh:
            while chunk := fh.read(COPY_CHUNK):
                copy.write(chunk)
        return cur.rowcount


# ---------------------------------------------------------------------------------------
# Slow path: decode and parse record by record in Python
# ---------------------------------------------------------------------------------------


class _Lines:
    """Physical lines of a binary stream, decoded with surrogateescape, with line numbers.

    Lines can be pushed back so that parsing restarts after a record that swallowed the rest
    of the file (an unterminated quote).
    """

    def __init__(self, stream: io.BufferedIOBase, encoding: str):
        self._stream = stream
        self._encoding = encoding
        self._pending: deque[tuple[int, bytes]] = deque()
        self._next_no = 1
        self.consumed: list[tuple[int, bytes]] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._pending:
            no, raw = self._pending.popleft()
        else:
            raw = self._stream.readline()
            if not raw:
                raise StopIteration
            no = self._next_no
            self._next_no += 1
        self.consumed.append((no, raw))
        return raw.decode(self._encoding, errors="surrogateescape")

    def push_back(self, lines: list[tuple[int, bytes]]) -> None:
        self._pending.extendleft(reversed(lines))


_SURROGATES = re.compile("[\udc80-\udcff]")


def _shown(raw: bytes | str, limit: int = RAW_LINE_MAX) -> str:
    text = raw.decode("utf-8", errors="backslashreplace") if isinstance(raw, bytes) else raw
    text = text.rstrip("\r\n")
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def _escaped(value: str, encoding: str) -> str:
    """A field decoded with surrogateescape, its bad bytes shown as \\xNN."""
    raw = value.encode(encoding, errors="surrogateescape")
    return raw.decode(encoding, errors="backslashreplace")[:VALUE_MAX]


def _parse_slow(
    conn: psycopg.Connection,
    landing: _Landing,
    header: list[str],
    quarantine: list[tuple],
) -> int:
    """Parse the file in Python, COPY good records into the temp table; return records seen.

    Unreadable records are appended to ``quarantine`` as (row_number, column, reason, raw_line).
    """
    ncols = len(header)
    enc = landing.encoding
    limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    records = 0
    cols = ", ".join(f"c{i}" for i in range(ncols))
    try:
        with landing.stream() as fh, conn.cursor() as cur:
            lines = _Lines(fh, enc)
            header_reader = csv.reader(lines, strict=True)
            next(header_reader)  # the header, already read
            with cur.copy(f"copy pg_temp.{_TMP} (_row_number, {cols}) from stdin") as copy:
                while True:
                    lines.consumed = []
                    reader = csv.reader(lines, strict=True)
                    try:
                        row = next(reader)
                    except StopIteration:
                        break
                    except csv.Error as exc:
                        consumed = lines.consumed
                        records += 1
                        if len(consumed) > 1:
                            # Probably an unterminated quote: blame its first line only,
                            # and parse again from the line after it.
                            lines.push_back(consumed[1:])
                            consumed = consumed[:1]
                        first_no = consumed[0][0] if consumed else 0
                        quarantine.append(
                            (
                                records,
                                None,
                                f"line {first_no}: malformed CSV ({exc}); check the quoting "
                                f"of this line",
                                _shown(b"".join(raw for _, raw in consumed)),
                            )
                        )
                        continue
                    consumed = lines.consumed
                    first_no = consumed[0][0] if consumed else 0
                    raw_line = b"".join(raw for _, raw in consumed)
                    if row == [] and raw_line.strip() == b"":
                        continue  # blank line: not a record (PostgreSQL COPY rejects these)
                    records += 1
                    problem = _record_problem(row, header, enc, first_no)
                    if problem is not None:
                        column, reason = problem
                        quarantine.append((records, column, reason, _shown(raw_line)))
                        continue
                    copy.write_row([records, *row])
    finally:
        csv.field_size_limit(limit)
    return records


def _record_problem(
    row: list[str], header: list[str], encoding: str, line_no: int
) -> tuple[str | None, str] | None:
    if len(row) != len(header):
        return (
            None,
            f"line {line_no}: {len(row)} fields but the header has {len(header)} columns",
        )
    bad = [(header[i], v) for i, v in enumerate(row) if _SURROGATES.search(v)]
    if bad:
        names = ", ".join(f"column {name}: '{_escaped(value, encoding)}'" for name, value in bad)
        return (
            bad[0][0],
            f"line {line_no}: bytes that are not valid {encoding} in {names}; "
            f"re-export the file as {encoding}",
        )
    nul = [header[i] for i, v in enumerate(row) if "\x00" in v]
    if nul:
        return nul[0], f"line {line_no}: NUL character in column {', '.join(nul)}"
    return None


# ---------------------------------------------------------------------------------------
# Typing: one statement that casts valid rows into raw and quarantines the rest
# ---------------------------------------------------------------------------------------

# The typing statement runs optimistically first: plain casts, which are cheap, and the
# whole file fails on the first value that does not cast. Only then (rolled back to a
# savepoint) does it run carefully, with casts that return null instead of raising. The
# conditions that quarantine a row are the same in both modes.
_SAFE_CAST = {
    "integer": "raw._try_bigint",
    "numeric": "raw._try_numeric",
    "boolean": "raw._try_boolean",
    "date": "raw._try_date",
    "timestamptz": "raw._try_timestamptz",
}
_TYPE_WORDS = {
    "integer": "is not an integer",
    "numeric": "is not a number (use . for decimals, no thousands separators)",
    "boolean": "is not a boolean (true/false/1/0)",
    "date": "is not a valid date (YYYY-MM-DD)",
    "timestamptz": "is not a valid timestamp (e.g. 2024-03-01T09:30:00+08:00, or without an "
    "offset in the source's time zone)",
}


def _cast_expr(ctype: str, x: sql.Composable, careful: bool) -> sql.Composable:
    if careful:
        return sql.SQL("{f}({x})").format(f=sql.SQL(_SAFE_CAST[ctype]), x=x)
    return sql.SQL("{x}::{t}").format(x=x, t=sql.SQL(PG_TYPES[ctype]))


def _bad_value_message(col: str, ctype: str, x: sql.Composable) -> sql.Composable:
    L = sql.Literal
    shown = sql.SQL("quote_literal(left({x}, {n}))").format(x=x, n=L(VALUE_MAX))
    return sql.SQL("{p} || {shown} || {m}").format(
        p=L(f"column {col}: "), shown=shown, m=L(" " + _TYPE_WORDS[ctype])
    )


def _csv_cell(c: sql.Composable) -> sql.Composable:
    return sql.SQL(
        "case when {c} is null then '' when {c} = '' or {c} ~ '[\",\\r\\n]' "
        "then '\"' || replace({c}, '\"', '\"\"') || '\"' else {c} end"
    ).format(c=c)


def _typing_statements(
    tab: TableSpec, layout: _Layout, ncols: int, raw_ident: sql.Identifier, careful: bool
) -> _Statements:
    """SQL that inserts the valid rows of the temp table into raw, the others into quarantine.

    Values are not trimmed (numbers and booleans may carry blanks, PostgreSQL's casts allow
    them); an empty field is null. Parameters: source, table, batch_id, file, extracted_at.
    """
    L, Id = sql.Literal, sql.Identifier
    typed: list[sql.Composable] = []  # "<cast> as v_<col>" for the layered pipeline
    direct: list[sql.Composable] = []  # the same casts for the single-level insert
    checks: list[tuple[sql.Composable, sql.Composable, str, sql.Composable]] = []
    # (bad on the text alone, bad after the cast, column, message)
    insert_cols: list[sql.Composable] = []
    select_vals: list[sql.Composable] = []
    for col in tab.columns:
        pos = layout.positions.get(col.name)
        v = Id(f"v_{col.name}")
        insert_cols.append(Id(col.name))
        select_vals.append(v)
        if pos is None:
            typed.append(sql.SQL("null::{} as {}").format(sql.SQL(col.pg_type), v))
            direct.append(sql.SQL("null::{}").format(sql.SQL(col.pg_type)))
            continue
        c = Id(f"c{pos}")
        x = sql.SQL("nullif({c}, '')").format(c=c)
        if col.type == "text":
            typed.append(sql.SQL("{x} as {v}").format(x=x, v=v))
            direct.append(x)
        else:
            typed.append(sql.SQL("{e} as {v}").format(e=_cast_expr(col.type, x, careful), v=v))
            direct.append(_cast_expr(col.type, x, careful=False))
        if col.required:
            checks.append(
                (
                    sql.SQL("btrim(coalesce({c}, '')) = ''").format(c=c),
                    sql.SQL("false"),
                    col.name,
                    L(f"required column {col.name} is empty"),
                )
            )
        if col.type == "text":
            continue
        bad_text = sql.SQL("false")
        if col.type in ("date", "timestamptz"):
            # The cast reads what PostgreSQL reads (DateStyle ISO, YMD; the source's time
            # zone), as the direct COPY does; 'infinity' is not a date.
            bad_text = sql.SQL("coalesce(not isfinite({e}), false)").format(
                e=_cast_expr(col.type, x, careful)
            )
        if col.type == "numeric":  # the cast accepts NaN and Infinity; the contract does not
            bad_text = sql.SQL(
                "(coalesce({c}, '') <> '' and ({c} like '%%n%%' or {c} like '%%N%%'))"
            ).format(c=c)
        checks.append(
            (
                bad_text,
                sql.SQL("(coalesce({c}, '') <> '' and {v} is null)").format(c=c, v=v),
                col.name,
                _bad_value_message(col.name, col.type, x),
            )
        )
    # Layered pipeline: a row is bad if any check fails, text or cast.
    bad_any = [sql.SQL("{} or {}").format(t, k) for t, k, _, _ in checks]
    checks_l = [(b, name, m) for b, (_, _, name, m) in zip(bad_any, checks, strict=True)]

    if layout.extras:
        extra = sql.SQL("jsonb_build_object({})").format(
            sql.SQL(", ").join(
                sql.SQL("{}, {}").format(L(name), Id(f"c{i}")) for name, i in layout.extras
            )
        )
    else:
        extra = sql.SQL("null::jsonb")
    raw_line = sql.SQL("concat_ws(',', {})").format(
        sql.SQL(", ").join(_csv_cell(Id(f"c{i}")) for i in range(ncols))
    )
    if checks:
        ok = sql.SQL("not ({})").format(sql.SQL(" or ").join(b for b, _, _ in checks_l))
        ok_text = sql.SQL("not ({})").format(sql.SQL(" or ").join(t for t, _, _, _ in checks))
        err_cols = sql.SQL("array_remove(array[{}]::text[], null)").format(
            sql.SQL(", ").join(
                sql.SQL("case when {b} then {n} end").format(b=b, n=L(name))
                for b, name, _ in checks_l
            )
        )
        err_msgs = sql.SQL("array_to_string(array[{}]::text[], '; ')").format(
            sql.SQL(", ").join(
                sql.SQL("case when {b} then {m} end").format(b=b, m=m) for b, _, m in checks_l
            )
        )
    else:
        ok = ok_text = sql.SQL("true")
        err_cols = sql.SQL("array[]::text[]")
        err_msgs = sql.SQL("''")

    key_vals = [Id(f"v_{k}") for k in tab.key]
    if key_vals:
        first = sql.SQL("min(case when _ok then _row_number end) over (partition by {})").format(
            sql.SQL(", ").join(key_vals)
        )
        key_text = sql.SQL(" || ', ' || ").join(
            sql.SQL("{} || '=' || coalesce({}::text, 'null')").format(L(k), Id(f"v_{k}"))
            for k in tab.key
        )
        dup_reason = sql.SQL(
            "'duplicate key (' || {kt} || ') in this file: row ' || _first || "
            "' was kept, this later row is ignored'"
        ).format(kt=key_text)
        dup_col = L(tab.key[0])
    else:
        first = sql.SQL("_row_number")
        dup_reason = sql.SQL("null")
        dup_col = sql.SQL("null")

    key_exprs = []
    for k in tab.key:
        pos = layout.positions.get(k)
        if pos is None:
            continue
        ctype = tab.column(k).type
        x = sql.SQL("nullif({c}, '')").format(c=Id(f"c{pos}"))
        key_exprs.append(x if ctype == "text" else _cast_expr(ctype, x, careful))

    pipeline = sql.SQL(
        """
with typed as (
    select t.*, {typed}
    from pg_temp.{tmp} as t
    offset 0
),
checked as (
    select typed.*, {ok} as _ok
    from typed
)"""
    ).format(
        tmp=Id(_TMP),
        typed=sql.SQL(", ").join(typed),
        ok=ok,
    )
    fmt = {
        "err_cols": err_cols,
        "err_msgs": err_msgs,
        "first": first,
        "dup_col": dup_col,
        "dup_reason": dup_reason,
        "raw_line": raw_line,
        "raw_max": L(RAW_LINE_MAX),
        "raw": raw_ident,
        "insert_cols": sql.SQL(", ").join(insert_cols),
        "select_vals": sql.SQL(", ").join(select_vals),
        "extra": extra,
    }
    quarantine_into = sql.SQL(
        "insert into raw._quarantine (source, table_name, batch_id, file, row_number, "
        "column_name, reason, raw_line, _loaded_at)"
    )
    raw_into = sql.SQL(
        "insert into {raw} ({insert_cols}, "
        "_batch_id, _file, _row_number, _loaded_at, _extracted_at, _extra)"
    ).format(**fmt)
    raw_values = sql.SQL(
        "{select_vals}, %(batch_id)s, %(file)s, _row_number, now(), "
        "%(extracted_at)s::timestamptz, {extra}"
    ).format(**fmt)
    return _Statements(
        dup_check=sql.SQL(
            "select count(*) from (select 1 from pg_temp.{tmp} group by {keys} "
            "having count(*) > 1 limit 1) as d"
        ).format(tmp=Id(_TMP), keys=sql.SQL(", ").join(key_exprs))
        if key_exprs
        else None,
        load_valid=sql.SQL("{p}\n{into}\nselect {vals}\nfrom checked where _ok").format(
            p=pipeline, into=raw_into, vals=raw_values
        )
        if careful
        else sql.SQL("{into}\nselect {vals}\nfrom pg_temp.{tmp} where {ok}").format(
            into=raw_into,
            vals=sql.SQL(
                "{direct}, %(batch_id)s, %(file)s, _row_number, now(), "
                "%(extracted_at)s::timestamptz, {extra}"
            ).format(direct=sql.SQL(", ").join(direct), extra=extra),
            tmp=Id(_TMP),
            ok=ok_text,
        ),
        quarantine_invalid=sql.SQL(
            "{p}\n{into}\nselect %(source)s, %(table)s, %(batch_id)s, %(file)s, _row_number, "
            "({err_cols})[1], {err_msgs}, left({raw_line}, {raw_max}), now()\n"
            "from checked where not _ok"
        ).format(p=pipeline, into=quarantine_into, **fmt),
        with_duplicates=sql.SQL(
            """{p},
ranked as materialized (
    select checked.*, {first} as _first
    from checked
),
quarantined as (
    {qinto}
    select %(source)s, %(table)s, %(batch_id)s, %(file)s, _row_number,
        case when _ok then {dup_col} else ({err_cols})[1] end,
        case when _ok then {dup_reason} else {err_msgs} end,
        left({raw_line}, {raw_max}), now()
    from ranked
    where not _ok or _first <> _row_number
    returning 1
),
loaded as (
    {rinto}
    select {rvals}
    from ranked
    where _ok and _first = _row_number
    returning 1
)
select (select count(*) from loaded), (select count(*) from quarantined)
"""
        ).format(p=pipeline, qinto=quarantine_into, rinto=raw_into, rvals=raw_values, **fmt),
    )


@dataclass(frozen=True)
class _Statements:
    """The SQL that types one file's temp table into raw (parameters: see _typing_statements).

    ``dup_check`` returns >0 if some key occurs twice (None: the table has no key); then
    ``with_duplicates`` does everything and returns (loaded, quarantined). Otherwise
    ``load_valid`` and, if it loaded fewer rows than there are, ``quarantine_invalid``.
    """

    dup_check: sql.Composable | None
    load_valid: sql.Composable
    quarantine_invalid: sql.Composable
    with_duplicates: sql.Composable


def _type_rows(
    conn: psycopg.Connection, stmts: _Statements, params: dict, rows: int
) -> tuple[int, int]:
    """Run the typing statements for a temp table of ``rows`` rows: (loaded, quarantined)."""
    if stmts.dup_check is not None and conn.execute(stmts.dup_check).fetchone()[0]:
        loaded, quarantined = conn.execute(stmts.with_duplicates, params).fetchone()
        return loaded, quarantined
    with conn.cursor() as cur:
        cur.execute(stmts.load_valid, params)
        loaded = cur.rowcount
        quarantined = 0
        if loaded < rows:
            cur.execute(stmts.quarantine_invalid, params)
            quarantined = cur.rowcount
    return loaded, quarantined


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------


def _load_file(
    conn: psycopg.Connection,
    ref: BatchRef,
    spec: SourceSpec,
    tab: TableSpec,
    path: Path,
    fmt: str,
    extracted_at: str | None,
    slot: int = 0,
) -> FileReport:
    """Load one file inside the batch's transaction (``slot``: the batch's row slot)."""
    started = time.perf_counter()
    rel = f"{ref.source}/{ref.batch_id}/{path.name}"
    landing = _read_landing(path, fmt, spec.encoding, rel)
    report = FileReport(file=rel, table=tab.name)
    if landing.header is None:
        report.parser, report.status = "none", "empty"
        return report
    header = landing.header
    layout = _layout(header, tab, rel)
    report.extra_columns = [name for name, _ in layout.extras]
    if not layout.extras:
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
    except psycopg.errors.DataError:
        # Bad bytes, broken quoting or a wrong field count somewhere in the file:
        # the savepoint is rolled back and the file is read record by record.
        report.parser = "python"
        records = _parse_slow(conn, landing, header, py_quarantine)
    if py_quarantine:
        now = conn.execute("select now()").fetchone()[0]
        with (
            conn.cursor() as cur,
            cur.copy(
                "copy raw._quarantine (source, table_name, batch_id, file, row_number, "
                "column_name, reason, raw_line, _loaded_at) from stdin"
            ) as copy,
        ):
            for row_number, column, reason, raw_line in py_quarantine:
                copy.write_row(
                    (
                        ref.source,
                        tab.name,
                        ref.batch_id,
                        rel,
                        row_number,
                        column,
                        reason,
                        raw_line,
                        now,
                    )
                )

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
            stmts = _typing_statements(tab, layout, ncols, raw_ident, careful=False)
            loaded, quarantined = _type_rows(conn, stmts, params, rows)
    except psycopg.errors.DataError:
        # A value did not cast: type again with casts that return null, so that the row
        # is quarantined instead of failing the file.
        report.typing = "careful"
        stmts = _typing_statements(tab, layout, ncols, raw_ident, careful=True)
        loaded, quarantined = _type_rows(conn, stmts, params, rows)
    conn.execute(f"drop table pg_temp.{_TMP}")
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


def _load_batch(
    conn: psycopg.Connection, ref: BatchRef, contract: Contract, alongside: bool = False
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
        previous = conn.execute(
            "select set_config('TimeZone', %s, true), set_config('DateStyle', %s, true), "
            "set_config('portrait.batch_id', %s, true), "
            "set_config('portrait.extracted_at', %s, true), "
            "set_config('portrait.row_slot', %s, true), "
            "exists (select from raw._batches where source = %s and batch_id = %s)",
            (
                spec.timezone,
                DATESTYLE,
                ref.batch_id,
                report.extracted_at or "",
                str(slot),
                ref.source,
                ref.batch_id,
            ),
        ).fetchone()[-1]
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
        loaded = {
            path: _load_file(conn, ref, spec, tab, path, fmt, report.extracted_at, slot)
            for tab, path, fmt in _load_order(files, alongside)
        }
        report.files = [loaded[path] for _, path, _ in files]
        if not report.reconciled:
            raise LoadError(f"{ref.source}/{ref.batch_id}: counts do not reconcile")
        if report.records == 0:
            report.status = "empty"
        elif report.quarantined:
            report.status = "loaded_with_quarantine"
        # The batch's row and its files' rows in one statement (one round trip).
        conn.execute(
            "with batch as (insert into raw._batches (source, batch_id, extracted_at, "
            "loaded_at, files, records, loaded, quarantined, status) "
            "values (%(source)s, %(batch_id)s, %(extracted_at)s, now(), %(files)s, "
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


@dataclass
class _Unit:
    """Batches one worker loads one after the other, in batch_id order."""

    refs: list[BatchRef]
    weight: int  # bytes of the batches' files: the biggest units are handed out first


def _batch_bytes(ref: BatchRef) -> int:
    try:
        return sum(e.stat().st_size for e in ref.path.iterdir() if e.is_file())
    except OSError:
        return 0


def _has_extracted_at(ref: BatchRef) -> bool:
    try:
        return _read_manifest(ref) is not None
    except LoadError:
        return False  # the batch fails when it loads; until then, keep its source in order


def _plan(refs: list[BatchRef]) -> list[_Unit]:
    """Split the batches into units that may load concurrently, biggest first.

    A batch without ``extracted_at`` gets ``_loaded_at`` as its versions' ``known_at``
    (dbt's version_columns), so the batches of a source with such a batch load one after
    the other, in batch_id order (one unit). When every batch of a source has
    ``extracted_at``, the order of their commits changes nothing in raw or downstream, and
    each batch is a unit of its own.
    """
    by_source: dict[str, list[BatchRef]] = {}
    for ref in refs:
        by_source.setdefault(ref.source, []).append(ref)
    units: list[_Unit] = []
    for group in by_source.values():
        group.sort(key=lambda r: r.batch_id)
        if len(group) > 1 and all(_has_extracted_at(r) for r in group):
            units += [_Unit([r], _batch_bytes(r)) for r in group]
        else:
            units.append(_Unit(group, sum(_batch_bytes(r) for r in group)))
    order = {ref: i for i, ref in enumerate(refs)}
    units.sort(key=lambda u: (-u.weight, order[u.refs[0]]))
    return units


def load_landing(
    dsn: str,
    landing_root: Path,
    *,
    sources: list[str] | None = None,
    batches: list[str] | None = None,
    progress: bool = True,
    contract: Contract | None = None,
    workers: int = 2,
) -> LoadReport:
    """Load every batch under ``landing_root`` (optionally only some sources / batch ids).

    Each batch loads in its own transaction. ``workers`` connections load batches
    concurrently, the biggest first: batches of different sources always, batches of one
    source too when all of them have ``extracted_at`` in their manifest (otherwise that
    source's batches load one after the other in batch_id order, see _plan). The report
    lists the batches in discovery order (batch_id, source), whatever the order of loading.

    A batch that fails with LoadError is rolled back; the batches of its source that have
    not started are not loaded (status ``skipped``), the other sources are loaded to the
    end, then one LoadError names every failed batch (``.report`` has all batches). Any
    other error stops the load: no new batch starts, the running ones finish, the error is
    raised as is.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    if workers < 1:
        raise ValueError(f"workers must be >= 1, not {workers}")
    contract = contract or load_contract()
    refs = discover_batches(Path(landing_root), contract, sources, batches)
    units = deque(_plan(refs))
    done: dict[BatchRef, BatchReport] = {}
    failed_sources: set[str] = set()
    errors: list[tuple[BatchRef, LoadError]] = []
    crashed: list[BaseException] = []
    busy: dict[str, int] = {}  # source -> workers loading one of its units
    lock = threading.Lock()
    bar = tqdm(total=len(refs), desc="loading batches", unit="batch", disable=not progress)

    def finish(ref: BatchRef, batch: BatchReport) -> None:
        with lock:
            done[ref] = batch
            bar.set_postfix_str(f"{ref.source}/{ref.batch_id}", refresh=False)
            bar.update()

    def next_ref(unit: _Unit) -> BatchRef | None:
        """The unit's next batch to load, or None (skipping what a failure stopped)."""
        while unit.refs:
            ref = unit.refs.pop(0)
            with lock:
                stop = crashed or ref.source in failed_sources
            if not stop:
                return ref
            if not crashed:
                finish(
                    ref,
                    BatchReport(
                        ref.source,
                        ref.batch_id,
                        status="skipped",
                        error="not loaded: an earlier batch of this source failed",
                    ),
                )
        return None

    def load_unit(unit: _Unit, conns: list[psycopg.Connection], alongside: bool) -> None:
        while (ref := next_ref(unit)) is not None:
            if not conns:
                conns.append(_connect(dsn))
            try:
                batch = _load_batch(conns[0], ref, contract, alongside)
            except LoadError as exc:
                with lock:
                    failed_sources.add(ref.source)
                    errors.append((ref, exc))
                finish(ref, BatchReport(ref.source, ref.batch_id, status="failed", error=str(exc)))
                continue
            except BaseException as exc:  # raised by load_landing once every worker stopped
                with lock:
                    crashed.append(exc)
                finish(ref, BatchReport(ref.source, ref.batch_id, status="failed", error=str(exc)))
                return
            finish(ref, batch)

    def work(conn: psycopg.Connection | None) -> None:
        """One worker: its own connection, units until none are left (or one crashed)."""
        conns = [conn] if conn is not None else []
        try:
            while True:
                with lock:
                    if crashed or not units:
                        return
                    # The biggest unit left, whatever its source: the biggest batches start
                    # first and the small ones fill in, so the workers finish together. A
                    # batch loading beside one of its own source takes its files in another
                    # order (see _load_order).
                    unit = units.popleft()
                    source = unit.refs[0].source
                    alongside = busy.get(source, 0) > 0
                    busy[source] = busy.get(source, 0) + 1
                try:
                    load_unit(unit, conns, alongside)
                finally:
                    with lock:
                        busy[source] -= 1
        finally:
            for c in conns:
                c.close()

    with bar:
        first = _connect(dsn)
        try:
            ensure_raw_schema(first, contract)
        except BaseException:
            first.close()
            raise
        n = max(1, min(workers, len(units)))
        if n == 1:
            work(first)
        else:
            with ThreadPoolExecutor(n, thread_name_prefix="portrait-load") as pool:
                futures = [pool.submit(work, first if i == 0 else None) for i in range(n)]
            for future in futures:
                future.result()
    report = LoadReport([done[ref] for ref in refs if ref in done])
    if crashed:
        exc = crashed[0]
        if isinstance(exc, LoadError):
            exc.report = report
        raise exc
    if errors:
        errors.sort(key=lambda e: refs.index(e[0]))
        if len(errors) == 1:
            message = str(errors[0][1])
        else:
            message = f"{len(errors)} batches failed:\n" + "\n".join(
                f"- {r.source}/{r.batch_id}: {exc}" for r, exc in errors
            )
        raise LoadError(message, report) from errors[0][1]
    return report


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
    path = Path(landing_root) / source / batch_id
    if not path.is_dir():
        raise LoadError(f"{path}: no such batch folder")
    with _connect(dsn) as conn:
        ensure_raw_schema(conn, contract)
        return _load_batch(conn, BatchRef(source, batch_id, path), contract)
