"""The loader against hostile bytes: NUL and control bytes, wrong encodings, quoting that the
two load paths used to read differently (issue 13, items 1-3)."""

from __future__ import annotations

import pytest

from sources.contract import load_contract
from sources.loader import load_landing
from tests.integration.test_loader import (
    ACCOUNTS_HEADER,
    CUSTOMERS_HEADER,
    TS,
    assert_reconciled,
    file_report,
    good_order,
    orders,
    put,
    quarantine,
    query,
)

pytestmark = pytest.mark.integration


def accounts(*rows: str | bytes) -> bytes:
    lines = [ACCOUNTS_HEADER.encode()] + [r.encode() if isinstance(r, str) else r for r in rows]
    return b"\n".join(lines) + b"\n"


def account_names(dsn: str, batch: str = "b1") -> dict[int, str | None]:
    return dict(
        query(
            dsn,
            "select _row_number, account_name from raw.crm__accounts where _batch_id = %s",
            (batch,),
        )
    )


# ---- 1. NUL and other control bytes -----------------------------------------------------


def test_a_nul_byte_is_quarantined_and_everything_else_loads_on_every_run(fresh_db, tmp_path):
    body = (
        orders(good_order(1)).encode("gb18030")
        + f"O2,C2,{TS},conf\x00irmed,0,1,\n".encode()
        + good_order(3).encode()
        + b"\n"
    )
    put(tmp_path, "erp", "b1", "orders.csv", body)
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS}"))
    for _ in range(2):  # a re-run gives the same result
        report = load_landing(fresh_db, tmp_path, progress=False)
        assert_reconciled(report)
        f = file_report(report, "orders.csv")
        assert (f.records, f.loaded, f.quarantined) == (3, 2, 1)
        assert file_report(report, "accounts.csv").loaded == 1
        [(file, row, column, reason, raw_line)] = quarantine(fresh_db)
        assert (file, row, column) == ("erp/b1/orders.csv", 2, "status")
        assert "line 3" in reason and "NUL" in reason and "conf\\x00irmed" in reason
        assert "\x00" not in raw_line and "conf\\x00irmed" in raw_line
    assert query(fresh_db, "select order_id from raw.erp__orders order by 1") == [("O1",), ("O3",)]


def test_nul_padding_at_the_end_of_a_file_is_one_quarantined_record(fresh_db, tmp_path):
    body = accounts(f"A1,Acme,{TS}", f"A2,Beta,{TS}") + b"\x00" * 4096
    put(tmp_path, "crm", "b1", "accounts.csv", body)
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.records, report.loaded, report.quarantined) == (3, 2, 1)
    [(_, row, column, reason, raw_line)] = quarantine(fresh_db)
    assert row == 3 and column is None
    assert "line 4" in reason and "4096 NUL bytes" in reason and "padding" in reason
    assert "\x00" not in raw_line and len(raw_line) < 4100  # shown escaped and cut


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("A\x01B", "A\\x01B"),  # SOH
        ("Esc\x1b[31m", "Esc\\x1b[31m"),  # an ANSI escape sequence
        ("Del\x7f", "Del\\x7f"),  # DEL
        ('"Multi\nline \x02"', "line \\x02"),  # inside a quoted field spanning lines
    ],
)
def test_other_control_bytes_are_quarantined_naming_row_and_column(fresh_db, tmp_path, cell, shown):
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS}", f"A2,{cell},{TS}"))
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.loaded, report.quarantined) == (1, 1)
    [(_, row, column, reason, _)] = quarantine(fresh_db)
    assert (row, column) == (2, "account_name")
    assert "control character" in reason and shown in reason


def test_a_control_byte_in_a_typed_column_is_not_read_as_blank(fresh_db, tmp_path):
    # PostgreSQL's number parser skips a vertical tab or form feed like a blank.
    rows = ["O1,C1,{TS},confirmed,\x0b3,5,", "O2,C2,{TS},confirmed,0,\x0c5,", good_order(3)]
    put(tmp_path, "erp", "b1", "orders.csv", orders(*(r.format(TS=TS) for r in rows)), "gb18030")
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.loaded, report.quarantined) == (1, 2)
    assert [(row, col) for _, row, col, _, _ in quarantine(fresh_db)] == [
        (1, "change_count"),
        (2, "total_amount_cny"),
    ]


def test_tabs_and_line_breaks_in_quoted_fields_are_data(fresh_db, tmp_path):
    rows = [f'A1,"Tab\there",{TS}', f'A2,"CRLF\r\ninside",{TS}', f'A3,"LF\ninside",{TS}']
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(*rows))
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.loaded, report.quarantined) == (3, 0)
    assert account_names(fresh_db) == {1: "Tab\there", 2: "CRLF\r\ninside", 3: "LF\ninside"}


