"""Property-based tests of the loader (hypothesis), on one database for the module.

- Generated files load the same rows whichever path reads them: as they are (the direct
  COPY when the bytes allow it), beside a row that sends the file to the careful COPY, and
  beside one that sends it to the record-by-record reader (issue 13, item 3).
- Any bytes in any cell: every record ends loaded or quarantined, exactly once, and the
  counts reconcile in the report, raw._batches and the tables; nothing escapes a batch.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sources.loader import load_batch
from tests.conftest import create_database
from tests.integration.test_loader import ACCOUNTS_HEADER, ORDERS_HEADER, TS

pytestmark = pytest.mark.integration

_batch_ids = itertools.count()
FUZZ = settings(
    max_examples=60,
    database=None,  # no example database left in the work tree
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def fuzz_db(pg_cluster) -> str:
    return create_database(pg_cluster, "loader_fuzz")


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz_landing")


def write_batch(root: Path, source: str, table: str, data: bytes) -> str:
    batch = f"b{next(_batch_ids):05d}"
    folder = root / source / batch
    folder.mkdir(parents=True)
    (folder / f"{table}.csv").write_bytes(data)
    return batch


def outcome(dsn: str, table: str, batch: str) -> tuple[dict[int, tuple], dict[int, str | None]]:
    """(row number -> loaded values, row number -> quarantined column) of one batch."""
    with psycopg.connect(dsn) as conn:
        loaded = conn.execute(
            f"select _row_number, to_jsonb(t) - '_loaded_at' - '_batch_id' - '_file' "
            f"from raw.{table} as t where _batch_id = %s",
            (batch,),
        ).fetchall()
        quarantined = conn.execute(
            "select row_number, column_name from raw._quarantine where batch_id = %s",
            (batch,),
        ).fetchall()
    return {n: v for n, v in loaded}, dict(quarantined)


def quote(cell: bytes) -> bytes:
    return b'"' + cell.replace(b'"', b'""') + b'"'


# ---- the fast and careful paths agree --------------------------------------------------

# Text that puts CSV's structural characters, blanks, PostgreSQL's \. marker, quotes where
# RFC 4180 does not put them and Chinese where they are tricky, among plain text (one cell
# in six is tricky, so that many files still take the direct COPY as they are); each cell
# is written quoted (RFC 4180), raw, or wrapped in quotes without doubling the ones inside.
# One line in ten is not a row but a line PostgreSQL treats specially (\. ends its COPY).
_PLAIN = st.text(alphabet=list("aZ0中- "), min_size=1, max_size=6)
_FRAGMENT = st.sampled_from(
    ['"Acme"Corp', ' "Beta"', 'Ga"mma', '"', '""', ",", "\r", "\n", "\r\n", "\n\\.\n", "\t"]
)
_TRICKY = st.lists(
    st.one_of(_FRAGMENT, _PLAIN, st.text(alphabet=list('",\n\r \t\\.a中'), max_size=4)),
    min_size=1,
    max_size=3,
).map("".join)


def _mostly(common: st.SearchStrategy, rare: st.SearchStrategy, odds: int) -> st.SearchStrategy:
    """``rare`` once in ``odds`` draws, else ``common``."""
    return st.sampled_from(range(odds)).flatmap(lambda i: rare if i == 0 else common)


_TEXT = _mostly(_PLAIN, _TRICKY, 6)
_CELL = st.tuples(_TEXT, st.sampled_from(["rfc", "rfc", "raw", "raw", "wrapped"]))
_ROW = st.tuples(
    _mostly(st.builds("A{}".format, st.integers(0, 10**6)), _TEXT, 8),
    _CELL,
    _mostly(st.just(TS), st.one_of(st.just("2024-02-30"), _TEXT), 8),
    _CELL,
)
_LINE = _mostly(_ROW, st.sampled_from(["\\.", "", " ", "\\.x"]), 10)


def _cell(text: str, how: str) -> str:
    if how == "rfc":
        return '"' + text.replace('"', '""') + '"'
    return f'"{text}"' if how == "wrapped" else text


@FUZZ
@given(lines=st.lists(_LINE, min_size=1, max_size=6), eol=st.sampled_from(["\n", "\r\n"]))
def test_every_path_reads_a_generated_file_the_same(fuzz_db, fuzz_root, lines, eol):
    body = "account_id,account_name,created_at,city" + eol
    for line in lines:
        if isinstance(line, str):
            body += line + eol
            continue
        key, name, created, city = line
        body += ",".join([key, _cell(*name), created, _cell(*city)]) + eol
    data = body.encode()
    variants = {
        "as_is": data,
        "beside_a_bad_value": data + f"A_bad,Bad,2024-02-30,x{eol}".encode(),
        "beside_bad_bytes": data + f"A_bad,Bad \xff,{TS},x{eol}".encode("latin-1"),
    }
    got = {}
    for name, content in variants.items():
        batch = write_batch(fuzz_root, "crm", "accounts", content)
        report = load_batch(fuzz_db, fuzz_root, "crm", batch)
        [f] = report.files
        assert f.reconciled, (name, f)
        got[name] = (f, *outcome(fuzz_db, "crm__accounts", batch))
    as_is, values, quarantined = got["as_is"]
    event(f"as is: {as_is.parser}")
    for name in ("beside_a_bad_value", "beside_bad_bytes"):
        f, other_values, other_quarantined = got[name]
        assert f.records == as_is.records + 1, (name, f, as_is)
        extra = f.records
        assert other_quarantined.pop(extra, "missing") != "missing", name
        other_values = {n: v for n, v in other_values.items() if n != extra}
        assert other_values == values, (name, f.parser, as_is.parser)
        assert other_quarantined == quarantined, (name, f.parser, as_is.parser)
    assert got["beside_bad_bytes"][0].parser == "python"


# ---- any bytes in any cell ----------------------------------------------------------------

_VALID_ORDER = [b"O1", b"C1", TS.encode(), b"confirmed", b"3", b"12.50", b""]
_ANY = st.binary(max_size=8)


@st.composite
def _orders_row(draw) -> list[bytes]:
    return [draw(st.one_of(st.just(v), st.just(v), _ANY)) for v in _VALID_ORDER]


@FUZZ
@given(
    rows=st.lists(_orders_row(), min_size=1, max_size=5),
    quoted=st.booleans(),
    eol=st.sampled_from([b"\n", b"\r\n"]),
    source=st.sampled_from(["erp", "crm"]),
)
def test_any_bytes_in_any_cell_end_loaded_or_quarantined_once(
    fuzz_db, fuzz_root, rows, quoted, eol, source
):
    if source == "erp":
        table, header = "orders", ORDERS_HEADER.encode()
    else:  # a UTF-8 source: the same cells under the accounts' first columns
        table, header = "accounts", ACCOUNTS_HEADER.encode() + b",city,province,industry,phone"
    lines = [header]
    for i, row in enumerate(rows):
        cells = [b"O%d" % i if row[0] == b"O1" else row[0], *row[1:]]
        lines.append(b",".join(quote(c) if quoted else c for c in cells))
    data = eol.join(lines) + eol
    batch = write_batch(fuzz_root, source, table, data)

    report = load_batch(fuzz_db, fuzz_root, source, batch)  # never raises

    [f] = report.files
    assert f.loaded + f.quarantined == f.records
    if quoted:  # every record is one generated row
        assert f.records == len(rows)
    loaded, quarantined = outcome(fuzz_db, f"{source}__{table}", batch)
    assert len(loaded) == f.loaded and len(quarantined) == f.quarantined
    assert loaded.keys() | quarantined.keys() == set(range(1, f.records + 1))
    assert not loaded.keys() & quarantined.keys()
    with psycopg.connect(fuzz_db) as conn:
        ledger = conn.execute(
            "select records, loaded, quarantined from raw._batches "
            "where source = %s and batch_id = %s",
            (source, batch),
        ).fetchall()
        quarantine_rows = conn.execute(
            "select count(*) from raw._quarantine where source = %s and batch_id = %s",
            (source, batch),
        ).fetchone()[0]
    assert ledger == [(f.records, f.loaded, f.quarantined)]
    assert quarantine_rows == f.quarantined
