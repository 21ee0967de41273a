"""Each component logged in as its own login on the real server: what it may read and write.

One tiny world is loaded (as the loader) and built by dbt (as the transformer) per module.
"""

import os
import secrets
import tempfile
from pathlib import Path

import psycopg
import pytest
from conftest import migrated_database, role_env_for
from conftest import run_dbt as dbt
from psycopg import sql

from sources.loader import load_landing

pytestmark = pytest.mark.integration

DENIED = "42501"  # insufficient_privilege
CLOSED_TO_PEOPLE = (
    "raw.crm__accounts",
    "staging.stg_crm__accounts",
    "identity.customer_ids",
    "features.customer_features",
)
MART = "marts.mart_customer_profile"
MART_READERS = (
    "portrait_analysts",
    "portrait_sales",
    "portrait_credit",
    "portrait_service_staff",
    "portrait_stewards",
    "portrait_service",
)


@pytest.fixture(scope="module")
def world(pg_cluster, tiny_world, tmp_path_factory):
    dsns = migrated_database(pg_cluster, "roles_world")
    load_landing(dsns["loader"], tiny_world / "landing", progress=False)
    env = role_env_for(dsns, Path(tmp_path_factory.mktemp("roles_local")))
    dbt(["build", "--resource-type", "seed", "--resource-type", "model"], env)
    return dsns, env


def sqlstate(dsn: str, statement: str) -> str | None:
    """None when the statement runs, else its SQLSTATE (rolled back either way)."""
    with psycopg.connect(dsn) as conn:
        try:
            conn.execute(statement)
        except psycopg.Error as exc:
            return exc.sqlstate
        finally:
            conn.rollback()
    return None


def one(dsn: str, query: str, params=None):
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchone()[0]


def test_every_component_is_its_own_login_and_none_is_a_superuser(world):
    dsns, _ = world
    for component in ("loader", "transformer", "ml", "service", "analyst", "admin"):
        user, is_super = (
            psycopg.connect(dsns[component])
            .execute("select current_user, rolsuper from pg_roles where rolname = current_user")
            .fetchone()
        )
        assert user == f"portrait_{component}" and not is_super


def test_analyst_reads_marts_and_is_denied_everything_upstream(world):
    dsns, _ = world
    assert one(dsns["analyst"], f"select count(*) from {MART}") > 0
    for relation in CLOSED_TO_PEOPLE:
        assert sqlstate(dsns["analyst"], f"select 1 from {relation} limit 1") == DENIED, relation
    assert sqlstate(dsns["analyst"], "create table marts.mine (x int)") == DENIED
    assert sqlstate(dsns["analyst"], "create table public.mine (x int)") == DENIED


def test_people_groups_reach_marts_only(world):
    dsns, _ = world
    superuser = dsns["superuser"]
    for group in MART_READERS:
        assert one(superuser, "select has_table_privilege(%s, %s, 'select')", (group, MART))
        for relation in CLOSED_TO_PEOPLE:
            schema = relation.split(".")[0]
            assert not one(
                superuser, "select has_schema_privilege(%s, %s, 'usage')", (group, schema)
            )


def test_the_service_reads_marts_but_cannot_write_them(world):
    dsns, _ = world
    assert one(dsns["service"], f"select count(*) from {MART}") > 0
    assert sqlstate(dsns["service"], f"delete from {MART}") == DENIED
    assert sqlstate(dsns["service"], f"update {MART} set cid = cid") == DENIED
    assert sqlstate(dsns["service"], "create table marts.mine (x int)") == DENIED
    assert sqlstate(dsns["service"], "select 1 from raw.crm__accounts") == DENIED


def test_loader_cannot_read_marts_and_ml_cannot_read_raw(world):
    dsns, _ = world
    assert sqlstate(dsns["loader"], f"select 1 from {MART}") == DENIED
    assert sqlstate(dsns["loader"], "select 1 from raw.crm__accounts") is None
    assert sqlstate(dsns["ml"], "select 1 from raw.crm__accounts") == DENIED
    assert sqlstate(dsns["ml"], "select 1 from staging.stg_crm__accounts") == DENIED
    assert sqlstate(dsns["ml"], "select 1 from features.customer_features limit 1") is None
    assert sqlstate(dsns["ml"], "create table ml.scratch (x int)") is None
    assert sqlstate(dsns["ml"], "create table features.scratch (x int)") == DENIED


def test_trust_is_gone(pg_cluster):
    """No password, no connection: over TCP and over the socket (in a 0700 folder)."""
    tcp = f"postgresql://{pg_cluster.user}@127.0.0.1:{pg_cluster.port}/postgres"
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(tcp, connect_timeout=5)
    socket = f"host={pg_cluster.socket_dir} port={pg_cluster.port} user={pg_cluster.user}"
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(socket + " dbname=postgres", connect_timeout=5)
    assert (pg_cluster.socket_dir.stat().st_mode & 0o777) == 0o700
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(tcp.replace("@", ":wrong@"), connect_timeout=5)
    hba = one(
        pg_cluster.dsn_for("postgres"),
        "select array_agg(distinct auth_method) from pg_hba_file_rules",
    )
    assert hba == ["scram-sha-256"]


