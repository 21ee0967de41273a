"""The loader against hostile values, files and folders (issue 13): zone abbreviations,
numbers beyond the contract's precision, symlinks and odd files, bad batch folders."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest
import yaml
from conftest import run_dbt, service_env_for

from sources.contract import CONTRACT_PATH, parse_contract
from sources.loader import LoadError, load_landing

pytestmark = pytest.mark.integration

ORDERS_HEADER = "order_id,customer_code,ordered_at,status,change_count,total_amount_cny,updated_at"
ACCOUNTS_HEADER = "account_id,account_name,created_at"
TS = "2024-03-01T09:30:00+08:00"
SECRET = "root:x:0:0:root:/root:/bin/bash"  # pragma: allowlist secret


def put(root: Path, source: str, batch: str, name: str, content: str, encoding="utf-8") -> Path:
    folder = root / source / batch
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content.encode(encoding))
    return folder / name


def orders(*rows: str) -> str:
    return "\n".join([ORDERS_HEADER, *rows]) + "\n"


def accounts(*rows: str) -> str:
    return "\n".join([ACCOUNTS_HEADER, *rows]) + "\n"


def query(dsn: str, sql: str, params=()):
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def quarantined(dsn: str) -> dict[tuple[str, int], tuple[str, str]]:
    """(file name, row) -> (column, reason) of every quarantined row."""
    return {
        (Path(file).name, row): (column, reason)
        for file, row, column, reason in query(
            dsn, "select file, row_number, column_name, reason from raw._quarantine"
        )
    }


def utc(dsn: str, table: str, key: str, column: str) -> dict[str, str]:
    return dict(
        query(
            dsn,
            f"select {key}, to_char({column} at time zone 'UTC', 'YYYY-MM-DD HH24:MI') "
            f"from raw.{table}",
        )
    )


def with_aliases(**aliases: str):
    """The repository's contract with crm and erp mapping zone abbreviations."""
    data = yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8"))
    for source in ("crm", "erp"):
        data["sources"][source]["timezone_aliases"] = dict(aliases)
    return parse_contract(data)


def assert_reconciled(report):
    assert report.reconciled
    for _, f in report.files:
        assert f.loaded + f.quarantined == f.records, f


# ---- 4. time zone abbreviations ----------------------------------------------------------


def test_zone_abbreviation_is_quarantined_as_ambiguous(fresh_db, tmp_path):
    put(
        tmp_path,
        "erp",
        "b1",
        "orders.csv",
        orders(f"O1,C1,{TS},confirmed,0,5,", "O2,C2,2024-03-01 09:30:00 CST,confirmed,0,5,"),
        "gb18030",
    )
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    column, reason = quarantined(fresh_db)[("orders.csv", 2)]
    assert column == "ordered_at"
    assert "'2024-03-01 09:30:00 CST'" in reason and "ambiguous" in reason
    assert utc(fresh_db, "erp__orders", "order_id", "ordered_at") == {"O1": "2024-03-01 01:30"}


def test_other_abbreviations_and_forms_are_quarantined_on_both_paths(fresh_db, tmp_path):
    bad = [
        "2024-03-01 09:30:00 EST",
        "2024-03-01 09:30 IST",
        "2024-03-01 09:30:00 pst",  # abbreviations are case-insensitive
        "2024-03-01 09:30:00CST",  # no blank before it
        "Fri Mar 01 09:30:00 CST 2024",  # Java's Date.toString(), common in Chinese exports
        "2024-03-01 BST",  # a date with a zone, no time
        "2024-03-01 09:30 (CST)",
    ]
    rows = [f"A{i},Acme,{v}" for i, v in enumerate(bad)]
    # b1 holds only zone abbreviations (a clean file otherwise: the direct path must not
    # take it), b2 has a row that sends it down the careful path anyway
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(*rows))
    put(tmp_path, "crm", "b2", "accounts.csv", accounts(*rows, "A9,Acme,2024-02-30 09:30"))
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    assert [(f.loaded, f.quarantined) for _, f in report.files] == [(0, 7), (0, 8)]
    reasons = query(
        fresh_db,
        "select _batch_id, row_number, reason from raw._quarantine q "
        "join (values ('crm/b1/accounts.csv', 'b1'), ('crm/b2/accounts.csv', 'b2')) as f(file, "
        "_batch_id) using (file) where row_number <= 7 order by 1, 2",
    )
    for batch, row, reason in reasons:
        assert "ambiguous" in reason, (batch, row, reason)
        assert "column created_at" in reason
    words = [r.split("time zone abbreviation ")[1].split(",")[0] for _, _, r in reasons]
    assert words == ["EST", "IST", "PST", "CST", "CST", "BST", "CST"] * 2


