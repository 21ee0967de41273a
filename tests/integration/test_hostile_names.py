"""Hostile names through the loader and the CLI (issue 15, injection): quotes, ``;``, ``--``,
``..``, full-width and right-to-left characters, emoji, NUL and 2,000 characters as landing
file names, source/batch folder names, CSV header names, cell values, batch ids and CLI
arguments. Each is refused with a message naming the file or column, or stored verbatim;
no statement is ever injected (the sentinel table ``pwned`` never appears, raw keeps its
rows)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from sources.contract import ContractError, parse_contract
from sources.loader import LoadError, load_batch, load_landing

pytestmark = pytest.mark.integration

TS = "2024-03-01T09:30:00+08:00"
INJECT_SINGLE = "x'); create table pwned (); --"
INJECT_DOUBLE = 'x"; create table pwned (); --'
# Names that must never run as SQL: (case id, name). File names are limited to 255 bytes by
# the file system, so the long name is 2,000 characters only where no file system is involved.
HOSTILE = [
    ("single quote", INJECT_SINGLE),
    ("double quote", INJECT_DOUBLE),
    ("semicolon", "a;b"),
    ("comment", "-- c"),
    ("dots", ".."),
    ("dot dot slash", "../raw"),
    ("full width", "全角ａｃｃｏｕｎｔｓ"),
    ("rtl marks", "\u202eacco\u200funts"),
    ("emoji", "🔥💣"),
    ("nul", "a\x00b"),
    ("2000 chars", "長" * 2000),
]
# as a file or folder name: no "/" (a path separator) and no NUL (the OS refuses both)
PATH_SAFE = [(k, v) for k, v in HOSTILE if "/" not in v and "\x00" not in v and v != ".."]


def fs_name(value: str) -> str:
    """The longest prefix of value that is a valid file name (255 bytes)."""
    out = ""
    for ch in value:
        if len((out + ch + ".csv").encode()) > 255:
            break
        out += ch
    return out


def put(root: Path, source: str, batch: str, name: str, text: str) -> Path:
    folder = root / source / batch
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(text.encode("utf-8", errors="surrogatepass"))
    return folder / name


def accounts(*rows: str, header: str = "account_id,account_name,created_at") -> str:
    return "\n".join([header, *rows]) + "\n"


def seeded(dsn: str, root: Path) -> int:
    """Load one clean batch (so that a hostile one has something to destroy); raw's rows."""
    put(root, "crm", "b0", "accounts.csv", accounts(f"A0,Acme,{TS}"))
    load_landing(dsn, root, progress=False)
    shutil_rmtree(root / "crm" / "b0")
    return raw_rows(dsn)


def shutil_rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path)