def test_a_nul_byte_in_a_file_with_extra_columns_is_quarantined(fresh_db, tmp_path):
    body = f"account_id,wechat_id,account_name,created_at\nA1,wx\x00,Acme,{TS}\nA2,wx,B,{TS}\n"
    put(tmp_path, "crm", "b1", "accounts.csv", body)
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.loaded, report.quarantined) == (1, 1)
    [(_, row, column, _, _)] = quarantine(fresh_db)
    assert (row, column) == (1, "wechat_id")


# ---- 2. the declared encoding is checked against the bytes --------------------------------


def customers(*names: str) -> str:
    rows = [f"C{i},{name},{TS}" for i, name in enumerate(names, 1)]
    return "\n".join([CUSTOMERS_HEADER, *rows]) + "\n"


# Names from the default world whose UTF-8 bytes happen to be valid GB18030 too (mojibake).
NAMES = (
    "奥智化工材料（无锡）有限公司",
    "福建鑫盛精密电子有限责任公司",
    "中航化工材料（常州）有限责任公司",
)


def test_a_utf8_export_where_gb18030_is_declared_is_quarantined_naming_both(fresh_db, tmp_path):
    put(tmp_path, "erp", "b1", "customers.csv", customers(*NAMES), "utf-8")
    put(tmp_path, "erp", "b1", "orders.csv", orders(good_order(1)), "gb18030")
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    f = file_report(report, "customers.csv")
    assert (f.records, f.loaded, f.quarantined, f.status) == (3, 0, 3, "quarantined")
    assert file_report(report, "orders.csv").loaded == 1
    assert query(fresh_db, "select count(*) from raw.erp__customers") == [(0,)]
    q = quarantine(fresh_db)
    assert [row for _, row, _, _, _ in q] == [1, 2, 3]
    for _, _, column, reason, _ in q:
        assert column is None
        assert "declared gb18030" in reason and "utf-8" in reason
    assert NAMES[0] in q[0][4]  # the record, read in the detected encoding
    assert query(fresh_db, "select status, quarantined from raw._batch_files order by file") == [
        ("quarantined", 3),
        ("loaded", 0),
    ]


def test_a_simulated_erp_export_in_utf8_is_not_loaded_as_mojibake(
    fresh_db, tmp_path, default_world
):
    biggest = max(
        (default_world / "landing" / "erp").glob("*/customers.csv"), key=lambda p: p.stat().st_size
    )
    text = biggest.read_bytes().decode("gb18030")
    put(tmp_path, "erp", "b1", "customers.csv", text, "utf-8")
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    records = len(text.splitlines()) - 1  # the simulator quotes no line break
    assert (report.records, report.loaded, report.quarantined) == (records, 0, records)
    assert report.batches[0].status == "loaded_with_quarantine"
    assert query(fresh_db, "select distinct reason from raw._quarantine") == [
        (
            "declared gb18030 but the file is utf-8 (valid UTF-8, detected as UTF-8); "
            "re-export it as gb18030 or change the source's encoding in the contract",
        )
    ]


def test_a_utf8_file_with_bom_where_gb18030_is_declared_is_quarantined(fresh_db, tmp_path):
    put(tmp_path, "erp", "b1", "customers.csv", customers(*NAMES), "utf-8-sig")
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.records, report.loaded, report.quarantined) == (3, 0, 3)
    assert {r[3] for r in quarantine(fresh_db)} == {
        "declared gb18030 but the file is utf-8 (byte-order mark); re-export it as gb18030 "
        "or change the source's encoding in the contract"
    }


def test_a_utf16_file_where_utf8_is_declared_is_quarantined(fresh_db, tmp_path):
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS}", f"A2,西门子,{TS}").decode()
        .encode("utf-16"))  # fmt: skip
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.records, report.loaded, report.quarantined) == (2, 0, 2)
    reasons = {r[3] for r in quarantine(fresh_db)}
    assert len(reasons) == 1 and "declared utf-8 but the file is utf-16" in reasons.pop()


def test_a_gb18030_export_where_utf8_is_declared_is_quarantined_naming_both(fresh_db, tmp_path):
    rows = [f"A{i},{name},{TS}" for i, name in enumerate(NAMES, 1)]
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(*rows).decode().encode("gb18030"))
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.records, report.loaded, report.quarantined) == (3, 0, 3)
    for _, _, _, reason, _ in quarantine(fresh_db):
        assert "declared utf-8" in reason and "gb18030" in reason


def test_a_gbk_export_where_gb18030_is_declared_loads(fresh_db, tmp_path):
    put(tmp_path, "erp", "b1", "customers.csv", customers(*NAMES), "gbk")
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.loaded, report.quarantined) == (3, 0)
    names = query(fresh_db, "select customer_name from raw.erp__customers order by _row_number")
    assert [n for (n,) in names] == list(NAMES)


def test_no_file_of_the_simulated_worlds_is_flagged(default_world, tiny_world):
    from sources.loader.reading import _encoding_mismatch

    contract = load_contract()
    checked = 0
    for world in (default_world, tiny_world):
        for path in sorted((world / "landing").glob("*/*/*.csv")):
            encoding = contract.source(path.parent.parent.name).encoding
            assert _encoding_mismatch(path, encoding) is None, path
            checked += 1
    assert checked > 300


