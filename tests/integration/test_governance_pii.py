"""Personal data in the warehouse (issue 15): masked in `marts`, clear in `marts_restricted` for
stewards and (row-level security) for sales staff's own accounts, every clear read audited, and
every column that looks personal classified in the YAML."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import psycopg
import pytest
from conftest import create_database, service_env_for
from conftest import run_dbt as dbt
from psycopg import sql

from governance import audit, pii
from sources.loader import load_landing

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

# The schemas a person's data passes through, and the regexes of governance.pii on their contents.
SCANNED_SCHEMAS = ("raw", "staging", "identity", "marts", "marts_restricted")


@pytest.fixture(scope="module")
def world_db(pg_cluster, tiny_world, tmp_path_factory) -> str:
    """The tiny world loaded and built once (dbt run, then the governance models' tests)."""
    dsn = create_database(pg_cluster, "governance_pii")
    load_landing(dsn, tiny_world / "landing", progress=False)
    env = service_env_for(dsn, tmp_path_factory.mktemp("local"))
    dbt(["seed"], env)
    dbt(["run"], env)
    dbt(["test", "--select", "customer_contacts", "customer_contacts_clear"], env)
    with psycopg.connect(dsn, autocommit=True) as conn:
        # two sales reps with logins (as the roles migration will make them), a steward, an analyst
        for login, group in (
            ("pii_sales_a", "portrait_sales"),
            ("pii_sales_b", "portrait_sales"),
            ("pii_steward", "portrait_stewards"),
            ("pii_analyst", "portrait_analysts"),
        ):
            if not conn.execute("select 1 from pg_roles where rolname = %s", (login,)).fetchone():
                conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(login)))
            conn.execute(
                sql.SQL("grant {} to {}").format(sql.Identifier(group), sql.Identifier(login))
            )
        # until the roles helper's marts grants land: people roles read marts
        conn.execute(
            "grant usage on schema marts to portrait_analysts, portrait_sales, portrait_stewards;"
            " grant select on all tables in schema marts"
            " to portrait_analysts, portrait_sales, portrait_stewards"
        )
        owners = [
            r[0]
            for r in conn.execute(
                "select owner_sales from marts_restricted.customer_contacts"
                " where owner_sales is not null group by 1 order by count(*) desc limit 2"
            )
        ]
        conn.execute("delete from governance.staff_logins where login like 'pii\\_%'")
        conn.execute(
            "insert into governance.staff_logins (login, owner_sales) values (%s, %s), (%s, %s)",
            ("pii_sales_a", owners[0], "pii_sales_b", owners[1]),
        )
    return dsn


def as_role(dsn: str, role: str, query: str, params=None):
    """Rows of `query` run as `role` (set role from the admin connection)."""
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
        return conn.execute(query, params).fetchall()


def test_analyst_reads_masked_contacts_and_is_denied_the_clear_ones(world_db):
    rows = as_role(
        world_db, "pii_analyst", "select person_name, phone, email from marts.customer_contacts"
    )
    assert rows
    phones = [p for _, p, _ in rows if p]
    emails = [e for _, _, e in rows if e]
    assert phones and all("****" in p for p in phones)
    assert emails and all("***@" in e for e in emails)
    assert all(pii.kind_by_value(v) is None for row in rows for v in row)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_role(world_db, "pii_analyst", "select phone from marts_restricted.customer_contacts")


def test_masks_keep_counts_and_joins(world_db):
    """Same input, same mask: the masked mart has the restricted one's rows, keys and null
    pattern, and a person's mask is the same at every customer."""
    with psycopg.connect(world_db) as conn:
        (mismatched,) = conn.execute(
            """select count(*) from marts.customer_contacts as m
            full join marts_restricted.customer_contacts as c using (cid, person_id)
            where m.cid is null or c.cid is null
               or (m.phone is null) <> (c.phone is null)
               or (m.email is null) <> (c.email is null)"""
        ).fetchone()
        (inconsistent,) = conn.execute(
            """select count(*) from (
                select c.phone from marts_restricted.customer_contacts as c
                join marts.customer_contacts as m using (cid, person_id)
                where c.phone is not null group by c.phone having count(distinct m.phone) > 1
            ) as x"""
        ).fetchone()
    assert mismatched == 0
    assert inconsistent == 0


def test_mask_macros(world_db, tmp_path):
    """Each mask on sample values: the shapes docs/governance.md promises, twice the same."""
    env = service_env_for(world_db, tmp_path / "local")
    inline = (
        "select {{ mask_phone(\"'13812345678'\") }} as phone,"
        " {{ mask_email(\"'zhang.wei@example.com'\") }} as email,"
        " {{ mask_name(\"'王伟'\") }} as name,"
        " {{ mask_address(\"'浙江省杭州市余杭区文一西路969号'\") }} as district,"
        " {{ mask_address(\"'上海市浦东新区张江路1号'\") }} as shanghai,"
        " {{ mask_address(\"'杭州市文一西路969号'\") }} as city_only,"
        " {{ mask_address(\"'Hauptstrasse 5, Berlin'\") }} as abroad,"
        " {{ mask_id_number(\"'330106199001011234'\") }} as id_number"
    )
    out = dbt(["show", "--inline", inline, "--output", "json", "--log-format", "json"], env)
    import json

    shown = None
    for line in out.splitlines():
        data = json.loads(line).get("data", {})
        if "preview" in data:
            shown = json.loads(data["preview"])[0]
    assert shown == {
        "phone": "138****5678",
        "email": "z***@example.com",
        "name": "王*",
        "district": "浙江省杭州市余杭区***",
        "shanghai": "上海市浦东新区***",
        "city_only": "杭州市***",
        "abroad": "***",
        "id_number": "330106********1234",
    }