def test_offsets_utc_zone_names_and_naive_timestamps_keep_working(fresh_db, tmp_path):
    good = {
        "A1": "2024-03-01T09:30:00+08:00",
        "A2": "2024-03-01 09:30:00+0800",
        "A3": "2024-03-01 09:30+08",
        "A4": "2024-03-01T01:30:00Z",
        "A5": "2024-03-01 01:30:00 UTC",
        "A6": "2024-03-01 01:30:00 GMT",
        "A7": "2024-03-01 09:30:00 Asia/Shanghai",
        "A8": "2024-03-01 09:30:00",  # naive: the source's (business) time zone
        "A9": "2024-03-01 09:30:00.123456",
    }
    put(
        tmp_path, "crm", "b1", "accounts.csv", accounts(*(f"{k},Acme,{v}" for k, v in good.items()))
    )
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert (report.loaded, report.quarantined) == (9, 0)
    assert set(utc(fresh_db, "crm__accounts", "account_id", "created_at").values()) == {
        "2024-03-01 01:30"
    }


def test_contract_alias_map_reads_an_abbreviation_in_the_zone_it_names(fresh_db, tmp_path):
    contract = with_aliases(CST="Asia/Shanghai", EST="America/New_York")
    put(
        tmp_path,
        "crm",
        "b1",
        "accounts.csv",
        accounts(
            "A1,Acme,2024-03-01 09:30:00 CST",
            "A2,Acme,Fri Mar 01 09:30:00 CST 2024",
            "A3,Acme,2024-03-01 09:30:00 cst",
            "A4,Acme,2024-07-01 09:30:00 EST",  # the zone, so summer time in July
            "A5,Acme,2024-03-01 09:30:00 IST",  # not mapped: still ambiguous
            "A6,Acme,2024-03-01 09:30:00+08:00",
        ),
    )
    report = load_landing(fresh_db, tmp_path, progress=False, contract=contract)
    assert_reconciled(report)
    assert utc(fresh_db, "crm__accounts", "account_id", "created_at") == {
        "A1": "2024-03-01 01:30",
        "A2": "2024-03-01 01:30",
        "A3": "2024-03-01 01:30",
        "A4": "2024-07-01 13:30",
        "A6": "2024-03-01 01:30",
    }
    assert "IST" in quarantined(fresh_db)[("accounts.csv", 5)][1]
    # an aliased file with nothing else wrong is loaded (the careful way), not quarantined
    put(tmp_path, "crm", "b2", "accounts.csv", accounts("A7,Acme,2024-03-01 09:30:00 CST"))
    again = load_landing(fresh_db, tmp_path, progress=False, contract=contract, batches=["b2"])
    assert (again.batches[0].status, again.loaded) == ("loaded", 1)


# ---- 5. numbers beyond the contract's precision ------------------------------------------


