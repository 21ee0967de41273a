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

from sources.loader.discovery import BATCH_ID_RE, FORMATS, MANIFEST, BatchRef, discover_batches
from sources.loader.erasures import ERASED_KINDS, ERASED_LINE, apply_erasures
from sources.loader.loading import DATESTYLE, load_batch
from sources.loader.reading import COPY_CHUNK, RAW_LINE_MAX, VALUE_MAX
from sources.loader.report import BatchReport, FileReport, LoadError, LoadReport
from sources.loader.scheduling import load_landing
from sources.loader.schema import (
    DIRECT_TRIGGER,
    META_COLUMNS,
    META_DEFAULTS,
    ROW_SLOT_LOCK,
    ROW_SLOTS,
    ensure_raw_schema,
)

__all__ = [
    "BATCH_ID_RE",
    "COPY_CHUNK",
    "DATESTYLE",
    "DIRECT_TRIGGER",
    "ERASED_KINDS",
    "ERASED_LINE",
    "FORMATS",
    "MANIFEST",
    "META_COLUMNS",
    "META_DEFAULTS",
    "RAW_LINE_MAX",
    "ROW_SLOTS",
    "ROW_SLOT_LOCK",
    "VALUE_MAX",
    "BatchRef",
    "BatchReport",
    "FileReport",
    "LoadError",
    "LoadReport",
    "apply_erasures",
    "discover_batches",
    "ensure_raw_schema",
    "load_batch",
    "load_landing",
]
