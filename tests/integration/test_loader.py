"""The loader against a real PostgreSQL: happy path, the bad-input matrix, atomicity."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from sources import loader
from sources.contract import load_contract, parse_contract
from sources.loader import (
    LoadError,
    ensure_raw_schema,
    load_batch,
    load_landing,
    loading,
    scheduling,
)

pytestmark = pytest.mark.integration

ORDERS_HEADER = "order_id,customer_code,ordered_at,status,change_count,total_amount_cny,updated_at"
CUSTOMERS_HEADER = "customer_code,customer_name,created_at"
ACCOUNTS_HEADER = "account_id,account_name,created_at"
TS = "2024-03-01T09:30:00+08:00"


def put(root: Path, source: str, batch: str, name: str, content: str | bytes, encoding="utf-8"):
    """Write one landing file (text is encoded with the given encoding)."""
    folder = root / source / batch
    folder.mkdir(parents=True, exist_ok=True)
    data = content if isinstance(content, bytes) else content.encode(encoding)
    (folder / name).write_bytes(data)
    return folder / name


def orders(*rows: str) -> str:
    return "\n".join([ORDERS_HEADER, *rows]) + "\n"


def good_order(i: int) -> str:
    return f"O{i},C{i},{TS},confirmed,0,{i}00.50,"


def query(dsn: str, sql: str, params=()):
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def quarantine(dsn: str):
    return query(
        dsn,
        "select file, row_number, column_name, reason, raw_line from raw._quarantine "
        "order by file, row_number",
    )


def file_report(report, name: str):
    return next(f for _, f in report.files if f.file.endswith(name))


def assert_reconciled(report):
    assert report.reconciled
    for _, f in report.files:
        assert f.loaded + f.quarantined == f.records, f


# ---- happy path --------------------------------------------------------------------------


def test_clean_batch_loads_typed_rows_with_bookkeeping(fresh_db, tmp_path):
    put(tmp_path, "erp", "20240301", "orders.csv", orders(good_order(1), good_order(2)), "gb18030")
    put(
        tmp_path,
        "erp",
        "20240301",
        "_batch.json",
        json.dumps({"batch_id": "20240301", "source": "erp", "extracted_at": TS}),
    )
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.records, report.loaded, report.quarantined) == (2, 2, 0)
    rows = query(
        fresh_db,
        "select order_id, total_amount_cny, ordered_at = %s::timestamptz, _batch_id, _file, "
        "_row_number, _extracted_at = %s::timestamptz, _extra from raw.erp__orders "
        "order by _row_number",
        (TS, TS),
    )
    assert rows[0][:7] == (
        "O1",
        pytest.approx(100.5),
        True,
        "20240301",
        "erp/20240301/orders.csv",
        1,
        True,
    )
    assert rows[0][7] is None
    assert query(fresh_db, "select records, loaded, quarantined, status from raw._batches") == [
        (2, 2, 0, "loaded")
    ]
    # every contract table exists, so any subset of sources still gives dbt its sources
    tables = {
        r[0] for r in query(fresh_db, "select tablename from pg_tables where schemaname = 'raw'")
    }
    assert {"crm__accounts", "registry__companies", "_quarantine", "_batch_files"} <= tables
    json.dumps(report.to_dict())
    assert "orders.csv" in report.summary() and "reconciled" in report.summary()


def test_gb18030_chinese_text_round_trips_exactly(fresh_db, tmp_path):
    names = [
        "杭州煜涵新材料有限公司",
        "北京中材碳纤维(集团)股份有限公司",
        "𠀀𠀁 扩展B区",
        "“引号”，逗号",
    ]
    body = "\n".join([CUSTOMERS_HEADER] + [f'C{i},"{n}",{TS}' for i, n in enumerate(names)])
    put(tmp_path, "erp", "b1", "customers.csv", body + "\n", "gb18030")
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert report.loaded == len(names)
    got = [
        r[0]
        for r in query(
            fresh_db, "select customer_name from raw.erp__customers order by _row_number"
        )
    ]
    assert got == names


def test_columns_in_any_order_and_optional_columns_missing(fresh_db, tmp_path):
    put(
        tmp_path, "crm", "b1", "accounts.csv", f"created_at,account_name,account_id\n{TS},Acme,A1\n"
    )
    load_landing(fresh_db, tmp_path, progress=False)
    assert query(fresh_db, "select account_id, account_name, city from raw.crm__accounts") == [
        ("A1", "Acme", None)
    ]


def test_parquet_file_loads_like_csv(fresh_db, tmp_path):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "registry" / "b1"
    folder.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "credit_code": ["91330100MA2XXXXXX1"],
                "legal_name": ["杭州煜涵新材料有限公司"],
                "founded_date": [dt.date(2015, 6, 1)],
                "registered_capital_cny": [5000000.0],
                "updated_at": [dt.datetime(2024, 3, 1, 1, 30, tzinfo=dt.UTC)],
            }
        ),
        folder / "companies.parquet",
    )
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert query(
        fresh_db,
        "select legal_name, founded_date::text, registered_capital_cny "
        "from raw.registry__companies",
    ) == [("杭州煜涵新材料有限公司", "2015-06-01", 5000000)]


# ---- bad input: rows are quarantined with a reason, counts reconcile ---------------------


def test_bytes_invalid_in_gb18030_are_quarantined_naming_row_and_column(fresh_db, tmp_path):
    body = (
        orders(good_order(1)).encode("gb18030")
        + b"O2,C2,"
        + TS.encode()
        + b",caf\xe9,0,1,\n"  # latin-1 byte, invalid in GB18030
        + good_order(3).encode()
        + b"\n"
    )
    put(tmp_path, "erp", "b1", "orders.csv", body)
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    f = file_report(report, "orders.csv")
    assert (f.records, f.loaded, f.quarantined, f.parser) == (3, 2, 1, "python")
    [(file, row, column, reason, raw_line)] = quarantine(fresh_db)
    assert (file, row, column) == ("erp/b1/orders.csv", 2, "status")
    assert "line 3" in reason and "gb18030" in reason and "caf\\xe9" in reason
    assert "caf\\xe9" in raw_line


def test_invalid_utf8_in_crm_file_is_quarantined(fresh_db, tmp_path):
    body = (
        f"{ACCOUNTS_HEADER}\nA1,Acme,{TS}\n".encode()
        + b"A2,Bad \xff\xfe name,"
        + TS.encode()
        + b"\n"
    )
    put(tmp_path, "crm", "b1", "accounts.csv", body)
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.loaded, report.quarantined) == (1, 1)
    [(_, row, column, reason, _)] = quarantine(fresh_db)
    assert (row, column) == (2, "account_name")
    assert "utf-8" in reason and "\\xff" in reason


def test_unterminated_quote_quarantines_only_its_line(fresh_db, tmp_path):
    body = (
        f'{ACCOUNTS_HEADER}\nA1,Acme,{TS}\nA2,"Broken,{TS}\nA3,Fine,{TS}\nA4,"Multi\nline",{TS}\n'
    )
    put(tmp_path, "crm", "b1", "accounts.csv", body)
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.records, report.loaded, report.quarantined) == (4, 3, 1)
    [(_, row, _, reason, raw_line)] = quarantine(fresh_db)
    assert row == 2 and "line 3" in reason and "malformed CSV" in reason
    assert raw_line == f'A2,"Broken,{TS}'
    names = [
        r[0]
        for r in query(fresh_db, "select account_name from raw.crm__accounts order by _row_number")
    ]
    assert names == ["Acme", "Fine", "Multi\nline"]


def test_wrong_field_count_is_quarantined(fresh_db, tmp_path):
    body = f"{ACCOUNTS_HEADER}\nA1,Acme,{TS}\nA2,Too,many,{TS}\nA3\nA4,Ok,{TS}\n"
    put(tmp_path, "crm", "b1", "accounts.csv", body)
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.loaded, report.quarantined) == (2, 2)
    reasons = {row: reason for _, row, _, reason, _ in quarantine(fresh_db)}
    assert "4 fields but the header has 3 columns" in reasons[2]
    assert "1 fields but the header has 3 columns" in reasons[3]


def test_values_that_do_not_fit_their_type_are_quarantined(fresh_db, tmp_path):
    put(
        tmp_path,
        "erp",
        "b1",
        "orders.csv",
        orders(
            good_order(1),
            f"O2,C2,{TS},confirmed,two,5,",  # integer
            f'O3,C3,{TS},confirmed,0,"1,234.5",',  # numeric with a thousands separator
            "O4,C4,01/03/2024 09:30,confirmed,0,5,",  # day/month order: ambiguous
            f"O5,C5,{TS},confirmed,0,NaN,",  # NaN
            f"O6,,{TS},confirmed,0,5,",  # required value empty
            "O7,C7,2024-02-30T10:00:00+08:00,confirmed,0,5,",  # impossible timestamp
        ),
        "gb18030",
    )
    put(
        tmp_path,
        "registry",
        "b1",
        "companies.csv",
        "credit_code,legal_name,founded_date\nX1,A,2015-06-01\nX2,B,2015-02-30\nX3,C,01/06/2015\n",
    )
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert file_report(report, "orders.csv").typing == "careful"
    q = {
        (Path(file).name, row): (column, reason)
        for file, row, column, reason, _ in quarantine(fresh_db)
    }
    assert q[("orders.csv", 2)] == ("change_count", "column change_count: 'two' is not an integer")
    assert (
        q[("orders.csv", 3)][0] == "total_amount_cny"
        and "'1,234.5' is not a number" in q[("orders.csv", 3)][1]
    )
    assert (
        q[("orders.csv", 4)][0] == "ordered_at"
        and "'01/03/2024 09:30' is not a valid timestamp" in q[("orders.csv", 4)][1]
    )
    assert q[("orders.csv", 5)][0] == "total_amount_cny"
    assert q[("orders.csv", 6)] == ("customer_code", "required column customer_code is empty")
    assert (
        q[("orders.csv", 7)][0] == "ordered_at"
        and "is not a valid timestamp" in q[("orders.csv", 7)][1]
    )
    assert (
        q[("companies.csv", 2)][0] == "founded_date"
        and "'2015-02-30' is not a valid date" in q[("companies.csv", 2)][1]
    )
    assert q[("companies.csv", 3)][0] == "founded_date"
    assert query(fresh_db, "select order_id from raw.erp__orders") == [("O1",)]
    assert query(fresh_db, "select credit_code from raw.registry__companies") == [("X1",)]


def test_timestamp_without_offset_is_read_in_the_source_time_zone(fresh_db, tmp_path):
    put(
        tmp_path,
        "erp",
        "b1",
        "orders.csv",
        orders(
            "O1,C1,2024-03-01 09:30:00,confirmed,0,5,2024-03-01T09:30",
            "O2,C2,2024-03-01T09:30:00Z,confirmed,0,5,",
        ),
        "gb18030",
    )
    report = load_landing(fresh_db, tmp_path, progress=False)
    f = file_report(report, "orders.csv")
    assert (f.loaded, f.quarantined, f.parser) == (2, 0, "direct")
    rows = query(
        fresh_db,
        "select order_id, to_char(ordered_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI'), "
        "to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') "
        "from raw.erp__orders order by 1",
    )
    # Asia/Shanghai (the default) is UTC+8; a value with an offset keeps its instant
    assert rows == [
        ("O1", "2024-03-01 01:30", "2024-03-01 01:30"),
        ("O2", "2024-03-01 09:30", None),
    ]


def test_time_zone_is_per_source_and_used_on_the_careful_path_too(fresh_db, tmp_path):
    import yaml

    from sources.contract import CONTRACT_PATH

    data = yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8"))
    data["sources"]["crm"]["timezone"] = "Europe/Berlin"
    contract = parse_contract(data)
    put(tmp_path, "crm", "b1", "accounts.csv", f"{ACCOUNTS_HEADER}\nA1,Acme,2024-03-01 09:30\n")
    body = f"{ACCOUNTS_HEADER}\nA1,Acme,2024-03-01 09:30\nA2,Bad,2024-02-30 09:30\n"
    put(tmp_path, "crm", "b2", "accounts.csv", body)
    report = load_landing(fresh_db, tmp_path, progress=False, contract=contract)
    assert [f.parser for _, f in report.files] == ["direct", "copy"]
    assert query(
        fresh_db,
        "select _batch_id, to_char(created_at at time zone 'UTC', 'HH24:MI') "
        "from raw.crm__accounts order by 1",
    ) == [("b1", "08:30"), ("b2", "08:30")]  # Berlin is UTC+1 in March


def test_clean_file_takes_the_direct_path_and_a_bad_value_the_careful_one(fresh_db, tmp_path):
    good = [good_order(i) for i in range(1, 6)] + ['O6,C6,2024-03-01 09:30,"",,"7",']
    put(tmp_path, "erp", "b1", "orders.csv", orders(*good), "gb18030")
    put(
        tmp_path,
        "erp",
        "b2",
        "orders.csv",
        orders(*good[:3], f"O9,C9,{TS},confirmed,x,5,", *good[3:]),
        "gb18030",
    )
    put(tmp_path, "erp", "b2", "_batch.json", json.dumps({"extracted_at": TS}))
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    b1, b2 = (f for _, f in report.files)
    assert (b1.parser, b1.typing, b1.records, b1.loaded, b1.quarantined) == (
        "direct",
        "direct",
        6,
        6,
        0,
    )
    assert (b2.parser, b2.typing, b2.records, b2.loaded, b2.quarantined) == (
        "copy",
        "careful",
        7,
        6,
        1,
    )
    assert query(fresh_db, "select file, parser from raw._batch_files order by 1") == [
        ("erp/b1/orders.csv", "direct"),
        ("erp/b2/orders.csv", "copy"),
    ]
    cols = (
        "order_id, customer_code, ordered_at, status, change_count, total_amount_cny, "
        "updated_at, _file, _row_number, _extracted_at, _extra, _loaded_at is not null"
    )
    rows = {
        batch: query(
            fresh_db,
            f"select {cols} from raw.erp__orders where _batch_id = %s order by order_id",
            (batch,),
        )
        for batch in ("b1", "b2")
    }
    strip = [(r[:7], r[10:]) for r in rows["b1"]]
    assert strip == [(r[:7], r[10:]) for r in rows["b2"]]
    assert rows["b1"][5][:7] == ("O6", "C6", rows["b1"][5][2], None, None, 7, None)
    assert [r[7:9] for r in rows["b1"]] == [("erp/b1/orders.csv", i) for i in range(1, 7)]
    # the careful file's row numbers count the quarantined record too
    assert [r[8] for r in rows["b2"]] == [1, 2, 3, 5, 6, 7]
    assert {r[9] for r in rows["b1"]} == {None}
    assert {r[9] for r in rows["b2"]} == {datetime.fromisoformat(TS)}
    # the bookkeeping defaults do not leak outside a load
    with psycopg.connect(fresh_db) as conn:
        conn.execute("insert into raw.erp__orders (order_id) values ('X')")
        assert conn.execute(
            "select _batch_id, _file, _extracted_at from raw.erp__orders where order_id = 'X'"
        ).fetchone() == (None, None, None)
        conn.rollback()


def test_rows_the_careful_path_would_quarantine_send_the_file_there(fresh_db, tmp_path):
    put(
        tmp_path,
        "crm",
        "b1",
        "accounts.csv",
        f"{ACCOUNTS_HEADER}\nA1,Acme,{TS}\nA2,   ,{TS}\n",  # blank required text
    )
    put(tmp_path, "crm", "b1", "contacts.csv", f"contact_id,account_id,created_at\nP1,A1,{TS}\n")
    put(
        tmp_path,
        "crm",
        "b1",
        "interactions.csv",
        f"interaction_id,account_id,occurred_at\nI1,A1,{TS}\nI2,A1,infinity\n",
    )
    put(tmp_path, "erp", "b1", "orders.csv", orders(f"O1,C1,{TS},confirmed,0,NaN,"), "gb18030")
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    got = {Path(f.file).name: (f.parser, f.loaded, f.quarantined) for _, f in report.files}
    assert got == {
        "accounts.csv": ("copy", 1, 1),
        "contacts.csv": ("direct", 1, 0),
        "interactions.csv": ("copy", 1, 1),
        "orders.csv": ("copy", 0, 1),
    }
    reasons = {(Path(f).name, c) for f, _, c, _, _ in quarantine(fresh_db)}
    assert reasons == {
        ("accounts.csv", "account_name"),
        ("interactions.csv", "occurred_at"),
        ("orders.csv", "total_amount_cny"),
    }


def test_duplicate_key_keeps_the_first_row(fresh_db, tmp_path):
    put(
        tmp_path,
        "erp",
        "b1",
        "order_lines.csv",
        "order_id,line_no,material_id,quantity,unit_price_cny,amount_cny\n"
        "O1,1,M1,2,10,20\nO1,2,M1,1,10,10\nO1,01,M9,5,10,50\n",
        "gb18030",
    )
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.loaded, report.quarantined) == (2, 1)
    assert file_report(report, "order_lines.csv").parser == "copy"  # the check sent it there
    [(_, row, column, reason, _)] = quarantine(fresh_db)
    assert row == 3 and column == "order_id"
    assert "duplicate key (order_id=O1, line_no=1)" in reason and "row 1 was kept" in reason
    assert query(fresh_db, "select material_id from raw.erp__order_lines where line_no = 1") == [
        ("M1",)
    ]


def test_extra_column_is_kept_in_extra_and_reported(fresh_db, tmp_path):
    put(
        tmp_path,
        "crm",
        "b1",
        "accounts.csv",
        f"account_id,wechat_id,account_name,created_at\nA1,wx_1,Acme,{TS}\n",
    )
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert file_report(report, "accounts.csv").extra_columns == ["wechat_id"]
    assert query(fresh_db, "select _extra from raw.crm__accounts") == [({"wechat_id": "wx_1"},)]
    assert query(fresh_db, "select extra_columns from raw._batch_files") == [(["wechat_id"],)]


def test_empty_files_are_fine(fresh_db, tmp_path):
    put(tmp_path, "crm", "b1", "accounts.csv", b"")
    put(tmp_path, "crm", "b1", "contacts.csv", "contact_id,account_id,created_at\n")
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert [f.status for _, f in report.files] == ["empty", "empty"]
    assert report.batches[0].status == "empty"
    assert query(fresh_db, "select files, records from raw._batches") == [(2, 0)]


# ---- bad input that fails the batch ------------------------------------------------------


def test_missing_required_column_fails_the_batch_and_keeps_earlier_content(fresh_db, tmp_path):
    put(tmp_path, "erp", "b1", "orders.csv", orders(good_order(1), good_order(2)), "gb18030")
    load_landing(fresh_db, tmp_path, progress=False)
    put(tmp_path, "erp", "b1", "customers.csv", f"{CUSTOMERS_HEADER}\nC9,新客户,{TS}\n", "gb18030")
    put(
        tmp_path,
        "erp",
        "b1",
        "orders.csv",
        "order_id,customer_code,ordered_at\nO3,C3," + TS + "\n",
        "gb18030",
    )
    with pytest.raises(
        LoadError, match=r"erp/b1/orders\.csv: required column 'total_amount_cny' missing"
    ) as err:
        load_landing(fresh_db, tmp_path, progress=False)
    assert err.value.report.batches[-1].status == "failed"
    assert query(fresh_db, "select order_id from raw.erp__orders order by 1") == [("O1",), ("O2",)]
    assert query(fresh_db, "select count(*) from raw.erp__customers") == [(0,)]


def test_unknown_table_file_fails_the_batch(fresh_db, tmp_path):
    put(tmp_path, "crm", "b1", "leads.csv", "lead_id\nL1\n")
    with pytest.raises(
        LoadError, match=r"crm/b1/leads\.csv: unknown table 'leads' for source 'crm'"
    ):
        load_landing(fresh_db, tmp_path, progress=False)


def test_unknown_source_folder_fails(fresh_db, tmp_path):
    put(tmp_path, "hr", "b1", "people.csv", "id\n1\n")
    with pytest.raises(LoadError, match="unknown source folder 'hr'"):
        load_landing(fresh_db, tmp_path, progress=False)


def test_crash_mid_batch_leaves_nothing_of_it(fresh_db, tmp_path, monkeypatch):
    put(tmp_path, "erp", "b1", "customers.csv", f"{CUSTOMERS_HEADER}\nC1,老客户,{TS}\n", "gb18030")
    put(tmp_path, "erp", "b1", "orders.csv", orders(good_order(1)), "gb18030")
    load_landing(fresh_db, tmp_path, progress=False)
    put(tmp_path, "erp", "b1", "customers.csv", f"{CUSTOMERS_HEADER}\nC2,新客户,{TS}\n", "gb18030")
    put(tmp_path, "erp", "b1", "orders.csv", orders(good_order(2)), "gb18030")

    real = loading._load_file
    calls = []

    def crash_after_first_table(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(loading, "_load_file", crash_after_first_table)
    with pytest.raises(RuntimeError, match="worker killed"):
        load_landing(fresh_db, tmp_path, progress=False)
    assert query(fresh_db, "select customer_code from raw.erp__customers") == [("C1",)]
    assert query(fresh_db, "select order_id from raw.erp__orders") == [("O1",)]
    assert query(fresh_db, "select records from raw._batches") == [(2,)]


# ---- idempotence, ordering, subsets -------------------------------------------------------


def test_loading_a_batch_twice_gives_the_same_rows(fresh_db, tmp_path):
    put(
        tmp_path,
        "erp",
        "b1",
        "orders.csv",
        orders(good_order(1), good_order(1), good_order(2)),
        "gb18030",
    )
    first = load_landing(fresh_db, tmp_path, progress=False)
    second = load_landing(fresh_db, tmp_path, progress=False)
    assert first.to_dict()["loaded"] == second.to_dict()["loaded"] == 2
    assert second.batches[0].replaced
    assert query(fresh_db, "select count(*) from raw.erp__orders") == [(2,)]
    assert query(fresh_db, "select count(*) from raw._quarantine") == [(1,)]
    assert query(fresh_db, "select count(*) from raw._batches") == [(1,)]


def test_reloading_a_batch_replaces_its_rows_in_every_table(fresh_db, tmp_path):
    put(tmp_path, "erp", "b1", "customers.csv", f"{CUSTOMERS_HEADER}\nC1,甲,{TS}\n", "gb18030")
    put(tmp_path, "erp", "b1", "orders.csv", orders(good_order(1)), "gb18030")
    put(tmp_path, "erp", "b2", "orders.csv", orders(good_order(5)), "gb18030")
    load_landing(fresh_db, tmp_path, progress=False)
    (tmp_path / "erp" / "b1" / "customers.csv").unlink()
    put(tmp_path, "erp", "b1", "orders.csv", orders(good_order(7)), "gb18030")
    report = load_batch(fresh_db, tmp_path, "erp", "b1")
    assert report.reconciled and report.replaced
    assert query(fresh_db, "select order_id, _batch_id from raw.erp__orders order by 1") == [
        ("O5", "b2"),
        ("O7", "b1"),
    ]
    assert query(fresh_db, "select count(*) from raw.erp__customers") == [(0,)]


def test_batches_load_in_batch_id_order_and_subsets_of_sources_and_batches(fresh_db, tmp_path):
    put(tmp_path, "erp", "20240401", "orders.csv", orders(good_order(2)), "gb18030")
    put(tmp_path, "erp", "20240301", "orders.csv", orders(good_order(1)), "gb18030")
    put(tmp_path, "crm", "20240301", "accounts.csv", f"{ACCOUNTS_HEADER}\nA1,Acme,{TS}\n")
    put(tmp_path, "hr", "20240301", "people.csv", "id\n1\n")  # ignored when sources are named
    report = load_landing(fresh_db, tmp_path, sources=["erp"], progress=False)
    assert [b.batch_id for b in report.batches] == ["20240301", "20240401"]
    assert query(fresh_db, "select count(*) from raw.crm__accounts") == [(0,)]
    report = load_landing(fresh_db, tmp_path, sources=["crm"], batches=["20240301"], progress=False)
    assert [(b.source, b.batch_id) for b in report.batches] == [("crm", "20240301")]
    assert query(fresh_db, "select source, batch_id from raw._batches order by 2, 1") == [
        ("crm", "20240301"),
        ("erp", "20240301"),
        ("erp", "20240401"),
    ]


def test_a_column_the_contract_gains_is_added_to_the_raw_table(fresh_db):
    import copy

    import yaml

    from sources.contract import CONTRACT_PATH

    data = yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8"))
    with psycopg.connect(fresh_db) as conn:
        ensure_raw_schema(conn, load_contract())
        grown = copy.deepcopy(data)
        grown["sources"]["crm"]["tables"]["accounts"]["columns"]["tier"] = {"type": "integer"}
        ensure_raw_schema(conn, parse_contract(grown))
    cols = query(
        fresh_db,
        "select data_type from information_schema.columns "
        "where table_schema = 'raw' and table_name = 'crm__accounts' and column_name = 'tier'",
    )
    assert cols == [("bigint",)]


# ---- parallel loading ----------------------------------------------------------------------


def _raw_contents(dsn: str) -> dict[str, list[tuple]]:
    """Every raw table's rows (all columns but the load times), in a stable order."""
    with psycopg.connect(dsn) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "select tablename from pg_tables where schemaname = 'raw' order by 1"
            ).fetchall()
        ]
        out = {}
        for table in tables:
            cols = [
                r[0]
                for r in conn.execute(
                    "select column_name from information_schema.columns where table_schema = "
                    "'raw' and table_name = %s and column_name not in ('_loaded_at', "
                    "'loaded_at', 'first_loaded_at') order by ordinal_position",
                    (table,),
                ).fetchall()
            ]
            select = ", ".join(f'"{c}"::text' for c in cols)
            out[table] = conn.execute(
                f'select {select} from raw."{table}" order by {select}'
            ).fetchall()
        return out