def raw_rows(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("select count(*) from raw.crm__accounts").fetchone()[0]


def not_injected(dsn: str, rows: int | None = None) -> None:
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select to_regclass('public.pwned')").fetchone()[0] is None
        assert conn.execute("select to_regclass('raw.pwned')").fetchone()[0] is None
    if rows is not None:
        assert raw_rows(dsn) >= rows


def load_errors(dsn: str, root: Path) -> list[str]:
    """The failure lines of a load of everything under root (empty if all loaded)."""
    try:
        load_landing(dsn, root, progress=False)
    except LoadError as exc:
        if exc.report is None:
            return [str(exc)]
        return exc.report.failures()
    return []


# ---- landing file names ------------------------------------------------------------------


@pytest.mark.parametrize("case,name", PATH_SAFE, ids=[k for k, _ in PATH_SAFE])
def test_hostile_file_name_fails_its_batch_naming_the_file(fresh_db, tmp_path, case, name):
    before = seeded(fresh_db, tmp_path)
    file_name = fs_name(name) + ".csv"
    put(tmp_path, "crm", "b1", file_name, accounts(f"A1,Acme,{TS}"))
    errors = load_errors(fresh_db, tmp_path)
    assert len(errors) == 1
    assert "unknown table" in errors[0] and "crm/b1/" in errors[0]
    assert len(errors[0]) < 2000 or case == "2000 chars"
    not_injected(fresh_db, before)


# ---- source and batch folder names -------------------------------------------------------


@pytest.mark.parametrize("case,name", PATH_SAFE, ids=[k for k, _ in PATH_SAFE])
def test_hostile_source_folder_is_refused_naming_it(fresh_db, tmp_path, case, name):
    before = seeded(fresh_db, tmp_path)
    put(tmp_path, fs_name(name), "b1", "accounts.csv", accounts(f"A1,Acme,{TS}"))
    errors = load_errors(fresh_db, tmp_path)
    assert len(errors) == 1 and "unknown source folder" in errors[0]
    not_injected(fresh_db, before)


@pytest.mark.parametrize("case,name", PATH_SAFE, ids=[k for k, _ in PATH_SAFE])
def test_hostile_batch_folder_is_refused_naming_it(fresh_db, tmp_path, case, name):
    before = seeded(fresh_db, tmp_path)
    put(tmp_path, "crm", fs_name(name), "accounts.csv", accounts(f"A1,Acme,{TS}"))
    errors = load_errors(fresh_db, tmp_path)
    assert len(errors) == 1 and "must consist of [A-Za-z0-9_.-]" in errors[0], errors
    not_injected(fresh_db, before)
    with psycopg.connect(fresh_db) as conn:  # its failure is recorded, the name verbatim
        failed = conn.execute(
            "select batch_id, status from raw._batches where batch_id <> 'b0'"
        ).fetchall()
    assert failed == [(fs_name(name), "failed")]


@pytest.mark.parametrize("batch", ["a..b", "-rf", "1e5", "_", "x" * 200, "2024-03-01T0000.1"])
def test_odd_but_valid_batch_ids_are_stored_verbatim(fresh_db, tmp_path, batch):
    put(tmp_path, "crm", batch, "accounts.csv", accounts(f"A1,Acme,{TS}"))
    load_landing(fresh_db, tmp_path, progress=False)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("select batch_id from raw._batches").fetchall() == [(batch,)]
        assert conn.execute("select _batch_id from raw.crm__accounts").fetchall() == [(batch,)]


@pytest.mark.parametrize("case,name", HOSTILE, ids=[k for k, _ in HOSTILE])
def test_hostile_batch_id_given_to_load_batch_is_refused(fresh_db, tmp_path, case, name):
    before = seeded(fresh_db, tmp_path)
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS}"))
    with pytest.raises(LoadError) as err:
        load_batch(fresh_db, tmp_path, "crm", name)
    message = str(err.value)
    assert "must consist of [A-Za-z0-9_.-]" in message or "no such batch folder" in message
    assert len(message) < 400
    not_injected(fresh_db, before)


# ---- CSV header names and cell values ----------------------------------------------------


def csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@pytest.mark.parametrize("case,name", HOSTILE, ids=[k for k, _ in HOSTILE])
def test_hostile_extra_column_name_is_stored_verbatim_or_refused(fresh_db, tmp_path, case, name):
    before = seeded(fresh_db, tmp_path)
    header = f"account_id,account_name,created_at,{csv_field(name)}"
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS},v", header=header))
    errors = load_errors(fresh_db, tmp_path)
    not_injected(fresh_db, before)
    if "\x00" in name:
        # PostgreSQL text cannot hold NUL: the header is refused, naming the file
        assert len(errors) == 1 and "crm/b1/accounts.csv" in errors[0], errors
        assert "\x00" not in errors[0]
        return
    assert errors == []
    with psycopg.connect(fresh_db) as conn:
        (extra,) = conn.execute(
            "select _extra from raw.crm__accounts where account_id = 'A1'"
        ).fetchone()
        (listed,) = conn.execute(
            "select extra_columns from raw._batch_files where batch_id = 'b1'"
        ).fetchone()
    assert extra == {name: "v"} and listed == [name]


@pytest.mark.parametrize("case,name", HOSTILE, ids=[k for k, _ in HOSTILE])
def test_hostile_cell_value_is_stored_verbatim_or_quarantined(fresh_db, tmp_path, case, name):
    before = seeded(fresh_db, tmp_path)
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f"A1,{csv_field(name)},{TS}"))
    errors = load_errors(fresh_db, tmp_path)
    assert errors == []
    not_injected(fresh_db, before)
    with psycopg.connect(fresh_db) as conn:
        stored = conn.execute(
            "select account_name from raw.crm__accounts where account_id = 'A1'"
        ).fetchall()
        quarantined = conn.execute(
            "select column_name, reason from raw._quarantine where batch_id = 'b1'"
        ).fetchall()
    if "\x00" in name:
        assert stored == [] and len(quarantined) == 1
    else:
        assert stored == [(name,)] and quarantined == []