def test_numbers_beyond_the_declared_precision_are_quarantined(fresh_db, tmp_path):
    put(
        tmp_path,
        "erp",
        "b1",
        "orders.csv",
        orders(
            f"O1,C1,{TS},confirmed,0,999999999999.99,",  # the largest numeric(14, 2)
            f"O2,C1,{TS},confirmed,0,1e20,",  # scientific notation, far beyond
            f"O3,C1,{TS},confirmed,0,-1000000000000,",  # negative, one digit too many
            f"O4,C1,{TS},confirmed,0,1.5e3,",  # scientific notation in range
            f"O5,C1,{TS},confirmed,0,-Infinity,",
            f"O6,C1,{TS},confirmed,0,inf,",
            f"O7,C1,{TS},confirmed,9223372036854775808,5,",  # beyond bigint
            f"O8,C1,{TS},confirmed,1e3,5,",  # not an integer
            f"O9,C1,{TS},confirmed,-9223372036854775808,0.001,",  # bigint's min, fine
        ),
        "gb18030",
    )
    # a file whose only problem is one value beyond the precision: the direct path must
    # not load it
    put(tmp_path, "lab", "b1", "sample_requests.csv", (
        "request_id,requester_org,material_id,spec_tolerance_pct,requested_at\n"
        f"R1,Org,M1,2.5,{TS}\nR2,Org,M1,123456,{TS}\n"
    ))  # fmt: skip
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    q = quarantined(fresh_db)
    assert set(q) == {("orders.csv", r) for r in (2, 3, 5, 6, 7, 8)} | {("sample_requests.csv", 2)}
    for row in (2, 3):
        column, reason = q[("orders.csv", row)]
        assert column == "total_amount_cny"
        assert "out of range" in reason and "numeric(14, 2)" in reason
    assert q[("orders.csv", 7)][0] == "change_count"
    assert "out of the integer range" in q[("orders.csv", 7)][1]
    assert q[("orders.csv", 8)][1] == "column change_count: '1e3' is not an integer"
    assert q[("sample_requests.csv", 2)][0] == "spec_tolerance_pct"
    assert "numeric(9, 4)" in q[("sample_requests.csv", 2)][1]
    assert query(
        fresh_db, "select order_id, total_amount_cny::text from raw.erp__orders order by 1"
    ) == [("O1", "999999999999.99"), ("O4", "1500"), ("O9", "0.001")]


def test_dates_outside_the_accepted_years_are_quarantined(fresh_db, tmp_path):
    put(tmp_path, "registry", "b1", "companies.csv", (
        "credit_code,legal_name,founded_date\n"
        "X1,A,1900-01-01\nX2,B,0024-06-01\nX3,C,9999-12-31\nX4,D,2099-12-31\n"
    ))  # fmt: skip
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(
        "A1,Acme,2099-12-31 23:59:59",  # naive: Shanghai, still 2099
        "A2,Acme,2100-01-01T00:00:00+08:00",
        "A3,Acme,1899-12-30T00:00:00Z",
    ))  # fmt: skip
    report = load_landing(fresh_db, tmp_path, progress=False)
    assert_reconciled(report)
    q = quarantined(fresh_db)
    assert set(q) == {("companies.csv", 2), ("companies.csv", 3), ("accounts.csv", 2),
                      ("accounts.csv", 3)}  # fmt: skip
    assert q[("companies.csv", 2)] == (
        "founded_date",
        "column founded_date: '0024-06-01' is outside the years 1900 to 2099 the contract accepts",
    )
    assert query(fresh_db, "select account_id from raw.crm__accounts") == [("A1",)]


def test_the_next_dbt_build_passes_after_huge_values(fresh_db, tiny_world, tmp_path):
    """Orders and lines beyond the contract's precision (issue 13: numeric field overflow in
    the features the next day) are quarantined; the features build on what loaded."""
    load_landing(fresh_db, tiny_world / "landing", progress=False, sources=["erp", "catalog"])
    ((code, material, ordered, known),) = query(
        fresh_db,
        "select o.customer_code, l.material_id, o.ordered_at::text, "
        "(o.ordered_at + interval '1 day')::text from raw.erp__orders o "
        "join raw.erp__order_lines l using (order_id) order by o.ordered_at "
        "offset (select count(*) / 2 from raw.erp__orders) limit 1",
    )
    late = tmp_path / "late"
    put(late, "erp", "zz-huge", "orders.csv", orders(
        f"HUGE-1,{code},{ordered},confirmed,0,99999999999999999999,",
        f"HUGE-2,{code},{ordered},confirmed,0,1e300,",
        f"BIG-3,{code},{ordered},confirmed,0,999999999999.99,",
    ), "gb18030")  # fmt: skip
    put(late, "erp", "zz-huge", "order_lines.csv", (
        "order_id,line_no,material_id,quantity,unit_price_cny,amount_cny\n"
        f"HUGE-1,1,{material},1,99999999999999999999,99999999999999999999\n"
        f"BIG-3,1,{material},1000,999999999.99,999999999990.00\n"
    ), "gb18030")  # fmt: skip
    # known the next day, so the next day's features see it
    manifest = json.dumps({"extracted_at": known.replace(" ", "T")})
    put(late, "erp", "zz-huge", "_batch.json", manifest)
    report = load_landing(fresh_db, late, progress=False)
    assert (report.loaded, report.quarantined) == (2, 3)
    env = service_env_for(fresh_db, tmp_path / "local")
    run_dbt(["build", "--select", "+customer_features", "+int_customer_materials_bought"], env)
    assert query(
        fresh_db, "select count(*) > 0 from features.customer_features where revenue_cny_365d > 0"
    ) == [(True,)]


