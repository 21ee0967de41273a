"""The ml.* tables are created by models_ml (its `create table` DDL) and read by dbt through
dbt_project/models/staging/ml/_ml__sources.yml, whose columns stand in for a table not written
yet: both must list the same columns with the same types."""

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SOURCES_YML = REPO / "dbt_project" / "models" / "staging" / "ml" / "_ml__sources.yml"
DDL = re.compile(r"create table if not exists ml\.(\w+) \((.*?)\n\);", re.S | re.I)
COLUMN = re.compile(r"^\s*(\w+)\s+(.+?)(?:\s+not null|\s+default\b|,|$)", re.I)


def ddl_tables() -> dict[str, list[tuple[str, str]]]:
    """(column, type) per ml table, from every `create table` in the models_ml package."""
    tables = {}
    for path in sorted((REPO / "models_ml").rglob("*.py")):
        for name, body in DDL.findall(path.read_text(encoding="utf-8")):
            columns = []
            for line in body.splitlines():
                line = line.split("--")[0].strip()
                if not line or line.lower().startswith(("primary key", "unique", "constraint")):
                    continue
                column, data_type = COLUMN.match(line).groups()
                columns.append((column, data_type.strip().lower()))
            tables[name] = columns
    return tables


def yaml_tables() -> dict[str, list[tuple[str, str]]]:
    source = yaml.safe_load(SOURCES_YML.read_text(encoding="utf-8"))["sources"][0]
    assert source["name"] == "ml"
    return {
        table["name"]: [(c["name"], c["data_type"].lower()) for c in table["columns"]]
        for table in source["tables"]
    }


def test_ddl_parser_reads_the_scores_table():
    assert ("cid", "text") in ddl_tables()["customer_scores"]
    assert ("score", "double precision") in ddl_tables()["customer_scores"]


def test_ml_sources_declare_the_columns_models_ml_creates():
    declared = yaml_tables()
    created = {name: cols for name, cols in ddl_tables().items() if name in declared}
    assert set(created) == set(declared), "a source table without DDL in models_ml"
    assert created == declared