def test_a_header_that_repeats_a_hostile_name_is_refused_with_a_short_message(fresh_db, tmp_path):
    name = "長" * 2000
    header = f"account_id,account_name,created_at,{name},{name}"
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS},a,b", header=header))
    errors = load_errors(fresh_db, tmp_path)
    assert len(errors) == 1 and "appears twice in the header" in errors[0]
    assert len(errors[0]) < 1000


# ---- the manifest ------------------------------------------------------------------------


@pytest.mark.parametrize("case,name", HOSTILE, ids=[k for k, _ in HOSTILE])
def test_hostile_manifest_values_are_refused_naming_the_manifest(fresh_db, tmp_path, case, name):
    before = seeded(fresh_db, tmp_path)
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS}"))
    manifest = {"batch_id": name, "extracted_at": name}
    put(tmp_path, "crm", "b1", "_batch.json", json.dumps(manifest))
    errors = load_errors(fresh_db, tmp_path)
    assert len(errors) == 1 and "crm/b1/_batch.json" in errors[0]
    assert len(errors[0]) < 1000
    not_injected(fresh_db, before)


# ---- the contract ------------------------------------------------------------------------


@pytest.mark.parametrize("case,name", HOSTILE, ids=[k for k, _ in HOSTILE])
def test_hostile_contract_names_are_refused(case, name):
    def contract(source="x", table="t", column="c"):
        return {"sources": {source: {"tables": {table: {"columns": {column: {}}}}}}}

    for kwargs in ({"source": name}, {"table": name}, {"column": name}):
        with pytest.raises(ContractError) as err:
            parse_contract(contract(**kwargs))
        assert "name" in str(err.value) and len(str(err.value)) < 400


def test_contract_names_that_postgres_would_cut_are_refused():
    long = "t" * 60
    with pytest.raises(ContractError, match="longer than"):
        parse_contract({"sources": {"x": {"tables": {long: {"columns": {"c": {}}}}}}})


# ---- the command line --------------------------------------------------------------------


def invoke(dsn: str, args: list[str]):
    from typer.testing import CliRunner

    from portrait.cli import app
    from portrait.settings import get_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PORTRAIT_WAREHOUSE_URL", dsn)
        mp.setenv("COLUMNS", "400")  # typer's error box must not wrap the message
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(app, args)
        finally:
            get_settings.cache_clear()


CLI_HOSTILE = [(k, v) for k, v in HOSTILE if "\x00" not in v]  # argv cannot hold NUL


@pytest.mark.parametrize("case,name", CLI_HOSTILE, ids=[k for k, _ in CLI_HOSTILE])
def test_cli_load_with_hostile_source_or_batch(fresh_db, tmp_path, case, name):
    before = seeded(fresh_db, tmp_path)
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS}"))
    result = invoke(fresh_db, ["load", "--landing", str(tmp_path), "--source", name])
    assert result.exit_code == 1 and "unknown source(s)" in result.output
    assert "Traceback" not in result.output
    result = invoke(fresh_db, ["load", "--landing", str(tmp_path), "--batch", name])
    assert result.exit_code == 0 and "Traceback" not in result.output  # no such batch: none
    not_injected(fresh_db, before)
    assert raw_rows(fresh_db) == before


@pytest.mark.parametrize("case,name", CLI_HOSTILE, ids=[k for k, _ in CLI_HOSTILE])
def test_cli_forget_with_a_hostile_contact_is_refused(fresh_db, tmp_path, case, name):
    before = seeded(fresh_db, tmp_path)
    result = invoke(fresh_db, ["forget", "--contact", name])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("failed: ") and "Traceback" not in result.output
    assert len(result.output) < 400
    not_injected(fresh_db, before)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("select count(*) from governance.erasures").fetchone()[0] == 0


@pytest.mark.parametrize("case,name", CLI_HOSTILE, ids=[k for k, _ in CLI_HOSTILE])
def test_cli_dates_are_refused_before_any_sql(case, name):
    result = invoke(
        "postgresql://nobody@127.0.0.1:1/none", ["models", "score", "t", "--as-of-date", name]
    )
    assert result.exit_code == 2
    assert "is not a date (YYYY-MM-DD)" in result.output and "Traceback" not in result.output