# ---- 6. symlinks, odd files and what errors show -----------------------------------------


def test_symlink_to_a_file_outside_the_landing_root_is_refused_without_its_contents(
    fresh_db, tmp_path
):
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "passwd").write_text(f"{SECRET}\ndaemon:x:1:1::/:/bin/sh\n")
    root = tmp_path / "landing"
    put(root, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS}"))
    (root / "erp" / "b1").mkdir(parents=True)
    (root / "erp" / "b1" / "orders.csv").symlink_to(outside / "passwd")
    with pytest.raises(LoadError) as err:
        load_landing(fresh_db, root, progress=False)
    message = str(err.value)
    assert "erp/b1/orders.csv" in message and "outside the landing root" in message
    assert "root:x" not in message and "/bin/bash" not in message
    statuses = {(b.source, b.batch_id): b.status for b in err.value.report.batches}
    assert statuses == {("crm", "b1"): "loaded", ("erp", "b1"): "failed"}
    assert "root:x" not in err.value.report.summary()


def test_symlinked_folders_outside_loops_and_non_regular_files_are_refused(fresh_db, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    put(elsewhere, "x", "b9", "accounts.csv", accounts(f"A9,Outside,{TS}"))
    root = tmp_path / "landing"
    put(root, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS}"))
    (root / "crm" / "b2").symlink_to(elsewhere / "x" / "b9")  # batch folder outside
    (root / "service").symlink_to(elsewhere / "x")  # source folder outside
    (root / "lab" / "b1").mkdir(parents=True)
    (root / "lab" / "b1" / "sample_requests.csv").symlink_to("test_feedback.csv")
    (root / "lab" / "b1" / "test_feedback.csv").symlink_to("sample_requests.csv")  # a loop
    (root / "projects" / "b1").mkdir(parents=True)
    os.mkfifo(root / "projects" / "b1" / "projects.csv")  # reading it would block forever
    (root / "catalog" / "b1").mkdir(parents=True)
    (root / "catalog" / "b1" / "materials.csv").symlink_to(root / "nowhere.csv")  # dangling
    with pytest.raises(LoadError) as err:
        load_landing(fresh_db, root, progress=False)
    got = {(b.source, b.batch_id): (b.status, b.error) for b in err.value.report.batches}
    assert got[("crm", "b1")] == ("loaded", None)
    assert "outside the landing root" in got[("crm", "b2")][1]
    assert "outside the landing root" in got[("service", "")][1]
    assert "symbolic link" in got[("lab", "b1")][1]
    assert "not a regular file" in got[("projects", "b1")][1]
    assert "catalog/b1/materials.csv" in got[("catalog", "b1")][1]
    assert query(fresh_db, "select account_id from raw.crm__accounts") == [("A1",)]


def test_symlinks_inside_the_landing_root_are_followed(fresh_db, tmp_path):
    root = tmp_path / "landing"
    put(root, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS}"))
    (root / "crm" / "b2").mkdir()
    (root / "crm" / "b2" / "accounts.csv").symlink_to(root / "crm" / "b1" / "accounts.csv")
    report = load_landing(fresh_db, root, progress=False)
    assert [(b.batch_id, b.loaded) for b in report.batches] == [("b1", 1), ("b2", 1)]


def test_error_messages_do_not_echo_the_header(fresh_db, tmp_path):
    put(tmp_path, "crm", "b1", "accounts.csv", f"account_id,{SECRET}\nA1,x\n")
    with pytest.raises(LoadError) as err:
        load_landing(fresh_db, tmp_path, progress=False)
    message = str(err.value)
    assert "required columns 'account_name', 'created_at' missing" in message
    assert "root:x" not in message


# ---- 7. bad batch folders and failed batches ---------------------------------------------


def test_a_bad_batch_folder_is_reported_and_the_others_load(fresh_db, tmp_path):
    put(tmp_path, "erp", "2024 03 01", "orders.csv", orders(f"O1,C1,{TS},confirmed,0,5,"))
    put(tmp_path, "erp", "20240302", "orders.csv", orders(f"O2,C2,{TS},confirmed,0,5,"))
    put(tmp_path, "crm", "20240301", "accounts.csv", accounts(f"A1,Acme,{TS}"))
    with pytest.raises(LoadError, match=r"batch id '2024 03 01' must consist of") as err:
        load_landing(fresh_db, tmp_path, progress=False)
    got = [(b.source, b.batch_id, b.status) for b in err.value.report.batches]
    assert got == [
        ("erp", "2024 03 01", "failed"),
        ("crm", "20240301", "loaded"),
        ("erp", "20240302", "loaded"),
    ]
    assert query(fresh_db, "select order_id from raw.erp__orders") == [("O2",)]
    assert query(
        fresh_db,
        "select source, batch_id, status, error is not null from raw._batches order by 2, 1",
    ) == [
        ("erp", "2024 03 01", "failed", True),
        ("crm", "20240301", "loaded", False),
        ("erp", "20240302", "loaded", False),
    ]


def test_every_failed_batch_has_a_batches_row_with_its_reason(fresh_db, tmp_path):
    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS}"))
    load_landing(fresh_db, tmp_path, progress=False)
    # the re-delivery fails: the earlier rows stay, the batch's row says why
    put(tmp_path, "crm", "b1", "accounts.csv", "account_id\nA2\n")
    put(tmp_path, "crm", "b2", "accounts.csv", accounts(f"A3,Acme,{TS}"))
    put(tmp_path, "erp", "b1", "orders.csv", orders(f"O1,C1,{TS},confirmed,0,5,"))
    put(tmp_path, "erp", "b1", "_batch.json", '{"source": "crm"}')
    (tmp_path / "registry" / "b1").mkdir(parents=True)  # an empty batch folder
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "sample_requests.csv").write_text("a file where a batch folder goes")
    with pytest.raises(LoadError) as err:
        load_landing(fresh_db, tmp_path, progress=False)
    rows = {
        (s, b): (status, error, records)
        for s, b, status, error, records in query(
            fresh_db, "select source, batch_id, status, error, records from raw._batches"
        )
    }
    assert rows[("crm", "b1")][0] == "failed" and "'account_name'" in rows[("crm", "b1")][1]
    assert rows[("crm", "b1")][2] == 1  # the counts of what is in raw: the earlier load
    assert rows[("crm", "b2")][:2] == (
        "skipped",
        "not loaded: an earlier batch of this source failed",
    )
    assert rows[("erp", "b1")][0] == "failed" and "source is 'crm'" in rows[("erp", "b1")][1]
    assert rows[("registry", "b1")] == ("empty", None, 0)
    assert rows[("lab", "sample_requests.csv")][0] == "failed"
    assert "not a batch folder" in rows[("lab", "sample_requests.csv")][1]
    assert query(fresh_db, "select account_id from raw.crm__accounts") == [("A1",)]
    assert str(err.value).startswith("3 batches failed")


