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
                assert f"| `{col.name}` | {col.declared_type} |" in md


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


def _one_column(cdata: dict, **source) -> dict:
    return {"sources": {"x": {**source, "tables": {"t": {"columns": {"c": cdata}}}}}}


def test_numeric_columns_declare_precision_and_scale():
    contract = load_contract()
    amount = contract.source("erp").table("orders").column("total_amount_cny")
    assert (amount.precision, amount.scale, amount.numeric_bound) == (14, 2, 12)
    assert amount.declared_type == "numeric(14, 2)" and amount.pg_type == "numeric"
    for src in contract.sources:
        for tab in src.tables:
            for col in tab.columns:
                assert (col.type == "numeric") == (col.numeric_bound is not None), col
    default = parse_contract(_one_column({"type": "numeric"})).sources[0].tables[0].columns[0]
    assert default.declared_type == "numeric(14, 4)"
    for bad in ({"precision": 0}, {"precision": 5, "scale": 6}, {"precision": "big"}):
        with pytest.raises(ContractError, match=r"x\.t\.c: precision"):
            parse_contract(_one_column({"type": "numeric", **bad}))
    with pytest.raises(ContractError, match="numeric columns only"):
        parse_contract(_one_column({"type": "integer", "precision": 5}))


def test_timezone_aliases_are_checked_and_upper_cased():
    src = parse_contract(
        _one_column({}, timezone_aliases={"cst": "Asia/Shanghai", "IST": "Asia/Kolkata"})
    ).sources[0]
    assert src.aliases == {"CST": "Asia/Shanghai", "IST": "Asia/Kolkata"}
    assert "Zone abbreviations read as: `CST` → `Asia/Shanghai`" in render_markdown(
        parse_contract(_one_column({}, timezone_aliases={"CST": "Asia/Shanghai"}))
    )
    with pytest.raises(ContractError, match="unknown timezone 'China'"):
        parse_contract(_one_column({}, timezone_aliases={"CST": "China"}))
    with pytest.raises(ContractError, match="not a zone abbreviation"):
        parse_contract(_one_column({}, timezone_aliases={"+08": "Asia/Shanghai"}))
    with pytest.raises(ContractError, match="names CST twice"):
        parse_contract(_one_column({}, timezone_aliases={"CST": "Asia/Shanghai", "cst": "UTC"}))
    assert load_contract().source("erp").timezone_aliases == ()
