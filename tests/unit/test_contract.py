import pytest

from sources.contract import (
    DOC_PATH,
    PG_TYPES,
    ContractError,
    load_contract,
    parse_contract,
    pg_encoding,
    raw_table_name,
    render_doc,
    render_markdown,
)


def test_contract_loads_every_source_with_typed_columns_and_declared_keys():
    contract = load_contract()
    assert {"crm", "erp", "lab", "service", "projects", "registry", "catalog"} <= set(
        contract.source_names
    )
    erp = contract.source("erp")
    assert erp.encoding == "gb18030" and erp.pg_encoding == "GB18030"
    lines = erp.table("order_lines")
    assert lines.key == ("order_id", "line_no")
    assert lines.column("line_no").pg_type == "bigint"
    assert "total_amount_cny" in erp.table("orders").required_columns
    for src in contract.sources:
        for tab in src.tables:
            assert tab.key, f"{src.name}.{tab.name} has no key"
            assert set(tab.key) <= set(tab.column_names)
            assert all(c.type in PG_TYPES for c in tab.columns)


def test_specs_are_frozen():
    tab = load_contract().source("crm").table("accounts")
    with pytest.raises(AttributeError):
        tab.name = "other"


def test_raw_table_name_and_encodings():
    assert raw_table_name("erp", "order_lines") == "erp__order_lines"
    assert pg_encoding("utf-8") == "UTF8"
    assert pg_encoding("GB18030") == "GB18030"


def test_unknown_type_and_undeclared_key_are_rejected():
    with pytest.raises(ContractError, match=r"x\.t\.c: unknown type 'money'"):
        parse_contract({"sources": {"x": {"tables": {"t": {"columns": {"c": {"type": "money"}}}}}}})
    with pytest.raises(ContractError, match="key column"):
        parse_contract({"sources": {"x": {"tables": {"t": {"key": ["id"], "columns": {"c": {}}}}}}})


def test_markdown_lists_every_table_and_column():
    contract = load_contract()
    md = render_markdown(contract)
    for src in contract.sources:
        assert f"encoding `{src.encoding}`" in md
        for tab in src.tables:
            assert f"`raw.{raw_table_name(src.name, tab.name)}`" in md
            for col in tab.columns:
                assert f"| `{col.name}` | {col.type} |" in md


def test_landing_contract_doc_is_in_sync_with_contract_yml():
    text = DOC_PATH.read_text(encoding="utf-8")
    assert render_doc(text) == text, "run `portrait contract doc` to regenerate the doc"


def test_timezone_defaults_to_shanghai_and_is_checked():
    contract = load_contract()
    assert {s.timezone for s in contract.sources} == {"Asia/Shanghai"}
    one = {"tables": {"t": {"columns": {"c": {}}}}}
    assert parse_contract({"sources": {"x": one}}).source("x").timezone == "Asia/Shanghai"
    utc = parse_contract({"sources": {"x": {**one, "timezone": "UTC"}}})
    assert utc.source("x").timezone == "UTC"
    assert "time zone `UTC`" in render_markdown(utc)
    with pytest.raises(ContractError, match=r"x: unknown timezone 'Mars/Olympus'"):
        parse_contract({"sources": {"x": {**one, "timezone": "Mars/Olympus"}}})