def test_portrait_load_prints_the_report_and_one_line_per_failure(fresh_db, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from portrait.cli import app
    from portrait.settings import get_settings

    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS}"))
    put(tmp_path, "erp", "b 2", "orders.csv", orders(f"O1,C1,{TS},confirmed,0,5,"))
    put(tmp_path, "erp", "b3", "orders.csv", "order_id\nO3\n")
    monkeypatch.setenv("PORTRAIT_WAREHOUSE_URL", fresh_db)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["load", "--landing", str(tmp_path)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    out = result.output
    assert "Traceback" not in out
    assert "(batch)" in out and "reconciled" in out  # the report table
    failures = [line for line in out.splitlines() if line.startswith("failed: ")]
    assert len(failures) == 2
    assert failures[0].startswith("failed: erp/b 2: ")
    assert failures[1].startswith("failed: erp/b3: erp/b3/orders.csv: required column")


def test_a_file_that_cannot_be_read_fails_its_batch_not_the_load(fresh_db, tmp_path, monkeypatch):
    from sources.loader import loading

    put(tmp_path, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS}"))
    locked = put(tmp_path, "erp", "b1", "orders.csv", orders(f"O1,C1,{TS},confirmed,0,5,"))
    read = loading._read_landing

    def unreadable(path, *args):  # the tests run as root, whom chmod 000 does not stop
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return read(path, *args)

    monkeypatch.setattr(loading, "_read_landing", unreadable)
    with pytest.raises(LoadError, match=r"^erp/b1: cannot read erp/b1/orders\.csv \(Permission"):
        load_landing(fresh_db, tmp_path, progress=False)
    assert query(fresh_db, "select source, status from raw._batches order by 1") == [
        ("crm", "loaded"),
        ("erp", "failed"),
    ]


# ---- 11. re-delivered batches without a manifest keep their place ------------------------


def test_a_redelivered_batch_without_manifest_keeps_its_first_load_time(fresh_db, tmp_path):
    """Corrections re-delivered under the same id stay older than the batches after them:
    without extracted_at, versions are ordered by load time, so a re-delivery stamped with
    its new load time would silently become the newest version of every record it holds."""
    put(tmp_path, "crm", "20240301", "accounts.csv", accounts(f"A1,Acme first,{TS}"))
    load_landing(fresh_db, tmp_path, progress=False)
    put(tmp_path, "crm", "20240302", "accounts.csv", accounts(f"A1,Acme second,{TS}"))
    load_landing(fresh_db, tmp_path, progress=False)
    put(tmp_path, "crm", "20240301", "accounts.csv", accounts(f"A1,Acme first fixed,{TS}"))
    load_landing(fresh_db, tmp_path, batches=["20240301"], progress=False)

    batches = {
        batch: (first_loaded, loaded)
        for batch, first_loaded, loaded in query(
            fresh_db,
            "select batch_id, first_loaded_at, loaded_at from raw._batches where source = 'crm'",
        )
    }
    first, last = batches["20240301"]
    assert first < last, "the re-delivery's own load time is kept in loaded_at"
    assert first < batches["20240302"][0]
    rows = query(
        fresh_db,
        "select account_name, _loaded_at from raw.crm__accounts order by _loaded_at, _batch_id",
    )
    assert [name for name, _ in rows] == ["Acme first fixed", "Acme second"]
    assert rows[0][1] == first


def test_the_airflow_load_task_prints_the_report_and_fails_without_retry(
    fresh_db, tmp_path, monkeypatch, capsys
):
    """In a DAG, a batch the data fails stops the run at once (the same files would fail
    again on every retry), after printing what loaded and why the rest did not."""
    from airflow.sdk.exceptions import AirflowFailException

    from portrait import orchestration
    from portrait.settings import get_settings

    landing = tmp_path / "data" / "landing"
    put(landing, "crm", "b1", "accounts.csv", accounts(f"A1,Acme,{TS}"))
    put(landing, "erp", "b2", "orders.csv", "order_id,customer_code\nO1,K1\n")
    monkeypatch.setenv("PORTRAIT_LOCAL_DIR", str(tmp_path))
    get_settings.cache_clear()
    monkeypatch.setattr(orchestration, "warehouse_dsn", lambda component=None: fresh_db)
    try:
        with pytest.raises(AirflowFailException, match="erp/b2"):
            orchestration.load_landing_task()
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "accounts.csv" in out, "the report of what loaded is printed"
    assert any(line.startswith("failed: erp/b2: ") for line in out.splitlines())