# ---- 3. one parsing rule for a row whatever its neighbours --------------------------------

# Rows that PostgreSQL's CSV reader and an RFC 4180 reader read differently.
TRICKY = [
    f'A1,"Acme"Corp,{TS}',  # text after a closing quote
    f'A2, "Beta",{TS}',  # a blank before an opening quote
    "\\.",  # PostgreSQL's end-of-data marker, alone on a line
    f"A4,After the marker,{TS}",
    f'A5,"Fine, quoted",{TS}',
]


def test_a_row_has_the_same_fate_in_a_clean_file_and_beside_a_bad_row(fresh_db, tmp_path):
    put(tmp_path, "crm", "clean", "accounts.csv", accounts(*TRICKY))
    put(tmp_path, "crm", "typed", "accounts.csv", accounts(*TRICKY, "A9,Bad,2024-02-30"))
    put(tmp_path, "crm", "bytes", "accounts.csv", accounts(*TRICKY, b"A9,Bad \xff," + TS.encode()))
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    outcomes = {}
    for batch in ("clean", "typed", "bytes"):
        q = query(
            fresh_db,
            "select row_number from raw._quarantine where batch_id = %s and row_number <= 5",
            (batch,),
        )
        outcomes[batch] = (account_names(fresh_db, batch), sorted(r for (r,) in q))
    assert outcomes["clean"] == outcomes["typed"] == outcomes["bytes"]
    names, quarantined = outcomes["clean"]
    # a quote inside an unquoted field is a character; text after a closing quote is not CSV
    assert names == {2: ' "Beta"', 4: "After the marker", 5: "Fine, quoted"}
    assert quarantined == [1, 3]
    clean = file_report(report, "clean/accounts.csv")
    assert (clean.records, clean.loaded, clean.quarantined) == (5, 3, 2)


def test_a_quote_inside_an_unquoted_field_is_a_character_on_every_path(fresh_db, tmp_path):
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f'A1,Ga"mma,{TS}', f'A2,5" pipe,{TS}'))
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert (report.loaded, report.quarantined) == (2, 0)
    assert account_names(fresh_db) == {1: 'Ga"mma', 2: '5" pipe'}


@pytest.mark.parametrize("eol", ["\r\n", "\n"])
def test_crlf_and_lf_files_load_the_same_rows(fresh_db, tmp_path, eol):
    rows = [f"A1,Acme,{TS}", f'A2,"Two{eol}lines",{TS}', f"A3,Gamma,{TS}"]
    put(tmp_path, "crm", "b1", "accounts.csv", eol.join([ACCOUNTS_HEADER, *rows, ""]))
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert (report.loaded, report.quarantined) == (3, 0)
    assert account_names(fresh_db) == {1: "Acme", 2: f"Two{eol}lines", 3: "Gamma"}


def test_a_file_mixing_crlf_and_lf_loads_every_row(fresh_db, tmp_path):
    body = f"{ACCOUNTS_HEADER}\r\nA1,Acme,{TS}\nA2,Beta,{TS}\r\nA3,Gamma,{TS}\n"
    put(tmp_path, "crm", "b1", "accounts.csv", body)
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert (report.loaded, report.quarantined) == (3, 0)
    assert account_names(fresh_db) == {1: "Acme", 2: "Beta", 3: "Gamma"}


def test_a_bare_carriage_return_outside_quotes_quarantines_its_record(fresh_db, tmp_path):
    body = f"{ACCOUNTS_HEADER}\nA1,Ac\rme,{TS}\nA2,Beta,{TS}\n"
    put(tmp_path, "crm", "b1", "accounts.csv", body)
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.records, report.loaded, report.quarantined) == (2, 1, 1)
    [(_, row, _, reason, _)] = quarantine(fresh_db)
    assert row == 1 and "malformed CSV" in reason


def test_blank_lines_are_not_records_on_any_path(fresh_db, tmp_path):
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS}", "", f"A2,Beta,{TS}", ""))
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert (report.records, report.loaded, report.quarantined) == (2, 2, 0)
    assert sorted(account_names(fresh_db).values()) == ["Acme", "Beta"]


def test_the_quarantine_keeps_a_long_bad_line_cut_and_escaped(fresh_db, tmp_path):
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f"A1,{'x' * 9000}\x00,{TS}"))
    load_landing(fresh_db, tmp_path, progress=False)
    [(_, _, _, reason, raw_line)] = quarantine(fresh_db)
    assert len(reason) < 400 and "characters)" in raw_line and len(raw_line) < 4100


def test_unbalanced_quote_at_the_end_of_the_file(fresh_db, tmp_path):
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS}", f'A2,"Open,{TS}'))
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert (report.records, report.loaded, report.quarantined) == (2, 1, 1)
    assert account_names(fresh_db) == {1: "Acme"}
