"""The personal-data classification (governance/pii.py), its catalogue in docs/governance.md,
and the audit log reader (governance/audit.py), without a warehouse."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
import yaml

from governance import audit, pii

REPO = Path(__file__).resolve().parents[2]
DBT = REPO / "dbt_project"


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("phone", "phone"), ("contact_phone", "phone"), ("mobile", "phone"), ("tel", "phone"),
        ("email", "email"), ("contact_email", "email"), ("mail", "email"),
        ("contact_name", "name"), ("person_name", "name"), ("person_name_norm", "name"),
        ("contact_person", "name"), ("address", "address"), ("address_norm", "address"),
        ("id_card", "id_number"), ("id_number", "id_number"),
        # about a personal value, not one
        ("phone_kind", None), ("email_level", None), ("email_company_domain", None),
        ("address_similarity", None), ("n_contacts", None), ("person_id", None),
        ("phone_interactions_365d", None), ("phone_frequency", None), ("requester_org", None),
        ("customer_name", None), ("telemetry", None), ("hotel", None),
    ],
)  # fmt: skip
def test_kind_by_name(column, kind):
    assert pii.kind_by_name(column) == kind


def test_kind_by_contents():
    assert pii.kind_by_value("13812345678") == "phone"
    assert pii.kind_by_value("+86 138 1234 5678") == "phone"
    assert pii.kind_by_value("zhang.wei@example.com") == "email"
    assert pii.kind_by_value("330106199001011234") == "id_number"
    assert pii.kind_by_value("91330106MA2CFL1234") is None  # a company's credit code
    assert pii.kind_by_value("138****5678") is None  # masked
    assert pii.kind_by_value("z***@example.com") is None
    assert pii.kind_by_value("K000123") is None
    assert pii.kind_by_contents(["13812345678", None, "x", "y", "z"]) == "phone"
    assert pii.kind_by_contents(["13812345678"] + ["x"] * 9) is None


def test_every_documented_column_that_looks_personal_is_classified():
    columns = pii.documented_columns(DBT)
    assert not pii.unclassified_by_name(columns)
    assert {k for c in columns for k in c.pii} == set(pii.PII_KINDS) - {"id_number"}


def test_every_personal_landing_column_is_classified_in_its_sources_yaml():
    """sources/contract.yml lists every landing column; the personal ones carry meta.pii in
    the `_<source>__sources.yml` of their raw table."""
    contract = yaml.safe_load((REPO / "sources" / "contract.yml").read_text())
    classified = {(c.relation, c.column) for c in pii.documented_columns(DBT) if c.is_classified}
    missing = [
        f"raw.{source}__{table}.{column}"
        for source, spec in contract["sources"].items()
        for table, tspec in (spec.get("tables") or {}).items()
        for column in (tspec.get("columns") or {})
        if pii.kind_by_name(column) and (f"raw.{source}__{table}", column) not in classified
    ]
    assert not missing


def test_marts_keep_personal_values_masked_and_restricted_ones_clear():
    by_relation: dict[str, list[pii.Column]] = {}
    for c in pii.catalogue(pii.documented_columns(DBT)):
        by_relation.setdefault(c.relation, []).append(c)
    assert all(c.masked for c in by_relation["marts.customer_contacts"])
    assert {c.column for c in by_relation["marts_restricted.customer_contacts"]} == {
        "person_name", "phone", "email",
    }  # fmt: skip
    for relation, columns in by_relation.items():
        if relation.startswith("marts."):
            assert all(c.masked for c in columns), relation


def test_unknown_kind_is_refused(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "dbt_project.yml").write_text("name: p\nmodels: {p: {}}\n")
    (tmp_path / "models" / "_m.yml").write_text(
        "version: 2\nmodels:\n  - name: m\n    columns:\n      - name: phone\n"
        "        meta: {pii: true}\n"
    )
    with pytest.raises(ValueError, match=r"meta\.pii must be one of"):
        pii.documented_columns(tmp_path)


def test_governance_doc_holds_the_current_catalogue():
    doc = (REPO / "docs" / "governance.md").read_text()
    table = pii.catalogue_markdown(pii.documented_columns(DBT))
    assert pii.with_catalogue(doc, table) == doc, "run `portrait governance catalog`"


def test_catalog_command_writes_the_catalogue(tmp_path):
    from typer.testing import CliRunner

    from portrait.cli import app

    doc = tmp_path / "governance.md"
    doc.write_text(f"# x\n\n{pii.CATALOGUE_BEGIN}\nold\n{pii.CATALOGUE_END}\n\nafter\n")
    runner = CliRunner()
    stale = runner.invoke(app, ["governance", "catalog", "--check", "--doc", str(doc)])
    assert stale.exit_code == 1
    assert runner.invoke(app, ["governance", "catalog", "--doc", str(doc)]).exit_code == 0
    text = doc.read_text()
    assert "| `marts.customer_contacts` | `phone` | phone | masked |" in text
    assert text.endswith("after\n")
    assert (
        runner.invoke(app, ["governance", "catalog", "--check", "--doc", str(doc)]).exit_code == 0
    )


def _csvlog_line(**values) -> str:
    row = [values.get(col, "") for col in audit.CSVLOG_COLUMNS]
    out = io.StringIO()
    csv.writer(out).writerow(row)
    return out.getvalue()


def test_pgaudit_lines_become_accesses(tmp_path):
    statement = (
        "select cid, phone from marts_restricted.customer_contacts"
        " where cid in ('CID0123456789AB', 'CID0123456789AB')"
    )
    message = (
        'AUDIT: OBJECT,1,1,READ,SELECT,TABLE,marts_restricted.customer_contacts,"'
        + statement.replace('"', '""')
        + '",<not logged>'
    )
    log = tmp_path / "postgresql.csv"
    log.write_text(
        _csvlog_line(
            log_time="2026-12-02 10:00:00.123 UTC", user_name="steward1", message=message,
            connection_from="127.0.0.1:5555", application_name="psql",
        )
        + _csvlog_line(log_time="2026-12-02 10:00:01.000 UTC", message="connection received")
        + _csvlog_line(
            log_time="2026-12-02 10:00:02.000 UTC", user_name="admin",
            message="AUDIT: SESSION,1,1,DDL,CREATE TABLE,,,create table t (a int),<not logged>",
        )
    )  # fmt: skip
    personal = {"marts_restricted.customer_contacts": ("person_name", "phone", "email")}
    found = audit.recent_access(log, personal_columns=personal)
    assert len(found) == 1
    (a,) = found
    assert a.login == "steward1"
    assert a.at == dt.datetime(2026, 12, 2, 10, 0, 0, 123000, tzinfo=dt.UTC)
    assert a.relation == "marts_restricted.customer_contacts"
    assert a.columns == ("phone",)
    assert a.client == "127.0.0.1:5555 psql"
    assert a.statement == statement
    assert a.cids == ("CID0123456789AB",)
    assert len(audit.recent_access(log, reads_only=False)) == 2
    assert audit.recent_access(log, user="nobody") == []
    star = audit._columns_named(
        "select * from marts_restricted.customer_contacts", ("phone", "email")
    )
    assert star == ("phone", "email")