SNAPSHOT = {
    "roles": "select rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, "
    "rolconnlimit, rolvaliduntil, rolbypassrls from pg_roles order by rolname",
    # pragma: allowlist nextline secret
    "passwords": "select rolname, rolpassword from pg_authid order by rolname",
    "members": "select roleid::regrole::text, member::regrole::text, admin_option "
    "from pg_auth_members order by 1, 2",
    "schemas": "select nspname, nspowner::regrole::text, nspacl::text from pg_namespace "
    "order by nspname",
    "default_acl": "select defaclrole::regrole::text, defaclnamespace::regnamespace::text, "
    "defaclobjtype, defaclacl::text from pg_default_acl order by 1, 2, 3",
    "database": "select datacl::text from pg_database where datname = current_database()",
    "tables": "select oid::regclass::text, relowner::regrole::text, relacl::text from pg_class "
    "where relnamespace::regnamespace::text in ('raw', 'marts', 'features', 'governance') "
    "order by 1",
}


def snapshot(dsn: str) -> dict:
    with psycopg.connect(dsn) as conn:
        return {key: conn.execute(query).fetchall() for key, query in SNAPSHOT.items()}


def test_rerunning_the_migration_changes_nothing(world, pg_cluster):
    dsns, _ = world
    before = snapshot(dsns["superuser"])
    assert pg_cluster.migrate(pg_cluster.login_passwords, database="roles_world") == []
    assert snapshot(dsns["superuser"]) == before


def test_a_changed_password_is_set_and_only_then(pg_cluster):
    from governance.roles import scram_matches, scram_verifier

    assert scram_matches(scram_verifier("s3cret"), "s3cret")
    assert not scram_matches(scram_verifier("s3cret"), "other")
    passwords = pg_cluster.login_passwords
    changed = passwords | {"portrait_analyst": "a-new-one"}
    try:
        assert pg_cluster.migrate(changed) == ["password portrait_analyst"]
        dsn = pg_cluster.dsn_for(pg_cluster.database, "portrait_analyst", "a-new-one")
        assert one(dsn, "select current_user") == "portrait_analyst"
    finally:
        assert pg_cluster.migrate(passwords) == ["password portrait_analyst"]


def test_a_dbt_rebuild_keeps_the_grants(world):
    dsns, env = world
    dbt(["run", "--select", "mart_customer_profile", "customer_features"], env)
    assert one(dsns["analyst"], f"select count(*) from {MART}") > 0
    assert sqlstate(dsns["ml"], "select 1 from features.customer_features limit 1") is None
    for group in MART_READERS:
        assert one(dsns["superuser"], "select has_table_privilege(%s, %s, 'select')", (group, MART))


def test_an_external_warehouse_s_createrole_owner_runs_the_migration():
    """On an external warehouse the migration login is its database's owner with CREATEROLE,
    not a superuser (docker/postgres-init.sh makes one). PostgreSQL 15 does not make a role's
    creator its member, nor lets anyone but a superuser mention SUPERUSER: the migration
    grants itself each role it acts for, a second run changes nothing, and a missing pgaudit
    extension (not a trusted one) is named with what the DBA must run."""
    from governance.roles import LOGINS, ROLES, migrate
    from portrait.local.services import PgCluster, free_port

    # not under tmp_path, which is private to root (the server runs as postgres)
    root = Path(tempfile.mkdtemp(prefix="portrait-test-pg-external-"))
    os.chmod(root, 0o755)
    pg = PgCluster(root=root, port=free_port(), database="postgres")
    owner_pw, loader_pw = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    pg.start()
    try:
        with psycopg.connect(pg.dsn_for("postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("create role owner_login login createrole password {}").format(
                    sql.Literal(owner_pw)
                )
            )
            conn.execute("create database wh owner owner_login")
            conn.execute("grant pg_read_all_settings to owner_login")  # is pgaudit loaded?
        superuser = pg.dsn_for("wh")
        with psycopg.connect(superuser, autocommit=True) as conn:
            for extension in ("pg_trgm", "fuzzystrmatch", "unaccent"):
                conn.execute(f"create extension {extension} with schema public")
            conn.execute("alter schema public owner to owner_login")
        owner = pg.dsn_for("wh", "owner_login", owner_pw)
        with pytest.raises(PermissionError, match="create extension pgaudit;` in wh"):
            migrate(owner)
        with psycopg.connect(superuser, autocommit=True) as conn:
            conn.execute("create extension pgaudit")
        changes = migrate(owner, {"portrait_loader": loader_pw})
        assert {f"create role {r.name}" for r in ROLES} <= set(changes)
        assert {f"grant {r.name} to owner_login" for r in ROLES} <= set(changes)
        assert migrate(owner) == []
        loader = pg.dsn_for("wh", "portrait_loader", loader_pw)
        assert one(loader, "select current_user") == "portrait_loader"
        assert (
            one(superuser, "select nspowner::regrole::text from pg_namespace where nspname = 'raw'")
            == "portrait_loader"
        )
        assert not one(
            superuser,
            "select bool_or(rolsuper) from pg_roles where rolname = any(%s)",
            (list(LOGINS),),
        )
    finally:
        pg.destroy()