def test_steward_reads_clear_contacts_and_the_read_is_audited(world_db, pg_cluster):
    """Logged in as a steward (pgaudit's log names the session's login, so no `set role`)."""
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    password = secrets.token_urlsafe(16)
    with psycopg.connect(world_db, autocommit=True) as conn:
        conn.execute(
            sql.SQL("alter role {} login password {}").format(
                sql.Identifier("pii_steward"), sql.Literal(password)
            )
        )
    info = psycopg.conninfo.conninfo_to_dict(world_db)
    with psycopg.connect(
        **{**info, "user": "pii_steward", "password": password, "application_name": "pii-test"}
    ) as conn:
        rows = conn.execute(
            "select cid, phone from marts_restricted.customer_contacts where phone is not null"
        ).fetchall()
    with psycopg.connect(world_db) as conn:
        (total,) = conn.execute(
            "select count(*) from marts_restricted.customer_contacts where phone is not null"
        ).fetchone()
    assert len(rows) == total > 0
    assert all(pii.kind_by_value(p) == "phone" or not p.startswith("1") for _, p in rows)
    if not pg_cluster.audit_log.parent.exists():
        pytest.skip("pgaudit is not installed (portrait setup system)")
    personal = {"marts_restricted.customer_contacts": ("person_name", "phone", "email")}
    with psycopg.connect(world_db) as conn:
        conn.execute("select pg_sleep(0.5)")  # the logging collector writes asynchronously
        found = audit.recent_access(
            pg_cluster.audit_log, conn, since=before, user="pii_steward",
            personal_columns=personal,
        )  # fmt: skip
    reads = [a for a in found if a.relation == "marts_restricted.customer_contacts"]
    assert reads, found
    assert reads[0].columns == ("phone",)
    assert reads[0].action == "READ SELECT"
    assert reads[0].client.startswith("127.0.0.1:")
    assert reads[0].client.endswith("pii-test")

    # the same, as `portrait audit` prints it
    from typer.testing import CliRunner

    from portrait.cli import app
    from portrait.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(
        app,
        ["audit", "--since", "1h", "--user", "pii_steward", "--log", str(pg_cluster.audit_log)],
        env={"PORTRAIT_WAREHOUSE_URL": world_db},
    )
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    line = result.output.splitlines()[0]
    assert "pii_steward" in line
    assert "READ SELECT" in line
    assert "marts_restricted.customer_contacts (phone)" in line
    assert "pii-test" in line


def test_sales_sees_clear_contacts_only_of_its_own_accounts(world_db):
    with psycopg.connect(world_db) as conn:
        owners = dict(
            conn.execute("select login, owner_sales from governance.staff_logins").fetchall()
        )
        (all_rows,) = conn.execute(
            "select count(*) from marts_restricted.customer_contacts"
        ).fetchone()
    seen_a = as_role(
        world_db,
        "pii_sales_a",
        "select distinct owner_sales from marts_restricted.customer_contacts",
    )
    seen_b = as_role(
        world_db, "pii_sales_b", "select count(*) from marts_restricted.customer_contacts"
    )
    assert seen_a == [(owners["pii_sales_a"],)]
    assert 0 < seen_b[0][0] < all_rows
    # every account, masked, in marts
    (masked,) = as_role(world_db, "pii_sales_a", "select count(*) from marts.customer_contacts")[0]
    assert masked == all_rows
    # a sales role without a staff login sees no clear row at all
    assert as_role(
        world_db, "portrait_sales", "select count(*) from marts_restricted.customer_contacts"
    ) == [(0,)]


def test_every_personal_looking_column_is_classified(world_db):
    """Names and sampled contents of every column of the schemas personal data passes through:
    a column that looks personal must carry `meta: {pii: <kind>}` in its YAML."""
    documented = {(c.relation, c.column): c for c in pii.documented_columns(REPO / "dbt_project")}
    missing = []
    with psycopg.connect(world_db) as conn:
        columns = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
            " where table_schema = any(%s) and data_type in ('text', 'character varying')"
            " order by 1, 2, 3",
            (list(SCANNED_SCHEMAS),),
        ).fetchall()
        for schema, table, column in columns:
            sample = [
                r[0]
                for r in conn.execute(
                    sql.SQL("select {} from {}.{} where {} is not null limit 500").format(
                        sql.Identifier(column),
                        sql.Identifier(schema),
                        sql.Identifier(table),
                        sql.Identifier(column),
                    )
                )
            ]
            kind = pii.kind_by_name(column) or pii.kind_by_contents(sample)
            if kind is None:
                continue
            declared = documented.get((f"{schema}.{table}", column))
            if declared is None or not declared.is_classified:
                missing.append(f"{schema}.{table}.{column} (looks like {kind})")
    assert not missing, "personal columns without meta.pii:\n" + "\n".join(missing)