def _without_seconds(report) -> dict:
    data = report.to_dict()
    for b in data["batches"]:
        b.pop("seconds")
        for f in b["files"]:
            f.pop("seconds")
    return data


def test_parallel_load_gives_the_same_raw_contents_and_report_as_serial(
    pg_cluster, fresh_db, tiny_world
):
    from tests.conftest import create_database

    serial_db = create_database(pg_cluster, "parallel_vs_serial_serial")
    serial = load_landing(serial_db, tiny_world / "landing", progress=False, workers=1)
    parallel = load_landing(fresh_db, tiny_world / "landing", progress=False, workers=2)
    assert _without_seconds(parallel) == _without_seconds(serial)
    assert [(b.source, b.batch_id) for b in parallel.batches] == sorted(
        ((b.source, b.batch_id) for b in parallel.batches), key=lambda k: (k[1], k[0])
    )
    assert parallel.reconciled and parallel.loaded > 0
    serial_rows, parallel_rows = _raw_contents(serial_db), _raw_contents(fresh_db)
    assert serial_rows.keys() == parallel_rows.keys()
    for table, rows in serial_rows.items():
        assert parallel_rows[table] == rows, table


def test_a_failed_source_does_not_stop_the_others_and_all_failures_are_named(fresh_db, tmp_path):
    bad_orders = "order_id,customer_code,ordered_at\nO3,C3," + TS + "\n"
    put(tmp_path, "erp", "b1", "orders.csv", orders(good_order(1)), "gb18030")
    put(tmp_path, "erp", "b2", "orders.csv", bad_orders, "gb18030")
    put(tmp_path, "erp", "b3", "orders.csv", orders(good_order(3)), "gb18030")
    for batch in ("b1", "b2", "b3"):
        put(tmp_path, "crm", batch, "accounts.csv", f"{ACCOUNTS_HEADER}\nA{batch},Acme,{TS}\n")
    with pytest.raises(LoadError, match=r"erp/b2/orders\.csv: required column") as err:
        load_landing(fresh_db, tmp_path, progress=False, workers=2)
    report = err.value.report
    assert [(b.source, b.batch_id, b.status) for b in report.batches] == [
        ("crm", "b1", "loaded"),
        ("erp", "b1", "loaded"),
        ("crm", "b2", "loaded"),
        ("erp", "b2", "failed"),
        ("crm", "b3", "loaded"),
        ("erp", "b3", "skipped"),  # no manifests: erp's batches load in order, b2 stops them
    ]
    assert query(fresh_db, "select count(*) from raw.crm__accounts") == [(3,)]
    assert query(fresh_db, "select order_id from raw.erp__orders") == [("O1",)]
    assert query(fresh_db, "select source, batch_id, status from raw._batches order by 1, 2") == [
        ("crm", "b1", "loaded"),
        ("crm", "b2", "loaded"),
        ("crm", "b3", "loaded"),
        ("erp", "b1", "loaded"),
        ("erp", "b2", "failed"),  # the failed and skipped batches say so
        ("erp", "b3", "skipped"),
    ]

    # two sources failing: one error naming both batches, after everything else loaded
    put(tmp_path, "crm", "b2", "accounts.csv", "account_name\nAcme\n")
    with pytest.raises(LoadError, match=r"2 batches failed") as err:
        load_landing(fresh_db, tmp_path, progress=False, workers=2)
    message = str(err.value)
    assert "crm/b2: crm/b2/accounts.csv: required columns 'account_id'" in message
    assert "erp/b2: erp/b2/orders.csv: required column" in message
    assert {(b.source, b.batch_id): b.status for b in err.value.report.batches} == {
        ("crm", "b1"): "loaded",
        ("crm", "b2"): "failed",
        ("crm", "b3"): "skipped",
        ("erp", "b1"): "loaded",
        ("erp", "b2"): "failed",
        ("erp", "b3"): "skipped",
    }


def test_batches_without_extracted_at_keep_their_load_order(fresh_db, tmp_path):
    for i, batch in enumerate(("20240101", "20240201", "20240301", "20240401")):
        put(tmp_path, "erp", batch, "orders.csv", orders(good_order(i)), "gb18030")
    load_landing(fresh_db, tmp_path, progress=False, workers=4)
    loaded = query(fresh_db, "select _batch_id, _loaded_at from raw.erp__orders order by 2, 1")
    assert [b for b, _ in loaded] == ["20240101", "20240201", "20240301", "20240401"]
    assert len({t for _, t in loaded}) == 4


def test_batches_with_extracted_at_number_rows_right_when_loading_at_the_same_time(
    fresh_db, tmp_path
):
    for batch in ("b1", "b2"):
        put(tmp_path, "erp", batch, "orders.csv", orders(*map(good_order, range(3))), "gb18030")
        put(tmp_path, "erp", batch, "_batch.json", json.dumps({"extracted_at": TS}))
    assert [
        len(u.refs) for u in scheduling._plan(loader.discover_batches(tmp_path, load_contract()))
    ] == [
        1,
        1,
    ]
    with psycopg.connect(fresh_db) as conn:
        ensure_raw_schema(conn, load_contract())
        conn.commit()
        # another load holds row slot 0 (and a sequence position) for its transaction
        conn.execute("select setval('raw.erp__orders__row_number_seq', 500)")
        conn.execute("select pg_advisory_xact_lock(hashtext(%s), 0)", (loader.ROW_SLOT_LOCK,))
        report = load_landing(fresh_db, tmp_path, progress=False, workers=2)
        conn.rollback()
    assert [f.parser for _, f in report.files] == ["direct", "direct"]
    assert query(fresh_db, "select _batch_id, _row_number from raw.erp__orders order by 1, 2") == [
        ("b1", 1),
        ("b1", 2),
        ("b1", 3),
        ("b2", 1),
        ("b2", 2),
        ("b2", 3),
    ]
